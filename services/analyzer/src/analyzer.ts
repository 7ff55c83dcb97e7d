import type { Registry } from 'prom-client';
import { BackoffPolicy } from '@pullwatch/backoff';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import {
  type BatchControl,
  createGroupConsumer,
  createProducer,
  ensureTopics,
  type GroupConsumer,
  type KafkaConnection,
  type KafkaProducer,
  type PartitionBatch,
  topicOffsets,
} from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { AnalyzerConfig } from './config.ts';
import { insertVerdict, rejectionReason } from './core/insert-verdict.ts';
import { AnalyzerState, timeWindow } from './core/process.ts';
import { AnalyzerStore, type WriteStep } from './store.ts';
import { InsertCoalescer, type SliceControl } from './insert-coalescer.ts';
import { createAnalyzerMetrics } from './metrics.ts';
import {
  type DeadLetter,
  partitionsOf,
  processSlice,
  restoreState,
  SliceSpans,
  type SliceRows,
  sliceRows,
} from './stages.ts';

export interface AnalyzerDeps {
  logger: Logger;
  metrics: Registry;
  /** Where Kafka is; the analyzer opens its own consumer, dead-letter producer and admin connections. */
  kafka: KafkaConnection;
  clickhouse: ClickHouseClient;
  /** The waits between ClickHouse retries (tests shorten them); CLICKHOUSE_RETRY by default. */
  backoff?: BackoffPolicy;
}

export interface AnalyzerStats {
  consumed: number;
  failures: number;
  successes: number;
  deadLettered: number;
  skippedAlreadyStored: number;
}

/** ClickHouse writes and reads retried: 200 ms doubling to 10 s, full jitter, until stored or given up. */
export const CLICKHOUSE_RETRY = { baseMs: 200, maxMs: 10_000 } as const;

/** Logged at the first failure, then at the 2nd, 4th, 8th… so a long outage keeps saying so, sparsely. */
const worthLogging = (attempt: number) => (attempt & (attempt + 1)) === 0;

export function createAnalyzer(cfg: AnalyzerConfig, deps: AnalyzerDeps) {
  const log = deps.logger;
  const retryPolicy = deps.backoff ?? new BackoffPolicy(CLICKHOUSE_RETRY);
  const store = new AnalyzerStore(deps.clickhouse, cfg.database, cfg.clickhouseCluster);
  const state = new AnalyzerState({ forgetAfterMs: cfg.stateTtlMs });
  const stats: AnalyzerStats = { consumed: 0, failures: 0, successes: 0, deadLettered: 0, skippedAlreadyStored: 0 };
  /** Per partition: offsets at or below this are already in ClickHouse (from before a crash). */
  const storedUpTo = new Map<number, number>();
  /**
   * Bumped when the in-memory state is forgotten: a slice processed before then must not mark its
   * partition restored once stored (its partition is restored from ClickHouse instead).
   */
  let generation = 0;
  /** The messages of each partition's slice being stored, for dead-lettering rows ClickHouse refuses. */
  const inFlight = new Map<number, PartitionBatch['messages']>();
  const metrics = createAnalyzerMetrics(deps.metrics, async () => {
    if (!storedUpTo.size) return new Map();
    // The partition ends from Kafka against what this instance stored.
    const ends = await topicOffsets(deps.kafka, cfg.topics.events.topic);
    return new Map([...storedUpTo].map(([p, stored]) => [p, Math.max(0, (ends[p] ?? 0) - stored - 1)]));
  });

  let consumer: GroupConsumer | null = null;
  let dlq: KafkaProducer | null = null;
  let stopping = false;
  let consuming = false;
  let rebalances = 0;
  let incidentTimer: NodeJS.Timeout | null = null;
  let correlating: Promise<void> = Promise.resolve();

  async function restore(partitions: number[]) {
    const offsets = await restoreState(store, state, partitions);
    for (const p of partitions) storedUpTo.set(p, offsets.get(p) ?? -1);
    log.info({ partitions, storedUpTo: Object.fromEntries(storedUpTo) }, 'analyzer: state restored from ClickHouse');
  }

  const coalescer = new InsertCoalescer<SliceRows>(cfg.topics.events.topic, {
    maxRows: cfg.batch.maxRows,
    lingerMs: cfg.batch.maxWaitMs,
    stopping: () => stopping,
    backoff: retryPolicy,
    verdict: (err, slices) => insertVerdict(err, partitionsOf(slices.map((s) => s.rows))),
    units: (rows) => rows.units.length,
    take: sliceRows,
    async reject(slice, err) {
      const unit = slice.rows.units[0]!;
      const message = inFlight.get(slice.partition)?.find((m) => m.offset === unit.offset);
      const { code, text } = rejectionReason(err);
      await deadLetter(cfg.topics.events.topic, slice.partition, [
        { offset: unit.offset, value: message?.value ?? null, reason: 'clickhouse_rejected', error: text, code },
      ]);
    },
    async write(token, slices, done) {
      if (log.isLevelEnabled('debug'))
        log.debug(
          { partitions: slices.map((s) => s.partition), events: slices.reduce((n, s) => n + s.rows.raws.rows, 0) },
          'analyzer: writing a block',
        );
      const end = metrics.insertSeconds.startTimer();
      await store.writeBatch(
        token,
        slices.map((s) => s.rows.pulls),
        slices.map((s) => s.rows.raws),
        slices.flatMap((s) => s.rows.states),
        done as Set<WriteStep>,
      );
      end();
    },
    onSplit(err, units, verdict, depth) {
      // Once per block: its halves may be split again, down to single rows.
      if (depth === 0)
        log.warn(
          { err: err instanceof Error ? err.message.slice(0, 500) : String(err), ...codeOf(err), units, verdict },
          'analyzer: ClickHouse refused the block; writing it in halves',
        );
    },
    onRetry(err, attempt, slices, waitMs) {
      if (worthLogging(attempt))
        log.warn(
          { err: err instanceof Error ? err.message : String(err), ...codeOf(err), slices, attempt, waitMs },
          'analyzer: ClickHouse write failed; these partitions paused, retrying (the others go on)',
        );
    },
  });

  /** Waits for ClickHouse at a (re)assignment like a failed write does: the partition's state must be known first. */
  async function ensureRestored(partition: number, control: BatchControl) {
    const b = retryPolicy.start();
    while (!storedUpTo.has(partition)) {
      try {
        await restore([partition]);
      } catch (err) {
        if (stopping || !control.isCurrent()) throw err;
        const attempt = b.attempts;
        const wait = b.next() ?? retryPolicy.ceiling(attempt);
        if (worthLogging(attempt))
          log.warn(
            { err: err instanceof Error ? err.message : String(err), partition, attempt, waitMs: wait },
            'analyzer: could not read the stored state from ClickHouse; retrying',
          );
        await retryPolicy.sleep(wait);
      }
    }
  }

  /** What was processed but not stored has already moved the counts in memory: forget them. */
  function forgetState() {
    generation += 1;
    state.clear();
    storedUpTo.clear();
  }

  /** One partition's share of a fetch: stored and committed in bounded slices, in order. */
  async function handleBatch(batch: PartitionBatch, control: BatchControl) {
    const { partition } = batch;
    // Fetched before a rebalance moved the partition away: its new owner handles it.
    if (!control.isCurrent()) return;
    coalescer.enter();
    try {
      // A fetch can hold more than one insert should.
      for (let i = 0; i < batch.messages.length; i += cfg.batch.maxRows) {
        if (!control.isCurrent()) return;
        // Also between slices: another partition's failure may have made the state be forgotten.
        await ensureRestored(partition, control);
        const slice = batch.messages.slice(i, i + cfg.batch.maxRows);
        const spans = new SliceSpans(slice, { partition });
        try {
          await handleSlice(batch.topic, partition, slice, control);
          spans.end();
        } catch (err) {
          spans.end(err);
          throw err;
        }
      }
    } catch (err) {
      // Given up (or the dead-letter topic failed) after processing: restore every partition from
      // ClickHouse before its next slice.
      forgetState();
      throw err;
    } finally {
      coalescer.leave();
    }
  }

  /** decode → process → dead-letter → store → commit. */
  async function handleSlice(
    topic: string,
    partition: number,
    messages: PartitionBatch['messages'],
    control: BatchControl,
  ) {
    const first = messages[0];
    const last = messages[messages.length - 1];
    if (!first || !last) return;
    const processedIn = generation;
    const processed = processSlice(messages, storedUpTo.get(partition) ?? -1, partition, state, {
      stuckAfterMs: cfg.stuckAfterMs,
      window: timeWindow(Date.now(), cfg.ttlDays),
    });
    stats.skippedAlreadyStored += processed.skipped;
    await deadLetter(topic, partition, processed.dead);
    inFlight.set(partition, messages);
    let refused: number;
    try {
      refused = await storeSlice(partition, first.offset, last.offset, processed.rows, control);
    } finally {
      inFlight.delete(partition);
    }
    stats.failures += processed.failures;
    stats.successes += processed.successes;
    for (const [cause, n] of processed.failuresByCause) metrics.failuresByCause.inc({ cause }, n);
    stats.consumed += messages.length;
    metrics.consumedTotal.inc({ outcome: 'stored' }, processed.rows.raws.rows - refused);
    // Committed only now that ClickHouse has it all (and the dead-letter topic what it refused): a
    // restart resumes after it.
    await control.commit(last.offset);
    if (processedIn === generation) storedUpTo.set(partition, last.offset);
  }

  /** Poison messages go to the dead-letter topic first: never lost, never blocking the partition. */
  async function deadLetter(topic: string, partition: number, dead: DeadLetter[]) {
    if (!dead.length) return;
    await dlq!.send(
      cfg.topics.deadLetter.topic,
      dead.map((d) => ({
        key: `${topic}:${partition}:${d.offset}`,
        value: d.value,
        headers: {
          'pullwatch-error': d.error,
          'pullwatch-reason': d.reason,
          ...(d.code ? { 'pullwatch-clickhouse-code': d.code } : {}),
          'pullwatch-topic': topic,
          'pullwatch-partition': String(partition),
          'pullwatch-offset': String(d.offset),
        },
      })),
    );
    stats.deadLettered += dead.length;
    metrics.consumedTotal.inc({ outcome: 'dead_lettered' }, dead.length);
    const byReason = new Map<string, number>();
    for (const d of dead) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) metrics.deadLettered.inc({ reason }, n);
    log.warn(
      { count: dead.length, partition, reasons: Object.fromEntries(byReason), first: dead[0]?.error.slice(0, 300) },
      'analyzer: messages sent to the dead-letter topic',
    );
  }

  /**
   * Stored together with the slices of the other partitions in progress; ClickHouse down: retried
   * (inside the coalescer) while the partition stays this instance's.
   */
  async function storeSlice(
    partition: number,
    first: number,
    last: number,
    rows: SliceRows,
    control: BatchControl,
  ): Promise<number> {
    const sliceControl: SliceControl = {
      // The Kafka client heartbeats by itself, and fetches nothing while a batch is being handled.
      heartbeat: async () => undefined,
      pause: () => undefined,
      isRunning: () => control.isCurrent(),
      isStale: () => false,
    };
    return coalescer.submit({
      partition,
      firstOffset: String(first),
      lastOffset: String(last),
      rowCount: rows.pulls.rows + rows.raws.rows,
      rows,
      control: sliceControl,
    });
  }

  /**
   * A rebalance can hand this instance partitions another instance wrote: their state is reloaded before their
   * next batch.
   */
  function onAssigned(partitions: number[]) {
    for (const p of [...storedUpTo.keys()]) if (!partitions.includes(p)) storedUpTo.delete(p);
    rebalances += 1;
  }

  async function correlate() {
    // Carries incidents that began before the look-back, so a long one keeps its id.
    await store.correlate(cfg.incidents, Date.now());
  }

  return {
    metricsRegistry: deps.metrics,
    async start(): Promise<void> {
      await ensureTopics(deps.kafka, [cfg.topics.events, cfg.topics.deadLetter]);
      dlq = await createProducer(deps.kafka);
      consumer = createGroupConsumer(
        deps.kafka,
        {
          groupId: cfg.groupId,
          topic: cfg.topics.events.topic,
          sessionTimeoutMs: cfg.sessionTimeoutMs,
          minBytes: cfg.batch.minBytes,
          maxBytesPerPartition: cfg.batch.maxBytes,
          maxWaitMs: cfg.batch.maxWaitMs,
          partitionsConcurrently: cfg.batch.partitionsConcurrently,
        },
        { assigned: onAssigned },
      );
      await consumer.run(handleBatch);
      incidentTimer = setInterval(() => {
        correlating = correlating
          .then(correlate)
          .catch((err: unknown) =>
            log.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'analyzer: incident correlation failed; will retry',
            ),
          );
      }, cfg.incidents.intervalMs);
      consuming = true;
      log.info({ topic: cfg.topics.events.topic, group: cfg.groupId, database: cfg.database }, 'analyzer consuming');
    },
    /** Consuming: started, and not stopping (the analyzer's `/readyz`). */
    ready: () => consuming && !stopping,
    /** Runs one correlation now (tests, and `start` after a backfill). */
    correlateNow: () => (correlating = correlating.then(correlate)),
    async stop(): Promise<void> {
      stopping = true;
      if (incidentTimer) clearInterval(incidentTimer);
      await correlating.catch(() => undefined);
      // close waits for the batch in progress: it is written and committed, or left uncommitted.
      await consumer?.close();
      await dlq?.close();
      await deps.clickhouse.close();
    },
    stats: (): AnalyzerStats => ({ ...stats }),
    /** The partitions this instance holds now, and how many (re)assignments it has seen. */
    assignment: () => ({ partitions: consumer?.assigned() ?? [], rebalances }),
  };
}

export type Analyzer = ReturnType<typeof createAnalyzer>;

function codeOf(err: unknown): { code?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code ? { code } : {};
}
