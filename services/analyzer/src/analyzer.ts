import type { Registry } from 'prom-client';
import { BackoffPolicy } from '@pullwatch/backoff';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import {
  createGroupConsumer,
  createProducer,
  ensureTopics,
  type GroupConsumer,
  type KafkaConnection,
  type KafkaProducer,
  topicId,
  topicOffsets,
} from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { AnalyzerConfig } from './config.ts';
import { AnalyzerState } from './core/process.ts';
import { type AnalyzerStats, createAnalyzerMetrics } from './metrics.ts';
import { IncidentCorrelation } from './pipeline/correlation.ts';
import { DeadLetters } from './pipeline/dead-letters.ts';
import { PartitionPipeline } from './pipeline/partition-pipeline.ts';
import { StoredProgress } from './pipeline/progress.ts';
import { SliceWriter } from './pipeline/slice-writer.ts';
import { AnalyzerStore } from './store.ts';

export interface AnalyzerDeps {
  logger: Logger;
  metrics: Registry;
  /** Where Kafka is; the analyzer opens its own consumer, dead-letter producer and admin connections. */
  kafka: KafkaConnection;
  clickhouse: ClickHouseClient;
  /** The waits between ClickHouse retries (tests shorten them); CLICKHOUSE_RETRY by default. */
  backoff?: BackoffPolicy;
}

/** ClickHouse writes and reads retried: 200 ms doubling to 10 s, full jitter, until stored or given up. */
export const CLICKHOUSE_RETRY = { baseMs: 200, maxMs: 10_000 } as const;

export function createAnalyzer(cfg: AnalyzerConfig, deps: AnalyzerDeps) {
  const log = deps.logger;
  const backoff = deps.backoff ?? new BackoffPolicy(CLICKHOUSE_RETRY);
  const store = new AnalyzerStore(deps.clickhouse, cfg.database, cfg.clickhouseCluster);
  const state = new AnalyzerState({ forgetAfterMs: cfg.stateTtlMs });
  const progress = new StoredProgress();
  const stats: AnalyzerStats = { consumed: 0, failures: 0, successes: 0, deadLettered: 0, skippedAlreadyStored: 0 };
  const metrics = createAnalyzerMetrics(
    deps.metrics,
    async () => {
      if (!progress.size) return new Map();
      // The partition ends from Kafka against what this instance stored.
      return progress.behind(await topicOffsets(deps.kafka, cfg.topics.events.topic));
    },
    () => state.classifyStats(),
  );

  let consumer: GroupConsumer | null = null;
  let dlq: KafkaProducer | null = null;
  let stopping = false;
  let consuming = false;
  let rebalances = 0;

  const deadLetters = new DeadLetters({
    topic: cfg.topics.deadLetter.topic,
    producer: () => dlq!,
    stats,
    metrics,
    log,
  });
  const writer = new SliceWriter({
    topic: cfg.topics.events.topic,
    batch: cfg.batch,
    store,
    deadLetters,
    backoff,
    stopping: () => stopping,
    metrics,
    log,
  });
  const pipeline = new PartitionPipeline(cfg, {
    store,
    state,
    progress,
    writer,
    deadLetters,
    backoff,
    stopping: () => stopping,
    topicNow: async () => {
      const [id, ends] = await Promise.all([
        topicId(deps.kafka, cfg.topics.events.topic),
        topicOffsets(deps.kafka, cfg.topics.events.topic),
      ]);
      return { id, ends };
    },
    stats,
    metrics,
    log,
  });
  const correlation = new IncidentCorrelation(store, cfg.incidents, log);

  /**
   * A rebalance can hand this instance partitions another instance wrote: their state is reloaded before their
   * next batch.
   */
  function onAssigned(partitions: number[]) {
    progress.keepOnly(partitions);
    rebalances += 1;
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
        { assigned: onAssigned, restarting: () => pipeline.recheckTopic() },
      );
      await consumer.run((batch, control) => pipeline.handleBatch(batch, control));
      correlation.start();
      consuming = true;
      log.info({ topic: cfg.topics.events.topic, group: cfg.groupId, database: cfg.database }, 'analyzer consuming');
    },
    /** Consuming: started, and not stopping (the analyzer's `/readyz`). */
    ready: () => consuming && !stopping,
    /** Runs one correlation now (tests, and `start` after a backfill). */
    correlateNow: () => correlation.now(),
    async stop(): Promise<void> {
      stopping = true;
      await correlation.stop();
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
