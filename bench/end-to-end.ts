import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createClickHouse, migrate, type ClickHouseClient } from '@pullwatch/clickhouse';
import { LocalEngines, loadEnginesConfig, resolveEndpoints, type EngineEndpoints } from '@pullwatch/engines';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { Kafka, logLevel, Partitioners, type EachBatchPayload } from 'kafkajs';
import { createGroupConsumer, createProducer, ensureTopics } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';
import { serviceEnv, serviceNodeFlags } from '@pullwatch/service-runtime';
import { cpuMeter, cpuSeconds, freePort, peakRss, serviceEntry, sleep, spawnService, stop } from './support.ts';
import {
  BATCH_EVENTS,
  collectorReady,
  INGEST_TOKEN,
  ingestBatches,
  makeEvents,
  newSeries,
  type EventSeries,
  type PostStats,
  postBatches,
} from './ingest.ts';

async function count(ch: ClickHouseClient, sql: string): Promise<number> {
  const rs = await ch.query({ query: sql, format: 'JSONEachRow' });
  return Number(Object.values((await rs.json<Record<string, number>>())[0] ?? { n: 0 })[0]);
}

export async function waitFor(ch: ClickHouseClient, sql: string, n: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await count(ch, sql);
    if (c >= n) return Date.now();
    if (Date.now() > end) throw new Error(`timed out at ${c} of ${n}: ${sql}`);
    await sleep(100);
  }
}

interface PipelineRun {
  eventsPerSecond: number;
  ingestPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  collectorPeakRss: number;
  analyzerPeakRss: number;
  /** CPU time per event of each process over the run (µs), and the wall time it took. */
  cpuMicrosPerEvent: Record<'collector' | 'analyzer' | 'kafka' | 'clickhouse' | 'bench client', number>;
  wallSeconds: number;
  topic: string;
  database: string;
  /** raw_events rows once all were queryable, and how many distinct Events they hold (both n when exact). */
  stored: number;
  distinct: number;
  post: PostStats;
}

/**
 * HTTP ingest → collector → Kafka → analyzer → ClickHouse, as separate processes, until all rows are
 * queryable.
 */
interface EnginePids {
  kafka: number | null;
  clickhouse: number | null;
}

async function pipeline(
  e: EngineEndpoints,
  admin: ClickHouseClient,
  events: { n: number; clusters: number; series: EventSeries },
  partitions: number,
  pids: EnginePids,
  log: (l: string) => void,
): Promise<PipelineRun> {
  const { n } = events;
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const topic = `bench_e2e_${id}`;
  const database = `bench_e2e_${id}`;
  await migrate(admin, { database, ttlDays: 90 });
  const port = await freePort();
  const env = {
    PULLWATCH_TOPIC: topic,
    PULLWATCH_TOPIC_PARTITIONS: String(partitions),
    PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
    PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
    PULLWATCH_CLICKHOUSE_DATABASE: database,
    PULLWATCH_INGEST_PORT: String(port),
    PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
    PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
  };
  const collector = spawnService('collector', e, env);
  const url = `http://127.0.0.1:${port}`;
  await collectorReady(url);
  const analyzer = spawnService('analyzer', e, env);
  try {
    const cpu = cpuMeter({
      collector: collector.pid,
      analyzer: analyzer.pid,
      kafka: pids.kafka,
      clickhouse: pids.clickhouse,
      'bench client': process.pid,
    });
    const t0 = Date.now();
    // Each request body is made as it is sent (bench/ingest.ts): the client's memory does not grow with n.
    const post = await postBatches(url, ingestBatches(n, events.clusters, events.series));
    const ingested = Date.now();
    log(
      `${partitions} partition(s): ${n} events ingested in ${((ingested - t0) / 1000).toFixed(1)} s ` +
        `(${post.accepted} requests, ${post.pushedBack} pushed back, ${post.rejected} rejected fetches` +
        `${post.rejected ? `: ${[...new Set(post.rejections)].join('; ')}` : ''})`,
    );
    const done = await waitFor(admin, `SELECT count() FROM ${database}.raw_events`, n, 900_000);
    const cpuMicrosPerEvent = cpu(n);
    const rs = await admin.query({
      query:
        `SELECT quantiles(0.5, 0.99)(toUnixTimestamp64Milli(stored_at) - ` +
        `toUnixTimestamp64Milli(received_at)) AS q, count() AS stored, uniqExact(event_uid) AS distinct ` +
        `FROM ${database}.raw_events`,
      format: 'JSONEachRow',
    });
    const row = (await rs.json<{ q: number[]; stored: string; distinct: string }>())[0];
    const q = (row?.q ?? [NaN, NaN]).map(Number);
    const stored = Number(row?.stored ?? NaN);
    const distinct = Number(row?.distinct ?? NaN);
    if (stored !== n || distinct !== n)
      log(`${partitions} partition(s): NOT EXACT: ${stored} rows, ${distinct} Events of ${n}`);
    return {
      stored,
      distinct,
      post,
      eventsPerSecond: n / ((done - t0) / 1000),
      ingestPerSecond: n / ((ingested - t0) / 1000),
      p50Ms: q[0]!,
      p99Ms: q[1]!,
      collectorPeakRss: peakRss(collector.pid),
      analyzerPeakRss: peakRss(analyzer.pid),
      cpuMicrosPerEvent,
      wallSeconds: (done - t0) / 1000,
      topic,
      database,
    };
  } finally {
    await stop(collector);
    await stop(analyzer);
  }
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const e = resolveEndpoints(loadEnginesConfig());
  const admin = createClickHouse({ ...e.clickhouse, requestTimeoutMs: 600_000 });
  const logger = createLogger('bench', 'warn');
  const conn = { brokers: e.kafka.brokers, clientId: 'bench', logger };
  // The raw baselines use kafkajs directly, as they did before the services moved to @platformatic/kafka.
  const kafka = new Kafka({ brokers: e.kafka.brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
  const n = ctx.scale.events;
  // The local engines' processes, to count their CPU time too (not known for external engines).
  const engines = loadEnginesConfig();
  const status = engines.mode === 'local' ? await new LocalEngines(engines).status() : null;
  const pids: EnginePids = { kafka: status?.kafka.pid ?? null, clickhouse: status?.clickhouse.pid ?? null };
  const clusters = Math.min(ctx.scale.clusters, 50);
  const series = newSeries();
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  const databases: string[] = [];
  try {
    ctx.log(`end to end with ${n} events, 6 partitions`);
    const main = await pipeline(e, admin, { n, clusters, series }, 6, pids, ctx.log);
    databases.push(main.database);

    // Baseline 1: the same messages copied from Kafka into ClickHouse with no processing.
    const copyDb = main.database;
    await admin.command({ query: `CREATE TABLE ${copyDb}.raw_copy (v String) ENGINE = MergeTree ORDER BY tuple()` });
    const consumer = kafka.consumer({ groupId: `${main.topic}_rawcopy`, maxBytesPerPartition: 4 * 1024 * 1024 });
    await consumer.connect();
    await consumer.subscribe({ topic: main.topic, fromBeginning: true });
    let copied = 0;
    const copyCpu = cpuMeter({ client: process.pid, kafka: pids.kafka, clickhouse: pids.clickhouse });
    const tCopy = Date.now();
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }: EachBatchPayload) => {
          await admin.insert({
            table: `${copyDb}.raw_copy`,
            values: batch.messages.map((m) => ({ v: m.value?.toString() ?? '' })),
            format: 'JSONEachRow',
            clickhouse_settings: { async_insert: 0 },
          });
          copied += batch.messages.length;
          if (copied >= n) resolve();
        },
      });
    });
    const rawCopyRate = n / ((Date.now() - tCopy) / 1000);
    const rawCopyCpu = Object.values(copyCpu(n)).reduce((a, b) => a + b, 0);
    await consumer.disconnect();

    // Baseline 2: ClickHouse's own Kafka table engine reading the same topic.
    await admin.command({
      query:
        `CREATE TABLE ${copyDb}.kafka_src (v String) ENGINE = Kafka SETTINGS kafka_broker_list = ` +
        `'${e.kafka.brokers.join(',')}', kafka_topic_list = '${main.topic}', kafka_group_name = ` +
        `'${main.topic}_chkafka', kafka_format = 'JSONAsString', kafka_max_block_size = 65536`,
    });
    await admin.command({ query: `CREATE TABLE ${copyDb}.kafka_copy (v String) ENGINE = MergeTree ORDER BY tuple()` });
    const tKafka = Date.now();
    await admin.command({
      query: `CREATE MATERIALIZED VIEW ${copyDb}.kafka_mv TO ${copyDb}.kafka_copy AS SELECT v FROM ${copyDb}.kafka_src`,
    });
    const kafkaDone = await waitFor(admin, `SELECT count() FROM ${copyDb}.kafka_copy`, n, 600_000);
    await admin.command({ query: `DROP TABLE ${copyDb}.kafka_mv` });
    const kafkaEngineRate = n / ((kafkaDone - tKafka) / 1000);

    // The analyzer alone: a fresh group and database reading the full topic, nothing else running.
    const aloneDb = `${main.database}_alone`;
    await migrate(admin, { database: aloneDb, ttlDays: 90 });
    databases.push(aloneDb);
    const aloneClickHouseCpu = cpuMeter({ clickhouse: pids.clickhouse });
    const tAlone = Date.now();
    const alone = spawnService('analyzer', e, {
      PULLWATCH_TOPIC: main.topic,
      PULLWATCH_DLQ_TOPIC: `${main.topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${main.topic}_alone`,
      PULLWATCH_CLICKHOUSE_DATABASE: aloneDb,
      PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
    });
    let analyzerAloneRate = NaN;
    let analyzerAloneCpu = NaN;
    try {
      const aloneDone = await waitFor(admin, `SELECT count() FROM ${aloneDb}.raw_events`, n, 600_000);
      // Process start-up (migrations, group join) is part of the time: a conservative figure.
      analyzerAloneRate = n / ((aloneDone - tAlone) / 1000);
      // The analyzer process is new: all of its CPU time is this run's.
      analyzerAloneCpu = (cpuSeconds(alone.pid) * 1e6) / n + aloneClickHouseCpu(n).clickhouse;
    } finally {
      await stop(alone);
    }

    // Stage baselines: plain kafkajs produce and consume of the same envelopes, and the same with the services' client.
    const stageTopic = `${main.topic}_stage`;
    await ensureTopics(conn, [{ topic: stageTopic, numPartitions: 6 }]);
    // The same envelopes, made BATCH_EVENTS at a time outside the timed sends (bounded memory at any n).
    const envelopes = (from: number) =>
      makeEvents(Math.min(n, from + BATCH_EVENTS), clusters, series, from)
        .map((ev) => eventEnvelope({ cluster: ev.cluster, source: 'http', event: K8sEventSchema.parse(ev.event) }))
        .map((o) => ({ key: o.key, value: JSON.stringify(o.envelope) }));
    /** Sends every envelope in order, BATCH_EVENTS per awaited send; the events per second of the sends alone. */
    const timedSends = async (send: (messages: ReturnType<typeof envelopes>) => Promise<unknown>) => {
      let ms = 0;
      for (let i = 0; i < n; i += BATCH_EVENTS) {
        const messages = envelopes(i);
        const t = performance.now();
        await send(messages);
        ms += performance.now() - t;
      }
      return n / (ms / 1000);
    };
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const rawProduceRate = await timedSends((messages) => producer.send({ topic: stageTopic, acks: -1, messages }));
    await producer.disconnect();
    const rawConsumer = kafka.consumer({ groupId: `${stageTopic}_g` });
    await rawConsumer.connect();
    await rawConsumer.subscribe({ topic: stageTopic, fromBeginning: true });
    let consumed = 0;
    const tConsume = Date.now();
    await new Promise<void>(
      (resolve) =>
        void rawConsumer.run({
          eachBatch: async ({ batch }: EachBatchPayload) => {
            consumed += batch.messages.length;
            if (consumed >= n) resolve();
          },
        }),
    );
    const rawConsumeRate = n / ((Date.now() - tConsume) / 1000);
    await rawConsumer.disconnect();

    const pwTopic = `${main.topic}_stage_pw`;
    await ensureTopics(conn, [{ topic: pwTopic, numPartitions: 6 }]);
    const pwProducer = await createProducer(conn);
    const pwProduceRate = await timedSends((messages) => pwProducer.send(pwTopic, messages));
    await pwProducer.close();
    let pwConsumed = 0;
    const tPwConsume = Date.now();
    const pwConsumer = createGroupConsumer(conn, {
      groupId: `${pwTopic}_g`,
      topic: pwTopic,
      sessionTimeoutMs: 30_000,
      minBytes: 1,
      maxWaitMs: 500,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    await new Promise<void>(
      (resolve) =>
        void pwConsumer.run(async ({ messages }) => {
          pwConsumed += messages.length;
          if (pwConsumed >= n) resolve();
        }),
    );
    const pwConsumeRate = n / ((Date.now() - tPwConsume) / 1000);
    await pwConsumer.close();

    figures.push(
      {
        metric: 'end to end: HTTP ingest → queryable in ClickHouse',
        value: main.eventsPerSecond,
        unit: 'events/s',
        baseline: {
          name: 'raw copy Kafka → ClickHouse (kafkajs consume + batched insert, no processing)',
          value: rawCopyRate,
        },
        ratio: main.eventsPerSecond / rawCopyRate,
        target: '≥ 0.5× raw copy and ≥ 20000 events/s',
      },
      {
        metric: 'end to end vs ClickHouse Kafka engine',
        value: main.eventsPerSecond,
        unit: 'events/s',
        baseline: { name: 'ClickHouse Kafka table engine → MergeTree, same topic', value: kafkaEngineRate },
        ratio: main.eventsPerSecond / kafkaEngineRate,
      },
      { metric: 'end to end: raw_events rows stored / events sent', value: main.stored, unit: `of ${n}` },
      { metric: 'end to end: distinct Events stored / sent', value: main.distinct, unit: `of ${n}` },
      {
        metric: 'end to end: ingest requests pushed back (503/429, sent again)',
        value: main.post.pushedBack,
        unit: `of ${main.post.accepted} requests`,
      },
      {
        metric: 'end to end: ingest requests whose fetch was rejected (sent again)',
        value: main.post.rejected,
        unit: `of ${main.post.accepted} requests`,
      },
      { metric: 'latency ingest → queryable, p50', value: main.p50Ms, unit: 'ms' },
      { metric: 'latency ingest → queryable, p99', value: main.p99Ms, unit: 'ms' },
      {
        metric: 'collector: HTTP ingest acknowledged by Kafka',
        value: main.ingestPerSecond,
        unit: 'events/s',
        baseline: { name: 'kafkajs produce of the same envelopes (acks=all, batches of 2000)', value: rawProduceRate },
        ratio: main.ingestPerSecond / rawProduceRate,
      },
      {
        metric: 'analyzer alone: consume, classify, insert the full topic',
        value: analyzerAloneRate,
        unit: 'events/s',
        baseline: { name: 'kafkajs consume alone, same envelopes', value: rawConsumeRate },
        ratio: analyzerAloneRate / rawConsumeRate,
      },
      {
        metric: "@platformatic/kafka produce (the services' client, @pullwatch/kafka), same envelopes",
        value: pwProduceRate,
        unit: 'events/s',
        baseline: { name: 'kafkajs produce (acks=all, idempotent, batches of 2000)', value: rawProduceRate },
        ratio: pwProduceRate / rawProduceRate,
      },
      {
        metric: '@platformatic/kafka group consume (@pullwatch/kafka), same envelopes',
        value: pwConsumeRate,
        unit: 'events/s',
        baseline: { name: 'kafkajs consume alone', value: rawConsumeRate },
        ratio: pwConsumeRate / rawConsumeRate,
      },
      {
        metric: 'analyzer alone vs raw copy',
        value: analyzerAloneRate,
        unit: 'events/s',
        baseline: { name: 'raw copy Kafka → ClickHouse', value: rawCopyRate },
        ratio: analyzerAloneRate / rawCopyRate,
      },
      {
        metric: 'CPU per event: analyzer alone + its ClickHouse inserts',
        value: analyzerAloneCpu,
        unit: 'µs',
        baseline: { name: 'raw copy (its client, Kafka, ClickHouse)', value: rawCopyCpu },
        ratio: analyzerAloneCpu / rawCopyCpu,
      },
      ...Object.entries(main.cpuMicrosPerEvent).map(([name, us]) => ({
        metric: `CPU per event: ${name}`,
        value: us,
        unit: 'µs',
      })),
      {
        metric: 'CPU per event: all of the above',
        value: Object.values(main.cpuMicrosPerEvent).reduce((a, b) => a + b, 0),
        unit: 'µs',
        baseline: {
          name: `what ${os.cpus().length} cores give per event at the end-to-end rate`,
          value: (os.cpus().length * 1e6) / main.eventsPerSecond,
        },
        ratio:
          Object.values(main.cpuMicrosPerEvent).reduce((a, b) => a + b, 0) /
          ((os.cpus().length * 1e6) / main.eventsPerSecond),
      },
      { metric: 'CPU per event: raw copy (its client, Kafka, ClickHouse)', value: rawCopyCpu, unit: 'µs' },
      { metric: 'collector peak RSS at the end-to-end rate', value: main.collectorPeakRss / 2 ** 20, unit: 'MiB' },
      { metric: 'analyzer peak RSS at the end-to-end rate', value: main.analyzerPeakRss / 2 ** 20, unit: 'MiB' },
    );

    // Scale-out shape: the same pipeline with 1, 2 and 4 partitions (one analyzer process).
    const small = { n: Math.min(n, 50_000), clusters, series: newSeries() };
    const base = await pipeline(e, admin, small, 1, pids, ctx.log);
    databases.push(base.database);
    for (const p of [2, 4]) {
      const r = await pipeline(e, admin, small, p, pids, ctx.log);
      databases.push(r.database);
      figures.push({
        metric: `end to end with ${p} partitions, ${small.n} events`,
        value: r.eventsPerSecond,
        unit: 'events/s',
        baseline: { name: '1 partition, same events', value: base.eventsPerSecond },
        ratio: r.eventsPerSecond / base.eventsPerSecond,
      });
    }
    const flags = (['collector', 'analyzer'] as const)
      .map((s) => {
        const env = Object.entries(serviceEnv(s, {})).map(([k, v]) => `${k}=${v}`);
        return `${s}: ${[...serviceNodeFlags(s, process.env.NODE_OPTIONS), ...env].join(' ') || 'none'}`;
      })
      .join('; ');
    notes.push(
      `${n} events (60 % successful pulls, 30 % failures of three causes, 10 % back-off) ` +
        `across ${Math.min(ctx.scale.clusters, 50)} clusters, posted in JSON arrays of 2000 by 4 concurrent ` +
        `clients (each request body made as it is sent); collector and analyzer run as separate processes, ` +
        `${serviceEntry().how}, with the Node flags and environment \`pullwatch start\` gives them ` +
        `(${flags}; packages/service-runtime/src/runtime-tuning.ts) and their default settings (the collector's ` +
        `buffer: 50 000 events, 32 MiB). The Helm chart adds a heap cap (nodeOptions), which costs CPU: ` +
        `docs/deploy.md, section 8.`,
      'Latency is per event: ClickHouse stored_at (server clock at insert) minus the collector received_at.',
      'Partitions: one analyzer process consumes them all here, so more partitions mainly add parallel ' +
        'fetches; the gain comes from running one analyzer per partition group (same consumer group) on more cores.',
      `CPU per event is each process's user+system time over the run (from /proc) divided by the events; when ` +
        `their sum is near what ${os.cpus().length} cores give per event at the measured rate, the machine is ` +
        `saturated and the rate is set by the total CPU per event, not by any one stage. The raw copy spends ` +
        `its CPU only on consuming and inserting one string column; the pipeline also parses HTTP, produces ` +
        `through @platformatic/kafka, validates and classifies, and writes two tables, three materialized ` +
        `views and the Pod states.`,
      'The analyzer-alone figure includes its process start-up (migrations, joining the group), so it is ' +
        'a lower bound of its steady rate.',
    );
  } finally {
    for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
    await admin.close();
  }
  return { name: 'end to end and stages', figures, notes };
}
