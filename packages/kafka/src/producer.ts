import { compatibilityPartitioner, ProduceAcks, Producer } from '@platformatic/kafka';
import { baseOptions, type KafkaConnection } from './connection.ts';
import { classifyKafkaError } from './errors.ts';

export interface OutgoingMessage {
  /** Messages with the same key go to the same partition, in order. */
  key: string;
  /** Text, or the exact bytes (a dead letter keeps what it was given). */
  value: string | Buffer | null;
  headers?: Record<string, string>;
}

const toBytes = (v?: string | Buffer | null): Buffer | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'string' ? Buffer.from(v) : v;

export interface KafkaProducer {
  /** Resolves once every message is acknowledged by all in-sync replicas; rejects with a KafkaError. */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** Per request to the broker. */
  requestTimeoutMs?: number;
}

/**
 * An idempotent producer with acks from all in-sync replicas: the client's own retries never write
 * a message twice, and it keeps at most one request in flight per broker, so per-key order holds.
 * Connects (and gets its producer id) before it resolves, so a missing broker fails here.
 */
export async function createProducer(conn: KafkaConnection, opts: ProducerOptions = {}): Promise<KafkaProducer> {
  const producer = new Producer({
    ...baseOptions(conn, opts.requestTimeoutMs),
    idempotent: true,
    acks: ProduceAcks.ALL,
    compression: 'none',
    // kafkajs's (and Java's) key → partition mapping: Pods stay on the partitions existing topics have them on.
    partitioner: compatibilityPartitioner,
    serializers: { key: toBytes, value: toBytes, headerKey: toBytes, headerValue: toBytes },
  });
  try {
    await producer.initIdempotentProducer({});
  } catch (err) {
    await producer.close().catch(() => undefined);
    throw classifyKafkaError(err);
  }
  return {
    async send(topic, messages) {
      if (!messages.length) return;
      try {
        await producer.send({
          messages: messages.map((m) => ({ topic, key: m.key, value: m.value, headers: m.headers })),
        });
      } catch (err) {
        throw classifyKafkaError(err);
      }
    },
    close: () => producer.close(),
  };
}
