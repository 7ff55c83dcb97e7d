import { compatibilityPartitioner } from '@platformatic/kafka';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createProducer, ensureTopics, readTopic, type ConsumedMessage } from '@pullwatch/kafka';
import { pino } from 'pino';
import { createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { until } from '../../../test/support/until.ts';
import { loadAnalyzerConfig } from './config.ts';
import { createAnalyzer, type Analyzer } from './analyzer.ts';

// Issue 21: one request of 110 Events whose times fall in 110 different months was refused by ClickHouse
// (max_partitions_per_insert_block, code 252) and retried forever: the Kafka partition holding it was
// never analysed again, even after a restart. Poison must never block: the time window clamps what is
// outside the retention, a block refused as a whole is split, rows refused on their own go to the
// dead-letter topic with ClickHouse's reason, and a canary on the same partition is queryable within seconds.

const endpoints = testEndpoints();
/** The analyzers' "writing it in halves" lines. */
const splits: { code?: string; units: number; verdict: string }[] = [];
const logger = pino(
  { level: 'warn' },
  {
    write(line: string) {
      const l = JSON.parse(line) as { msg: string; code?: string; units: number; verdict: string };
      if (l.msg.includes('in halves'))
        splits.push({ ...(l.code ? { code: l.code } : {}), units: l.units, verdict: l.verdict });
    },
  },
);

const kafka = { brokers: endpoints.kafka.brokers, clientId: 'poison-test', logger };
const admin = createClickHouse({ ...endpoints.clickhouse });
const databases: string[] = [];
const PARTITIONS = 3;
/**
 * From producing the canary to it being queryable, where the old analyzer never got there. Behind a batch
 * the time window clamps: 5 s. Isolating rows refused on their own takes about 2 · log2(n) inserts per
 * refused row (each refused half is halved again; the others are stored), and behind 110 months
 * ClickHouse writes 110 parts in each of five tables. On the shared test machine (load average 30 on two
 * cores) those took 5–28 s and 11–13 s: the bounds leave room for that.
 */
const CANARY_MS = { clamped: 5_000, poison: 30_000, months: 60_000 };

const FAILED = (img: string) =>
  `Failed to pull image "${img}": rpc error: code = NotFound desc = failed to pull and unpack image "${img}": ` +
  `failed to resolve reference "${img}": ${img}: not found`;
/** Rows ClickHouse refuses on their own: the test's tables get a CHECK constraint against this text. */
const POISON_MARK = 'POISON-ROW';

function failed(cluster: string, pod: string, uid: string, at: Date, message = FAILED('ghcr.io/acme/app:1')) {
  const { key, envelope } = eventEnvelope({
    cluster,
    source: 'http',
    event: K8sEventSchema.parse({
      metadata: { uid, name: `${pod}.${uid}`, namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{app}' },
      reason: 'Failed',
      message,
      count: 1,
      firstTimestamp: at.toISOString(),
      lastTimestamp: at.toISOString(),
    }),
  });
  return { key, value: JSON.stringify(envelope) };
}

/** The 15th of the month `back` months before this one (UTC). */
function monthsBack(back: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 15, 12));
}

/** 110 Events of one Pod, each in a month of its own, `from` to `from + 109` months back. */
const spread = (cluster: string, pod: string, from: number) =>
  Array.from({ length: 110 }, (_, i) => failed(cluster, pod, `${pod}-m${i}`, monthsBack(from + i)));

const partitionOf = (key: string) => compatibilityPartitioner({} as never, Buffer.from(key)) % PARTITIONS;

/** A Pod of another name whose Events land on the same Kafka partition as `key`'s. */
function canaryOn(cluster: string, key: string, tag: string) {
  for (let i = 0; ; i++) {
    const c = failed(cluster, `canary-${tag}-${i}`, `canary-${tag}-${i}`, new Date());
    if (partitionOf(c.key) === partitionOf(key)) return { ...c, pod: `canary-${tag}-${i}` };
  }
}

/** Sends; resolves with when the messages were handed to Kafka. */
async function produce(topic: string, messages: { key: string; value: string }[]): Promise<number> {
  const p = await createProducer(kafka);
  try {
    const sent = Date.now();
    await p.send(topic, messages);
    return sent;
  } finally {
    await p.close();
  }
}

const NONE = { decode: 0, schema: 0, processing: 0, clickhouse_rejected: 0 };

/** The dead-letter topic holds exactly `want`, each with ClickHouse's reason and where it came from. */
async function expectDeadLetters(f: { topic: string; dlq: string }, want: { value: string }[]) {
  const [dead, onTopic] = await Promise.all([readTopic(kafka, f.dlq), readTopic(kafka, f.topic)]);
  const byValue = new Map(onTopic.map((m) => [m.value!.toString(), m]));
  expect(dead.map((d) => d.value!.toString()).sort()).toEqual(want.map((p) => p.value).sort());
  for (const d of dead) expectDeadLetter(d, byValue.get(d.value!.toString()), f.topic);
}

async function scalar(sql: string): Promise<number> {
  const rs = await admin.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await rs.json<Record<string, number | string>>();
  return Number(Object.values(row ?? { n: 0 })[0]);
}

async function deadLettered(metrics: Registry): Promise<Record<string, number>> {
  const m = await metrics.getSingleMetric('pullwatch_analyzer_dead_lettered_total')?.get();
  return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels.reason), v.value]));
}

async function fixture(ttlDays: number) {
  const name = uniqueName('poison_it');
  databases.push(name);
  await migrate(admin, { database: name, ttlDays });
  // A row ClickHouse refuses whatever the block: a CHECK constraint (VIOLATED_CONSTRAINT, code 469).
  await admin.command({
    query: `ALTER TABLE ${name}.raw_events ADD CONSTRAINT no_poison CHECK position(payload, '${POISON_MARK}') = 0`,
  });
  await admin.command({
    query: `ALTER TABLE ${name}.pull_events ADD CONSTRAINT no_poison CHECK position(message, '${POISON_MARK}') = 0`,
  });
  const topic = name;
  const dlq = `${name}_dlq`;
  await ensureTopics(kafka, [
    { topic, numPartitions: PARTITIONS },
    { topic: dlq, numPartitions: 1 },
  ]);
  const analyzer = (): { a: Analyzer; metrics: Registry } => {
    const metrics = createMetricsRegistry('poison-test');
    const a = createAnalyzer(
      loadAnalyzerConfig({
        PULLWATCH_TOPIC: topic,
        PULLWATCH_TOPIC_PARTITIONS: String(PARTITIONS),
        PULLWATCH_DLQ_TOPIC: dlq,
        PULLWATCH_ANALYZER_GROUP: `${name}_g`,
        PULLWATCH_CLICKHOUSE_DATABASE: name,
        PULLWATCH_TTL_DAYS: String(ttlDays),
        PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
        PULLWATCH_ANALYZER_SESSION_TIMEOUT_MS: '6000',
        PULLWATCH_ANALYZER_BATCH_MIN_BYTES: '1',
        PULLWATCH_ANALYZER_BATCH_MAX_WAIT_MS: '100',
      }),
      { logger, metrics, kafka, clickhouse: createClickHouse({ ...endpoints.clickhouse }) },
    );
    running.push(a);
    return { a, metrics };
  };
  return { database: name, topic, dlq, analyzer };
}

let running: Analyzer[] = [];

/** Waits for the canary Pod's raw row; how long it took from `since`. */
async function canaryStored(database: string, pod: string, since: number, withinMs: number): Promise<number> {
  await until(
    async () => (await scalar(`SELECT count() FROM ${database}.raw_events WHERE object_name = '${pod}'`)) === 1,
    `the canary ${pod} to be queryable`,
    withinMs - (Date.now() - since),
    100,
  );
  return Date.now() - since;
}

const poisonRow = (cluster: string, pod: string, i: number) =>
  failed(
    cluster,
    pod,
    `${pod}-poison-${i}`,
    new Date(Date.now() - 30_000),
    `${FAILED('ghcr.io/acme/app:1')} ${POISON_MARK} ${i}`,
  );

describe('poison never blocks the analyzer', () => {
  afterEach(async () => {
    await Promise.all(running.map((a) => a.stop()));
    running = [];
  });
  afterAll(async () => {
    for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await admin.close();
  });

  it(
    'splits a 110-month batch ClickHouse refuses as a whole, dead-letters the rows it refuses on their own, ' +
      'and a canary on the same partition is queryable within seconds; again after a restart',
    async () => {
      // A retention of 11 years: the time window lets all 110 months through, ClickHouse's
      // max_partitions_per_insert_block (100) refuses them in one insert.
      const f = await fixture(4000);
      const db = f.database;
      const first = f.analyzer();
      await first.a.start();

      // 1. The batch of the issue, the canary behind it on the same Kafka partition.
      const batch = spread('eu-1', 'replayed', 1);
      const canary = canaryOn('eu-1', batch[0]!.key, 'a');
      const took = await canaryStored(db, canary.pod, await produce(f.topic, [...batch, canary]), CANARY_MS.months);
      // Refused as a whole (TOO_MANY_PARTS), written in halves: every month stored as it was, none clamped.
      expect(splits.map((l) => [l.code, l.units, l.verdict])).toEqual([['252', 111, 'split']]);
      expect(await scalar(`SELECT count() FROM ${db}.raw_events WHERE object_name = 'replayed'`)).toBe(110);
      expect(
        await scalar(`SELECT uniqExact(toYYYYMM(event_time)) FROM ${db}.raw_events WHERE object_name = 'replayed'`),
      ).toBe(110);
      expect(await scalar(`SELECT count() FROM ${db}.pull_events WHERE pod = 'replayed'`)).toBe(110);
      expect(await scalar(`SELECT sum(occurrences) FROM ${db}.pull_failures WHERE pod = 'replayed'`)).toBe(110);
      expect(await scalar(`SELECT sum(time_clamped) FROM ${db}.raw_events`)).toBe(0);
      expect(await deadLettered(first.metrics)).toEqual(NONE);

      // 2. Rows ClickHouse refuses on their own, among 110 recent Events: isolated and dead-lettered.
      const batch2 = Array.from({ length: 110 }, (_, i) =>
        failed('eu-1', 'replayed-2', `replayed-2-${i}`, new Date(Date.now() - 60_000 + i)),
      );
      const poison = [0, 1, 2].map((i) => poisonRow('eu-1', 'replayed-2', i));
      const canary2 = canaryOn('eu-1', batch2[0]!.key, 'b');
      const took2 = await canaryStored(
        db,
        canary2.pod,
        await produce(f.topic, [
          ...batch2.slice(0, 40),
          poison[0]!,
          ...batch2.slice(40, 80),
          poison[1]!,
          ...batch2.slice(80),
          poison[2]!,
          canary2,
        ]),
        CANARY_MS.poison,
      );
      expect(await scalar(`SELECT count() FROM ${db}.raw_events WHERE object_name = 'replayed-2'`)).toBe(110);
      expect(await scalar(`SELECT count() FROM ${db}.pull_events WHERE pod = 'replayed-2'`)).toBe(110);
      await until(async () => (await deadLettered(first.metrics)).clickhouse_rejected === 3, 'the metric to count 3');
      expect(await deadLettered(first.metrics)).toEqual({ ...NONE, clickhouse_rejected: 3 });
      await expectDeadLetters(f, poison);
      expect(first.a.stats()).toMatchObject({ consumed: 110 + 1 + 110 + 3 + 1, deadLettered: 3 });

      // 3. A restart meets the next such batch first thing: the same, and nothing of before is repeated.
      await first.a.stop();
      const batch3 = spread('eu-1', 'replayed-3', 3);
      const poison3 = [3, 4].map((i) => poisonRow('eu-1', 'replayed-3', i));
      const canary3 = canaryOn('eu-1', batch3[0]!.key, 'c');
      await produce(f.topic, [poison3[0]!, ...batch3, poison3[1]!, canary3]);
      const restarted = f.analyzer();
      await restarted.a.start();
      const took3 = await canaryStored(db, canary3.pod, Date.now(), CANARY_MS.months);
      expect(await scalar(`SELECT count() FROM ${db}.raw_events WHERE object_name = 'replayed-3'`)).toBe(110);
      for (const pod of ['replayed', 'replayed-2', canary.pod, canary2.pod])
        expect(await scalar(`SELECT count() FROM ${db}.raw_events WHERE object_name = '${pod}'`), pod).toBe(
          pod.startsWith('canary') ? 1 : 110,
        );
      await until(
        async () => (await deadLettered(restarted.metrics)).clickhouse_rejected === 2,
        'the restarted analyzer to count 2',
      );
      expect(await deadLettered(restarted.metrics)).toEqual({ ...NONE, clickhouse_rejected: 2 });
      await expectDeadLetters(f, [...poison, ...poison3]);
      expect(restarted.a.stats()).toMatchObject({ consumed: 2 + 110 + 1, deadLettered: 2, skippedAlreadyStored: 0 });
      // Each canary was on its batch's Kafka partition (and the poison rows too).
      const onTopic = await readTopic(kafka, f.topic);
      expect(onTopic).toHaveLength(111 + 114 + 113);
      const partitionsOfPods = (pods: string[]) =>
        new Set(
          onTopic
            .filter((m) => pods.includes(JSON.parse(m.value!.toString()).event.involvedObject.name))
            .map((m) => m.partition),
        );
      for (const [pod, c] of [
        ['replayed', canary],
        ['replayed-2', canary2],
        ['replayed-3', canary3],
      ] as const)
        expect(partitionsOfPods([pod, c.pod]), pod).toEqual(new Set([partitionOf(c.key)]));
      console.log(
        `canary queryable after: the 110-month batch ${took} ms, with poison rows ${took2} ms, ` +
          `after a restart ${took3} ms`,
      );
    },
  );

  it(
    'stores Events outside the retention window at their received time, flagged, and the canary follows ' +
      'within seconds',
    async () => {
      const f = await fixture(90);
      const splitsBefore = splits.length;
      const { a, metrics } = f.analyzer();
      await a.start();
      // 110 months all older than the 90-day retention, and one a day ahead (a node with a wrong clock).
      const batch = spread('us-1', 'old-dump', 4);
      const ahead = failed('us-1', 'old-dump', 'old-dump-ahead', new Date(Date.now() + 86_400_000));
      const canary = canaryOn('us-1', batch[0]!.key, 'c');
      const took = await canaryStored(
        f.database,
        canary.pod,
        await produce(f.topic, [...batch, ahead, canary]),
        CANARY_MS.clamped,
      );
      const db = f.database;
      await until(
        async () => (await scalar(`SELECT count() FROM ${db}.raw_events WHERE object_name = 'old-dump'`)) === 111,
        'the clamped Events',
      );
      // Stored at the time they were received (by the producer's clock, when the test built them).
      const rows = await admin.query({
        query:
          `SELECT min(time_clamped) AS c0, max(time_clamped) AS c1, uniqExact(toYYYYMM(event_time)) AS months, ` +
          `countIf(event_time = received_at) AS at_received, ` +
          `countIf(event_time BETWEEN now64(3) - INTERVAL 10 MINUTE AND now64(3)) AS recent ` +
          `FROM ${db}.raw_events WHERE object_name = 'old-dump'`,
        format: 'JSONEachRow',
      });
      const [r] = await rows.json<Record<string, number | string>>();
      expect(Object.fromEntries(Object.entries(r!).map(([k, v]) => [k, Number(v)]))).toEqual({
        c0: 1,
        c1: 1,
        months: 1,
        at_received: 111,
        recent: 111,
      });
      expect(await scalar(`SELECT count() FROM ${db}.pull_events WHERE pod = 'old-dump' AND time_clamped = 1`)).toBe(
        111,
      );
      expect(await scalar(`SELECT sum(time_clamped) FROM ${db}.raw_events WHERE object_name = '${canary.pod}'`)).toBe(
        0,
      );
      // The Event's own time is kept in the payload.
      expect(
        await scalar(
          `SELECT count() FROM ${db}.raw_events WHERE object_name = 'old-dump' AND ` +
            `JSONExtractString(payload, 'event', 'lastTimestamp') = '${monthsBack(4).toISOString()}'`,
        ),
      ).toBe(1);
      expect(await deadLettered(metrics)).toEqual(NONE);
      // Nothing refused, nothing split: the window kept the insert within one partition.
      expect(splits.slice(splitsBefore)).toEqual([]);
      console.log(`canary after 110 clamped months: queryable in ${took} ms`);
    },
  );
});

function expectDeadLetter(d: ConsumedMessage, original: ConsumedMessage | undefined, topic: string) {
  expect(original).toBeDefined();
  expect(d.headers).toMatchObject({
    'pullwatch-reason': 'clickhouse_rejected',
    'pullwatch-clickhouse-code': '469',
    'pullwatch-topic': topic,
    'pullwatch-partition': String(original!.partition),
    'pullwatch-offset': String(original!.offset),
  });
  expect(d.headers['pullwatch-error']).toMatch(
    /^ClickHouse refused the row \(code 469 VIOLATED_CONSTRAINT\): .*Constraint `no_poison`/,
  );
  expect(d.key).toBe(`${topic}:${original!.partition}:${original!.offset}`);
}
