import { Consumer, type Message, type MessagesStream } from '@platformatic/kafka';
import { baseOptions, type KafkaConnection } from './connection.ts';
import { classifyKafkaError } from './errors.ts';
import { BackoffPolicy } from '@pullwatch/backoff';

// Restarts of a failed consumption: 200 ms doubling to 10 s, full jitter, for as long as the consumer runs.
const RESTART_BACKOFF = new BackoffPolicy({ baseMs: 200, maxMs: 10_000 });

/** A consumed message in pullwatch's terms: offsets as numbers, headers as text. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Consecutive messages of one partition, in offset order. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
}

export interface BatchControl {
  /** False once the partition moved to another instance or the consumer is stopping: do no more work for it. */
  isCurrent(): boolean;
  /**
   * Commits: a restart resumes after `lastOffset`. Skipped (resolves false) when the partition is
   * no longer this instance's, so an old owner never moves a new owner's position.
   */
  commit(lastOffset: number): Promise<boolean>;
}

export interface GroupConsumerOptions {
  groupId: string;
  topic: string;
  sessionTimeoutMs: number;
  /** A fetch waits for at least this many bytes… */
  minBytes: number;
  /** …or this long. */
  maxWaitMs: number;
  /** Bytes fetched per partition at most. */
  maxBytesPerPartition: number;
  /** Messages read ahead of the handler at most (the stream's buffer). */
  highWaterMark?: number;
  /** Partitions whose batches are handled at the same time at most (default: all of a fetch). */
  partitionsConcurrently?: number;
}

export interface GroupConsumerEvents {
  /** The group (re)assigned partitions; the ones not listed are no longer this instance's. */
  assigned(partitions: number[]): void;
  /** A handler or the connection failed; consumption restarts from the committed offsets. */
  restarting(err: unknown): void;
}

export interface GroupConsumer {
  /**
   * Starts consuming from the committed offsets (the beginning for a new group). Each fetch is
   * handed over as one batch per partition, the partitions at the same time, and the next fetch is
   * handed over only when all of them resolved. A handler that throws makes consumption restart
   * from the committed offsets (after a pause), as does a lost connection.
   */
  run(handle: (batch: PartitionBatch, control: BatchControl) => Promise<void>): Promise<void>;
  /** The partitions assigned to this instance now. */
  assigned(): number[];
  /** Finishes the batches in progress (stored and committed, or left uncommitted), then leaves the group. */
  close(): Promise<void>;
}

function toMessage(m: Message<Buffer, Buffer, Buffer, Buffer>): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of m.headers) headers[k.toString()] = v?.toString() ?? '';
  return {
    topic: m.topic,
    partition: m.partition,
    offset: Number(m.offset),
    key: m.key ? m.key.toString() : null,
    value: m.value ?? null,
    headers,
  };
}

type ConsumerOptions = ConstructorParameters<typeof Consumer<Buffer, Buffer, Buffer, Buffer>>[0];

/** Builds the client; tests pass a stand-in to drive the client's events. */
export type ConsumerFactory = (options: ConsumerOptions) => Consumer<Buffer, Buffer, Buffer, Buffer>;

const newConsumer: ConsumerFactory = (options) => new Consumer(options);

export function createGroupConsumer(
  conn: KafkaConnection,
  opts: GroupConsumerOptions,
  on: Partial<GroupConsumerEvents> = {},
  factory: ConsumerFactory = newConsumer,
): GroupConsumer {
  const log = conn.logger.child({ component: 'kafka-consumer', group: opts.groupId });
  const consumer = factory({
    ...baseOptions(conn),
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs,
    // Members rejoin at once on a rebalance; the group waits this long for the slow ones.
    rebalanceTimeout: Math.max(opts.sessionTimeoutMs, 10_000),
    heartbeatInterval: Math.min(3000, Math.floor(opts.sessionTimeoutMs / 3)),
  });
  let stopping = false;
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | null = null;
  let loop: Promise<void> | null = null;
  /**
   * Per partition: the highest offset handed to the handler by the current stream (a rejoin refetches from the commit).
   */
  const delivered = new Map<number, number>();
  let current = new Set<number>();

  /** Ends the running stream's pump with an error (consumption then restarts); null between streams. */
  let failStream: ((err: unknown) => void) | null = null;
  // The client emits 'error' when a rejoin after a failed heartbeat ran out of retries (every broker
  // unreachable for a few seconds). Unhandled, that event would end the process; it is a lost group
  // membership like any other, so consumption restarts and rejoins from the committed offsets.
  consumer.on('error', (err: unknown) => {
    if (stopping) return;
    if (failStream) failStream(err);
    else log.warn({ err: err instanceof Error ? err.message : String(err) }, 'kafka: group membership lost');
  });

  consumer.on('consumer:group:join', (e) => {
    const mine = e.assignments?.find((a) => a.topic === opts.topic)?.partitions ?? [];
    current = new Set(mine);
    for (const p of [...delivered.keys()]) if (!current.has(p)) delivered.delete(p);
    log.info({ partitions: mine, generation: e.generationId }, 'kafka: partitions assigned');
    on.assigned?.(mine);
  });

  /** Joins the group and opens a stream from the committed offsets (the beginning for a new group). */
  async function open(): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> {
    const s = await consumer.consume({
      topics: [opts.topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      minBytes: opts.minBytes,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      maxWaitTime: opts.maxWaitMs,
      highWaterMark: opts.highWaterMark ?? 4096,
      sessionTimeout: opts.sessionTimeoutMs,
      rebalanceTimeout: Math.max(opts.sessionTimeoutMs, 10_000),
      heartbeatInterval: Math.min(3000, Math.floor(opts.sessionTimeoutMs / 3)),
    });
    stream = s;
    delivered.clear();
    current = new Set(consumer.assignments?.find((a) => a.topic === opts.topic)?.partitions ?? []);
    return s;
  }

  /** One stream's life: fetch → hand over per partition → next fetch, until it fails or we stop. */
  function pump(
    s: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
    handle: (batch: PartitionBatch, control: BatchControl) => Promise<void>,
  ): Promise<void> {
    const pending = new Map<number, ConsumedMessage[]>();
    return new Promise<void>((resolve, reject) => {
      let draining = false;
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      failStream = fail;
      const control = (partition: number): BatchControl => ({
        isCurrent: () => !stopping && !failed && stream === s && current.has(partition),
        async commit(lastOffset) {
          if (failed || stream !== s || !current.has(partition)) return false;
          await consumer.commit({
            offsets: [{ topic: opts.topic, partition, offset: BigInt(lastOffset + 1), leaderEpoch: -1 }],
          });
          return true;
        },
      });
      // A fetch's messages arrive in one go; they are handed over once that tick is done, with the
      // stream paused so that the next fetch waits for the handlers.
      const drain = async () => {
        s.pause();
        try {
          while (pending.size && !failed) {
            const batches = [...pending.entries()];
            pending.clear();
            const width = opts.partitionsConcurrently ?? batches.length;
            for (let i = 0; i < batches.length && !failed; i += width)
              await Promise.all(
                batches
                  .slice(i, i + width)
                  .map(([partition, messages]) =>
                    handle({ topic: opts.topic, partition, messages }, control(partition)),
                  ),
              );
          }
        } catch (err) {
          fail(err);
          return;
        } finally {
          draining = false;
        }
        if (stopping) return resolve();
        s.resume();
      };
      s.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
        const offset = Number(m.offset);
        // Not ours any more, or refetched after a rejoin although already handed over.
        if (!current.has(m.partition) || offset <= (delivered.get(m.partition) ?? -1)) return;
        delivered.set(m.partition, offset);
        const list = pending.get(m.partition);
        if (list) list.push(toMessage(m));
        else pending.set(m.partition, [toMessage(m)]);
        if (!draining) {
          draining = true;
          setImmediate(() => void drain());
        }
      });
      s.once('error', fail);
      s.once('close', () => (stopping ? resolve() : fail(new Error('the Kafka message stream closed'))));
      onStop = () => {
        if (!draining) resolve();
      };
    });
  }

  let onStop: (() => void) | null = null;

  async function closeStream() {
    try {
      await stream?.close();
    } catch {
      // Already failed: nothing more to release.
    }
  }

  return {
    async run(handle) {
      let s: MessagesStream<Buffer, Buffer, Buffer, Buffer> | null;
      try {
        s = await open();
      } catch (err) {
        throw classifyKafkaError(err);
      }
      loop = (async () => {
        const backoff = RESTART_BACKOFF.start();
        while (!stopping) {
          try {
            s ??= await open();
            await pump(s, handle);
            backoff.reset();
          } catch (err) {
            failStream = null;
            if (stopping) break;
            const e = classifyKafkaError(err);
            log.warn(
              { err: err instanceof Error ? err.message : String(err), reason: e.reason, attempt: backoff.attempts },
              'kafka: consumption failed; restarting from the committed offsets',
            );
            on.restarting?.(err);
            await closeStream();
            stream = null;
            await RESTART_BACKOFF.sleep(backoff.next() ?? RESTART_BACKOFF.maxMs);
          }
          s = null;
        }
      })();
    },
    assigned: () => [...current].sort((a, b) => a - b),
    async close() {
      stopping = true;
      onStop?.();
      await loop;
      await closeStream();
      // Forced: the stream is already closed; leaves the group so the partitions move on at once.
      await new Promise<void>((resolve) =>
        consumer.close(true, (err) => {
          if (err) log.warn({ err: err.message }, 'kafka: leaving the group failed');
          resolve();
        }),
      );
    },
  };
}
