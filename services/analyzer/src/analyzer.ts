import type { Registry } from 'prom-client';
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
import { AnalyzerState } from './core/process.ts';
import { AnalyzerStore } from './store.ts';
import { BlockAbandoned, InsertCoalescer, type SliceControl } from './insert-coalescer.ts';
import { createAnalyzerMetrics } from './metrics.ts';
import { type DeadLetter, processSlice, restoreState, SliceSpans, type SliceRows } from './stages.ts';

export interface AnalyzerDeps {
  logger: Logger;
  metrics: Registry;
  /** Where Kafka is; the analyzer opens its own consumer, dead-letter producer and admin connections. */
  kafka: KafkaConnection;
  clickhouse: ClickHouseClient;
}

export interface AnalyzerStats {
  consumed: number;
  failures: number;
  successes: number;
  deadLettered: number;
  skippedAlreadyStored: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createAnalyzer(cfg: AnalyzerConfig, deps: AnalyzerDeps) {
  const log = deps.logger;
  const store = new AnalyzerStore(deps.clickhouse, cfg.database, cfg.clickhouseCluster);
  const state = new AnalyzerState({ forgetAfterMs: cfg.stateTtlMs });
  const stats: AnalyzerStats = { consumed: 0, failures: 0, successes: 0, deadLettered: 0, skippedAlreadyStored: 0 };
  /** Per partition: offsets at or below this are already in ClickHouse (from before a crash). */
  const storedUpTo = new Map<number, number>();
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
    async write(token, slices) {
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
      );
      end();
    },
    onRetry(err, attempt, slices) {
      if (attempt === 0)
        log.warn(
          { err: err instanceof Error ? err.message : String(err), slices },
          'analyzer: ClickHouse write failed; paused, retrying',
        );
    },
  });

  /** Waits for ClickHouse at a (re)assignment like a failed write does: the partition's state must be known first. */
  async function ensureRestored(partition: number, control: BatchControl) {
    for (let attempt = 0; !storedUpTo.has(partition); attempt++) {
      try {
        await restore([partition]);
      } catch (err) {
        if (stopping || !control.isCurrent()) throw err;
        if (attempt === 0)
          log.warn(
            { err: err instanceof Error ? err.message : String(err), partition },
            'analyzer: could not read the stored state from ClickHouse; retrying',
          );
        await sleep(Math.min(10_000, 200 * 2 ** attempt));
      }
    }
  }

  /** One partition's share of a fetch: stored and committed in bounded slices, in order. */
  async function handleBatch(batch: PartitionBatch, control: BatchControl) {
    const { partition } = batch;
    // Fetched before a rebalance moved the partition away: its new owner handles it.
    if (!control.isCurrent()) return;
    coalescer.enter();
    try {
      await ensureRestored(partition, control);
      // A fetch can hold more than one insert should.
      for (let i = 0; i < batch.messages.length; i += cfg.batch.maxRows) {
        if (!control.isCurrent()) return;
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
      // What was processed but not stored has already moved the counts in memory: forget them and
      // restore every partition from ClickHouse before its next batch.
      if (err instanceof BlockAbandoned) {
        state.clear();
        storedUpTo.clear();
      }
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
    const processed = processSlice(messages, storedUpTo.get(partition) ?? -1, partition, state, {
      stuckAfterMs: cfg.stuckAfterMs,
    });
    stats.skippedAlreadyStored += processed.skipped;
    await deadLetter(topic, partition, processed.dead);
    await storeSlice(partition, first.offset, last.offset, processed.rows, control);
    stats.failures += processed.failures;
    stats.successes += processed.successes;
    for (const [cause, n] of processed.failuresByCause) metrics.failuresByCause.inc({ cause }, n);
    stats.consumed += messages.length;
    metrics.consumedTotal.inc({ outcome: 'stored' }, processed.rows.raws.rows);
    // Committed only now that ClickHouse has it all: a restart resumes after it.
    await control.commit(last.offset);
    storedUpTo.set(partition, last.offset);
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
          'pullwatch-topic': topic,
          'pullwatch-partition': String(partition),
          'pullwatch-offset': String(d.offset),
        },
      })),
    );
    stats.deadLettered += dead.length;
    metrics.consumedTotal.inc({ outcome: 'dead_lettered' }, dead.length);
    log.warn({ count: dead.length, partition }, 'analyzer: messages sent to the dead-letter topic');
  }

  /**
   * Stored together with the slices of the other partitions in progress; ClickHouse down: retried
   * (inside the coalescer) while the partition stays this instance's.
   */
  async function storeSlice(partition: number, first: number, last: number, rows: SliceRows, control: BatchControl) {
    const sliceControl: SliceControl = {
      // The Kafka client heartbeats by itself, and fetches nothing while a batch is being handled.
      heartbeat: async () => undefined,
      pause: () => undefined,
      isRunning: () => control.isCurrent(),
      isStale: () => false,
    };
    await coalescer.submit({
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
