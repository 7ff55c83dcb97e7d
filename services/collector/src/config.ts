import { z } from 'zod';
import { DEFAULT_TOPIC } from '@pullwatch/event-schema';

const bool = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  PULLWATCH_INGEST_HOST: z.string().min(1).default('127.0.0.1'),
  PULLWATCH_INGEST_PORT: z.coerce.number().int().min(0).max(65535).default(4318),
  PULLWATCH_TOPIC: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name').default(DEFAULT_TOPIC),
  PULLWATCH_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  PULLWATCH_ALL_EVENTS: bool.default(false),
  PULLWATCH_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  PULLWATCH_BUFFER_MAX_EVENTS: z.coerce.number().int().min(1).default(50_000),
  PULLWATCH_PRODUCE_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
});

export interface CollectorConfig {
  host: string;
  port: number;
  topic: string;
  topicPartitions: number;
  allEvents: boolean;
  maxBodyBytes: number;
  /** Events accepted but not yet acknowledged by Kafka; past this, ingest answers 503. */
  bufferMaxEvents: number;
  produceTimeoutMs: number;
}

export function loadCollectorConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const r = EnvSchema.safeParse(env);
  if (!r.success) throw new Error(`invalid collector settings: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.data;
  return {
    host: e.PULLWATCH_INGEST_HOST,
    port: e.PULLWATCH_INGEST_PORT,
    topic: e.PULLWATCH_TOPIC,
    topicPartitions: e.PULLWATCH_TOPIC_PARTITIONS,
    allEvents: e.PULLWATCH_ALL_EVENTS,
    maxBodyBytes: e.PULLWATCH_MAX_BODY_BYTES,
    bufferMaxEvents: e.PULLWATCH_BUFFER_MAX_EVENTS,
    produceTimeoutMs: e.PULLWATCH_PRODUCE_TIMEOUT_MS,
  };
}
