import { ProduceAcks, Producer } from '@platformatic/kafka';
import { baseOptions, type KafkaConnection } from './connection.ts';
import { compatiblePartitioner } from './partitioner.ts';
import { classifyKafkaError, KafkaMessageTooLargeError, KafkaRetryableError } from './errors.ts';

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

/** A request gathers waiting sends up to this many bytes of values (a single send may be larger). */
const GROUP_BYTES = 256 * 1024;

interface Waiting {
  topic: string;
  messages: OutgoingMessage[];
  bytes: number;
  /** Sent in a request of its own (after its group was refused as too large). */
  alone: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

const sizeOf = (messages: OutgoingMessage[]): number =>
  messages.reduce(
    (n, m) => n + (m.value === null ? 0 : typeof m.value === 'string' ? m.value.length : m.value.length),
    0,
  );

/**
 * An idempotent producer with acks from all in-sync replicas. One produce request is in flight at a
 * time: @platformatic/kafka 1.35 numbers an idempotent batch when it encodes it and advances the
 * number only when the broker answers, so two concurrent sends to one partition carry the same
 * sequence number and the broker drops the second as a duplicate while acknowledging it (measured:
 * 10 concurrent sends, 10 acknowledgements, 1 message written, and every later send refused with
 * OUT_OF_ORDER_SEQUENCE_NUMBER). Sends that arrive meanwhile go out together in the next request
 * (all acknowledged or all failed). After a failure the client's sequence numbers may no longer match
 * the broker's, so the next request uses a new producer (a new producer id). Connects (and gets its
 * producer id) before it resolves, so a missing broker fails here.
 */
export async function createProducer(conn: KafkaConnection, opts: ProducerOptions = {}): Promise<KafkaProducer> {
  const open = async () => {
    const p = new Producer({
      ...baseOptions(conn, opts.requestTimeoutMs),
      idempotent: true,
      acks: ProduceAcks.ALL,
      compression: 'none',
      // kafkajs's (and Java's) key → partition mapping: Pods stay on the partitions existing topics have them on.
      // Our own murmur2: the library's costs the square of the key's length (see partitioner.ts).
      partitioner: compatiblePartitioner,
      serializers: { key: toBytes, value: toBytes, headerKey: toBytes, headerValue: toBytes },
    });
    try {
      await p.initIdempotentProducer({});
      return p;
    } catch (err) {
      await p.close().catch(() => undefined);
      throw classifyKafkaError(err);
    }
  };
  let producer: Awaited<ReturnType<typeof open>> | null = await open();
  const waiting: Waiting[] = [];
  let busy = false;
  let closed = false;

  async function request(group: Waiting[]) {
    producer ??= await open();
    await producer.send({
      messages: group.flatMap((w) =>
        w.messages.map((m) => ({ topic: w.topic, key: m.key, value: m.value, headers: m.headers })),
      ),
    });
  }

  function next() {
    if (busy || !waiting.length) return;
    busy = true;
    const group = [waiting.shift()!];
    let bytes = group[0]!.bytes;
    while (!group[0]!.alone && waiting.length && !waiting[0]!.alone && bytes + waiting[0]!.bytes <= GROUP_BYTES) {
      const w = waiting.shift()!;
      bytes += w.bytes;
      group.push(w);
    }
    request(group)
      .then(
        () => {
          for (const w of group) w.resolve();
        },
        (err: unknown) => {
          const e = classifyKafkaError(err);
          const failed = producer;
          producer = null;
          void failed?.close().catch(() => undefined);
          // Too large together may fit alone: each send of the group is tried on its own.
          if (e instanceof KafkaMessageTooLargeError && group.length > 1) {
            for (const w of group) w.alone = true;
            waiting.unshift(...group);
          } else for (const w of group) w.reject(e);
        },
      )
      .finally(() => {
        busy = false;
        next();
      });
  }

  return {
    send(topic, messages) {
      if (!messages.length) return Promise.resolve();
      if (closed) return Promise.reject(new KafkaRetryableError('the producer is closed', 'CLOSED'));
      return new Promise<void>((resolve, reject) => {
        waiting.push({ topic, messages, bytes: sizeOf(messages), alone: false, resolve, reject });
        next();
      });
    },
    async close() {
      closed = true;
      // Let the requests in progress and those waiting finish first.
      while (busy || waiting.length) await new Promise((r) => setTimeout(r, 10));
      await producer?.close();
      producer = null;
    },
  };
}
