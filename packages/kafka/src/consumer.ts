import { Consumer, type Message, type MessagesStream } from '@platformatic/kafka';
import { baseOptions, type KafkaConnection } from './connection.ts';
import { classifyKafkaError, type KafkaError } from './errors.ts';
import { BackoffPolicy, retry } from '@pullwatch/backoff';

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
  /** The waits before joining again after a failure (default: 200 ms doubling to 10 s, full jitter). */
  restartBackoff?: BackoffPolicy;
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

type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;
type Handler = (batch: PartitionBatch, control: BatchControl) => Promise<void>;

/** The client's group settings: members rejoin at once on a rebalance; the group waits this long for the slow ones. */
const groupTimings = (opts: GroupConsumerOptions) => ({
  sessionTimeout: opts.sessionTimeoutMs,
  rebalanceTimeout: Math.max(opts.sessionTimeoutMs, 10_000),
  heartbeatInterval: Math.min(3000, Math.floor(opts.sessionTimeoutMs / 3)),
});

/** Which partitions are this instance's, and how far the current stream handed each over. */
class Assignment {
  private current = new Set<number>();
  /**
   * Per partition: the highest offset handed to the handler by the current stream (a rejoin refetches from the commit).
   */
  private readonly delivered = new Map<number, number>();

  /** The group (re)assigned `partitions`: the others are no longer this instance's. */
  joined(partitions: number[]): void {
    this.current = new Set(partitions);
    for (const p of [...this.delivered.keys()]) if (!this.current.has(p)) this.delivered.delete(p);
  }

  /** A new stream, from the committed offsets: nothing of it handed over yet. */
  restarted(partitions: number[]): void {
    this.delivered.clear();
    this.current = new Set(partitions);
  }

  holds(partition: number): boolean {
    return this.current.has(partition);
  }

  /** Whether a fetched message is to be handed over: not when no longer ours, or refetched after a rejoin. */
  take(partition: number, offset: number): boolean {
    if (!this.current.has(partition) || offset <= (this.delivered.get(partition) ?? -1)) return false;
    this.delivered.set(partition, offset);
    return true;
  }

  list(): number[] {
    return [...this.current].sort((a, b) => a - b);
  }
}

/** What a pump reads of its consumer. */
interface PumpContext {
  opts: GroupConsumerOptions;
  assignment: Assignment;
  /** The consumer is stopping. */
  stopping(): boolean;
  /** `s` is still the consumer's stream (not replaced after a failure). */
  isStream(s: Stream): boolean;
  /** Commits a partition's position: a restart resumes after `lastOffset`. */
  commit(partition: number, lastOffset: number): Promise<void>;
}

/**
 * One stream's life: fetch → hand over per partition → next fetch, until it fails or the consumer
 * stops (`done` settles then).
 */
class StreamPump {
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (err: unknown) => void;
  private readonly pending = new Map<number, ConsumedMessage[]>();
  private draining = false;
  private failed = false;

  constructor(
    private readonly s: Stream,
    private readonly handle: Handler,
    private readonly ctx: PumpContext,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    s.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => this.receive(m));
    s.once('error', (err: unknown) => this.fail(err));
    s.once('close', () => (ctx.stopping() ? this.resolve() : this.fail(new Error('the Kafka message stream closed'))));
  }

  /** Ends the pump with an error (consumption then restarts). */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.reject(err);
  }

  /** The consumer stops: ends now, or when the batches in progress are done. */
  stop(): void {
    if (!this.draining) this.resolve();
  }

  private control(partition: number): BatchControl {
    const { ctx, s } = this;
    return {
      isCurrent: () => !ctx.stopping() && !this.failed && ctx.isStream(s) && ctx.assignment.holds(partition),
      commit: async (lastOffset) => {
        if (this.failed || !ctx.isStream(s) || !ctx.assignment.holds(partition)) return false;
        await ctx.commit(partition, lastOffset);
        return true;
      },
    };
  }

  private receive(m: Message<Buffer, Buffer, Buffer, Buffer>): void {
    // Not ours any more, or refetched after a rejoin although already handed over.
    if (!this.ctx.assignment.take(m.partition, Number(m.offset))) return;
    const list = this.pending.get(m.partition);
    if (list) list.push(toMessage(m));
    else this.pending.set(m.partition, [toMessage(m)]);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => void this.drain());
    }
  }

  /**
   * A fetch's messages arrive in one go; they are handed over once that tick is done, with the stream
   * paused so that the next fetch waits for the handlers.
   */
  private async drain(): Promise<void> {
    const { pending, s } = this;
    const { topic, partitionsConcurrently } = this.ctx.opts;
    s.pause();
    try {
      while (pending.size && !this.failed) {
        const batches = [...pending.entries()];
        pending.clear();
        const width = partitionsConcurrently ?? batches.length;
        for (let i = 0; i < batches.length && !this.failed; i += width)
          await Promise.all(
            batches
              .slice(i, i + width)
              .map(([partition, messages]) => this.handle({ topic, partition, messages }, this.control(partition))),
          );
      }
    } catch (err) {
      this.fail(err);
      return;
    } finally {
      this.draining = false;
    }
    if (this.ctx.stopping()) return this.resolve();
    s.resume();
  }
}

export function createGroupConsumer(
  conn: KafkaConnection,
  opts: GroupConsumerOptions,
  on: Partial<GroupConsumerEvents> = {},
  factory: ConsumerFactory = newConsumer,
): GroupConsumer {
  const log = conn.logger.child({ component: 'kafka-consumer', group: opts.groupId });
  const restartBackoff = opts.restartBackoff ?? RESTART_BACKOFF;
  // Aborted by close(): a wait between attempts to join ends at once instead of delaying the shutdown.
  const closing = new AbortController();
  const consumer = factory({ ...baseOptions(conn), groupId: opts.groupId, ...groupTimings(opts) });
  const assignment = new Assignment();
  let stopping = false;
  let stream: Stream | null = null;
  let loop: Promise<void> | null = null;
  /** The running stream's pump; null between streams. */
  let pump: StreamPump | null = null;

  // The client emits 'error' when a rejoin after a failed heartbeat ran out of retries (every broker
  // unreachable for a few seconds). Unhandled, that event would end the process; it is a lost group
  // membership like any other, so consumption restarts and rejoins from the committed offsets.
  consumer.on('error', (err: unknown) => {
    if (stopping) return;
    if (pump) pump.fail(err);
    else log.warn({ err: err instanceof Error ? err.message : String(err) }, 'kafka: group membership lost');
  });

  consumer.on('consumer:group:join', (e) => {
    const mine = e.assignments?.find((a) => a.topic === opts.topic)?.partitions ?? [];
    assignment.joined(mine);
    log.info({ partitions: mine, generation: e.generationId }, 'kafka: partitions assigned');
    on.assigned?.(mine);
  });

  const ctx: PumpContext = {
    opts,
    assignment,
    stopping: () => stopping,
    isStream: (s) => stream === s,
    commit: async (partition, lastOffset) => {
      await consumer.commit({
        offsets: [{ topic: opts.topic, partition, offset: BigInt(lastOffset + 1), leaderEpoch: -1 }],
      });
    },
  };

  /** Joins the group and opens a stream from the committed offsets (the beginning for a new group). */
  async function open(): Promise<Stream> {
    const s = await consumer.consume({
      topics: [opts.topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      minBytes: opts.minBytes,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      maxWaitTime: opts.maxWaitMs,
      highWaterMark: opts.highWaterMark ?? 4096,
      ...groupTimings(opts),
    });
    stream = s;
    assignment.restarted(consumer.assignments?.find((a) => a.topic === opts.topic)?.partitions ?? []);
    return s;
  }

  async function closeStream() {
    try {
      await stream?.close();
    } catch {
      // Already failed: nothing more to release.
    }
  }

  /**
   * The first group join and stream, tried again while the failure is one that can pass (the group's
   * coordinator down, a broker restarting: seen when a broker was still starting after a restart); an
   * error no retry can fix (authorization, TLS, an invalid request) ends it at once. Null when closed meanwhile.
   */
  async function firstJoin(): Promise<Stream | null> {
    try {
      return await joinWithRetries();
    } catch (err) {
      // Closed while waiting to try again: not a failure.
      if (stopping) return null;
      throw err;
    }
  }

  function joinWithRetries(): Promise<Stream | null> {
    return retry(
      async () => {
        if (stopping) return null;
        try {
          return await open();
        } catch (err) {
          throw classifyKafkaError(err);
        }
      },
      restartBackoff,
      {
        isPermanent: (err) => stopping || !(err as KafkaError).retryable,
        onRetry: (err, attempt) =>
          log.warn(
            { err: (err as KafkaError).message, reason: (err as KafkaError).reason, attempt },
            'kafka: joining the group failed; trying again',
          ),
        signal: closing.signal,
      },
    );
  }

  /** Streams one after another: a failed one is closed and, after a back-off, replaced from the commits. */
  async function consumeWithRestarts(first: Stream, handle: Handler): Promise<void> {
    let s: Stream | null = first;
    const backoff = restartBackoff.start();
    while (!stopping) {
      try {
        s ??= await open();
        pump = new StreamPump(s, handle, ctx);
        await pump.done;
        backoff.reset();
      } catch (err) {
        pump = null;
        if (stopping) break;
        const e = classifyKafkaError(err);
        log.warn(
          { err: err instanceof Error ? err.message : String(err), reason: e.reason, attempt: backoff.attempts },
          'kafka: consumption failed; restarting from the committed offsets',
        );
        on.restarting?.(err);
        await closeStream();
        stream = null;
        await restartBackoff.sleep(backoff.next() ?? restartBackoff.maxMs, closing.signal);
      }
      s = null;
    }
  }

  return {
    async run(handle) {
      const s = await firstJoin();
      if (s) loop = consumeWithRestarts(s, handle);
    },
    assigned: () => assignment.list(),
    async close() {
      stopping = true;
      closing.abort();
      pump?.stop();
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
