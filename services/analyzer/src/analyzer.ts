import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type Envelope, EnvelopeSchema } from '@pullwatch/event-schema';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import { ensureTopics } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { AnalyzerConfig } from './config.ts';
import { AnalyzerState, processEnvelope } from './core/process.ts';
import type { PodStateRow, PullEventRow, RawEventRow } from './core/table-formats.ts';
import { AnalyzerStore } from './store.ts';
import { BlockAbandoned, InsertCoalescer, type SliceControl } from './insert-coalescer.ts';

export interface AnalyzerDeps {
  logger: Logger;
  metrics: Registry;
  kafka: Kafka;
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
  const state = new AnalyzerState();
  const stats: AnalyzerStats = { consumed: 0, failures: 0, successes: 0, deadLettered: 0, skippedAlreadyStored: 0 };
  /** Per partition: offsets at or below this are already in ClickHouse (from before a crash). */
  const storedUpTo = new Map<number, number>();
  const consumedTotal = new Counter({
    name: 'pullwatch_analyzer_messages_total',
    help: 'Messages consumed by outcome',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });
  const failuresByCause = new Counter({
    name: 'pullwatch_analyzer_failures_total',
    help: 'Failed pull attempts by cause',
    labelNames: ['cause'],
    registers: [deps.metrics],
  });
  const insertSeconds = new Histogram({
    name: 'pullwatch_analyzer_insert_seconds',
    help: 'ClickHouse batch insert latency',
    registers: [deps.metrics],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  const lag = new Gauge({
    name: 'pullwatch_analyzer_lag_messages',
    help: 'Messages behind the partition end after the last stored slice',
    labelNames: ['partition'],
    registers: [deps.metrics],
  });

  let consumer: Consumer | null = null;
  let dlq: Producer | null = null;
  let stopping = false;
  let incidentTimer: NodeJS.Timeout | null = null;
  let correlating: Promise<void> = Promise.resolve();

  async function restore(partitions: number[]) {
    const [offsets, counts, pods] = await Promise.all([
      store.storedOffsets(partitions),
      store.lastCounts(partitions),
      store.openPodStates(),
    ]);
    for (const p of partitions) storedUpTo.set(p, offsets.get(p) ?? -1);
    for (const c of counts) {
      const key = `${c.cluster}/${c.uid}`;
      state.lastCount.set(key, Math.max(state.lastCount.get(key) ?? 0, c.count));
    }
    for (const s of pods) {
      const key = `${s.cluster}/${s.namespace}/${s.pod}/${s.container}/${s.image}`;
      state.pods.set(key, s);
      if (s.cause && s.cause !== 'no_cause' && s.cause !== 'unknown')
        state.lastCause.set(key, { cause: s.cause, subcause: s.subcause, hint: s.hint });
      state.imageOf.set(`${s.cluster}/${s.namespace}/${s.pod}/${s.container}`, s.image);
    }
    log.info({ partitions, storedUpTo: Object.fromEntries(storedUpTo) }, 'analyzer: state restored from ClickHouse');
  }

  interface SliceRows {
    pulls: PullEventRow[];
    raws: RawEventRow[];
    states: PodStateRow[];
  }

  const coalescer = new InsertCoalescer<SliceRows>(cfg.topic, {
    maxRows: cfg.batch.maxRows,
    lingerMs: cfg.batch.maxWaitMs,
    stopping: () => stopping,
    async write(token, slices) {
      if (log.isLevelEnabled('debug'))
        log.debug(
          { partitions: slices.map((s) => s.partition), events: slices.reduce((n, s) => n + s.rows.raws.length, 0) },
          'analyzer: writing a block',
        );
      const end = insertSeconds.startTimer();
      await store.writeBatch(
        token,
        slices.flatMap((s) => s.rows.pulls),
        slices.flatMap((s) => s.rows.raws),
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

  async function eachBatch({ batch, heartbeat, isRunning, isStale, pause, resolveOffset }: EachBatchPayload) {
    const partition = batch.partition;
    coalescer.enter();
    try {
      // ClickHouse down at a (re)assignment: wait for it like a failed write does, keeping the session.
      for (let attempt = 0; !storedUpTo.has(partition); attempt++) {
        try {
          await restore([partition]);
        } catch (err) {
          if (stopping || !isRunning() || isStale()) throw err;
          if (attempt === 0)
            log.warn(
              { err: err instanceof Error ? err.message : String(err), partition },
              'analyzer: could not read the stored state from ClickHouse; retrying',
            );
          await sleep(Math.min(10_000, 200 * 2 ** attempt));
          await heartbeat();
        }
      }
      // A fetch can hold more than one insert should: store and commit it in bounded slices, in order.
      for (let i = 0; i < batch.messages.length; i += cfg.batch.maxRows) {
        if (!isRunning() || isStale()) return;
        await storeSlice(batch.topic, partition, batch.messages.slice(i, i + cfg.batch.maxRows), {
          heartbeat,
          isRunning,
          isStale,
          pause,
        });
        const last = batch.messages[Math.min(i + cfg.batch.maxRows, batch.messages.length) - 1]!.offset;
        // Resolve (the fetch position moves on) and commit (a restart resumes here), only now that ClickHouse has it all.
        resolveOffset(last);
        await consumer!.commitOffsets([{ topic: batch.topic, partition, offset: String(Number(last) + 1) }]);
        storedUpTo.set(partition, Number(last));
        lag.set({ partition: String(partition) }, Math.max(0, Number(batch.highWatermark) - Number(last) - 1));
        await heartbeat();
      }
      if (consumer?.paused().length) consumer.resume([{ topic: batch.topic }]);
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

  async function storeSlice(topic: string, partition: number, messages: KafkaMessage[], control: SliceControl) {
    const pulls: PullEventRow[] = [];
    const raws: RawEventRow[] = [];
    const states = new Map<string, PodStateRow>();
    const dead: { value: Buffer | null; error: string; offset: string }[] = [];
    const skipBelow = storedUpTo.get(partition) ?? -1;
    for (const m of messages) {
      const offset = Number(m.offset);
      if (offset <= skipBelow) {
        stats.skippedAlreadyStored += 1;
        continue;
      }
      let envelope: Envelope;
      const text = m.value?.toString('utf8') ?? '';
      try {
        envelope = EnvelopeSchema.parse(JSON.parse(text));
      } catch (err) {
        dead.push({
          value: m.value,
          error: err instanceof Error ? err.message.slice(0, 2000) : String(err),
          offset: m.offset,
        });
        continue;
      }
      try {
        const r = processEnvelope(envelope, { partition, offset }, state, {
          stuckAfterMs: cfg.stuckAfterMs,
          payload: text,
        });
        raws.push(r.raw);
        if (r.pull) {
          pulls.push(r.pull);
          if (r.pull.outcome === 'failure') {
            stats.failures += r.pull.occurrences;
            failuresByCause.inc({ cause: r.pull.cause }, r.pull.occurrences);
          } else if (r.pull.outcome === 'success') stats.successes += r.pull.occurrences;
        }
        if (r.podState)
          states.set(
            `${r.podState.cluster}/${r.podState.namespace}/${r.podState.pod}/${r.podState.container}/${r.podState.image}`,
            r.podState,
          );
      } catch (err) {
        dead.push({
          value: m.value,
          error: `processing failed: ${err instanceof Error ? err.message : String(err)}`,
          offset: m.offset,
        });
      }
    }
    const first = messages[0]?.offset;
    const last = messages[messages.length - 1]?.offset;
    if (first === undefined || last === undefined) return;

    // Poison messages go to the dead-letter topic first: never lost, never blocking the partition.
    if (dead.length) {
      await dlq!.send({
        topic: cfg.deadLetterTopic,
        acks: -1,
        messages: dead.map((d) => ({
          key: `${topic}:${partition}:${d.offset}`,
          value: d.value,
          headers: {
            'pullwatch-error': d.error,
            'pullwatch-topic': topic,
            'pullwatch-partition': String(partition),
            'pullwatch-offset': d.offset,
          },
        })),
      });
      stats.deadLettered += dead.length;
      consumedTotal.inc({ outcome: 'dead_lettered' }, dead.length);
      log.warn({ count: dead.length, partition }, 'analyzer: messages sent to the dead-letter topic');
    }

    // Stored together with the slices of the other partitions in progress; ClickHouse down: paused
    // and retried (inside the coalescer) with the group session kept.
    const rows = { pulls, raws, states: [...states.values()] };
    await coalescer.submit({
      partition,
      firstOffset: first,
      lastOffset: last,
      rowCount: pulls.length + raws.length,
      rows,
      control,
    });
    stats.consumed += messages.length;
    consumedTotal.inc({ outcome: 'stored' }, raws.length);
  }

  async function correlate() {
    // Carries incidents that began before the look-back, so a long one keeps its id.
    await store.correlate(cfg.incidents, Date.now());
  }

  return {
    metricsRegistry: deps.metrics,
    async start(): Promise<void> {
      await ensureTopics(deps.kafka, [
        { topic: cfg.topic, numPartitions: 6 },
        { topic: cfg.deadLetterTopic, numPartitions: 1 },
      ]);
      dlq = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await dlq.connect();
      consumer = deps.kafka.consumer({
        groupId: cfg.groupId,
        minBytes: cfg.batch.minBytes,
        maxBytesPerPartition: cfg.batch.maxBytes,
        maxWaitTimeInMs: cfg.batch.maxWaitMs,
        sessionTimeout: cfg.sessionTimeoutMs,
        rebalanceTimeout: Math.max(cfg.sessionTimeoutMs, 10_000),
        heartbeatInterval: Math.min(3000, Math.floor(cfg.sessionTimeoutMs / 3)),
      });
      // A rebalance can hand this instance partitions another instance wrote: reload their state.
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const parts = (e.payload.memberAssignment[cfg.topic] ?? []) as number[];
        for (const p of [...storedUpTo.keys()]) if (!parts.includes(p)) storedUpTo.delete(p);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: cfg.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: cfg.batch.partitionsConcurrently,
        eachBatch,
      });
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
      log.info({ topic: cfg.topic, group: cfg.groupId, database: cfg.database }, 'analyzer consuming');
    },
    /** Runs one correlation now (tests, and `start` after a backfill). */
    correlateNow: () => (correlating = correlating.then(correlate)),
    async stop(): Promise<void> {
      stopping = true;
      if (incidentTimer) clearInterval(incidentTimer);
      await correlating.catch(() => undefined);
      // disconnect waits for the batch in progress: it is written and committed, or left uncommitted.
      await consumer?.disconnect();
      await dlq?.disconnect();
      await deps.clickhouse.close();
    },
    stats: (): AnalyzerStats => ({ ...stats }),
  };
}

export type Analyzer = ReturnType<typeof createAnalyzer>;
