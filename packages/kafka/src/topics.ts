import { z } from 'zod';
import { DEFAULT_DEAD_LETTER_TOPIC, DEFAULT_TOPIC } from '@pullwatch/event-schema';

const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name');

/**
 * The topic settings the collector and the analyzer share, parsed by each from its environment
 * (merge this shape into the service's schema). Whichever starts first creates the topics with
 * these partitions; an existing topic is never changed (Kafka can add partitions but that moves
 * keys to other partitions and so breaks per-Pod order: add them deliberately, with
 * `kafka-topics.sh --alter`, while nothing is producing).
 */
export const TopicsEnvShape = {
  PULLWATCH_TOPIC: topicName.default(DEFAULT_TOPIC),
  PULLWATCH_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  PULLWATCH_DLQ_TOPIC: topicName.default(DEFAULT_DEAD_LETTER_TOPIC),
};

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** Topic-level settings at creation (e.g. `max.message.bytes`); an existing topic keeps its own. */
  config?: Record<string, string>;
}

export interface TopicsConfig {
  /** The envelopes, keyed by Pod. */
  events: TopicSpec;
  /** Messages the analyzer could not decode or process. */
  deadLetter: TopicSpec;
}

export function topicsConfig(e: {
  PULLWATCH_TOPIC: string;
  PULLWATCH_TOPIC_PARTITIONS: number;
  PULLWATCH_DLQ_TOPIC: string;
}): TopicsConfig {
  return {
    events: { topic: e.PULLWATCH_TOPIC, numPartitions: e.PULLWATCH_TOPIC_PARTITIONS },
    deadLetter: { topic: e.PULLWATCH_DLQ_TOPIC, numPartitions: 1 },
  };
}
