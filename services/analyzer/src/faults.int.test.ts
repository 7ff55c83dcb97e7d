import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { BackoffPolicy } from '@pullwatch/backoff';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { repoRoot } from '@pullwatch/engines';
import { createProducer, ensureTopics, topicOffsets } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';
import { until as waitUntil } from '../../../test/support/until.ts';
import { loadAnalyzerConfig } from './config.ts';
import { createAnalyzer } from './analyzer.ts';
import { PULL_EVENT_FORMAT, type PullEventRow, RAW_EVENT_FORMAT, type RawEventRow } from './core/table-formats.ts';
import { InsertCoalescer, type SliceControl } from './insert-coalescer.ts';
import { AnalyzerStore } from './store.ts';

const endpoints = testEndpoints();
const logger = createLogger('faults-test', 'silent');
const kafka = { brokers: endpoints.kafka.brokers, clientId: 'faults-test', logger };
const admin = createClickHouse({ ...endpoints.clickhouse });
const databases: string[] = [];

const at = (s: number) => new Date(Date.now() - 3600_000 + s * 1000).toISOString();
/** `pods` Pods each with one aggregated failure Event observed at counts 1..steps (and replayed once). */
function workload(pods: number, steps: number): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (let step = 1; step <= steps; step++) {
    for (let p = 0; p < pods; p++) {
      const { key, envelope } = eventEnvelope({
        cluster: `c${p % 3}`,
        source: 'http',
        event: K8sEventSchema.parse({
          metadata: { uid: `u-${p}`, name: `web-${p}.1`, namespace: 'shop' },
          involvedObject: { kind: 'Pod', name: `web-${p}`, namespace: 'shop', fieldPath: 'spec.containers{app}' },
          reason: 'Failed',
          message:
            `Failed to pull image "ghcr.io/acme/app-${p % 7}:1": rpc error: code = NotFound desc = ` +
            `failed to resolve reference: not found`,
          count: step,
          lastTimestamp: at(step * 10),
        }),
      });
      const value = JSON.stringify(envelope);
      out.push({ key, value }, { key, value });
    }
  }
  return out;
}

async function setup(partitions: number) {
  const database = uniqueName('faults');
  const topic = uniqueName('faults');
  databases.push(database);
  await migrate(admin, { database, ttlDays: 90 });
  await ensureTopics(kafka, [{ topic, numPartitions: partitions }]);
  return { database, topic };
}

async function produce(topic: string, messages: { key: string; value: string }[]) {
  const p = await createProducer(kafka);
  for (let i = 0; i < messages.length; i += 500) await p.send(topic, messages.slice(i, i + 500));
  await p.close();
}

async function scalar(sql: string): Promise<number> {
  const rs = await admin.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await rs.json<Record<string, number | string>>();
  return Number(Object.values(row ?? { n: 0 })[0]);
}

const until = (check: () => Promise<boolean>, what: string, ms = 180_000, everyMs = 300) =>
  waitUntil(check, what, ms, everyMs);

/** Whether the last message of every partition of `topic` has its raw_events row: nothing is left to process. */
async function lastOffsetsStored(database: string, topic: string): Promise<boolean> {
  const ends = await topicOffsets(kafka, topic);
  const rs = await admin.query({
    query: `SELECT kafka_partition AS p, max(kafka_offset) + 1 AS end FROM ${database}.raw_events GROUP BY p`,
    format: 'JSONEachRow',
  });
  const stored = new Map((await rs.json<{ p: number; end: string }>()).map((r) => [Number(r.p), Number(r.end)]));
  return ends.every((end, p) => end === 0 || stored.get(p) === end);
}

/** The analyzer's messages counter for one outcome, as its /metrics would show it. */
async function counted(metrics: Registry, outcome: string): Promise<number> {
  const m = await metrics.getSingleMetric('pullwatch_analyzer_messages_total')?.get();
  return m?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

/** A warn-level logger whose lines the test can read. */
function capturingLogger() {
  const lines: { msg: string; level: number }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

afterAll(async () => {
  for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await admin.close();
});

describe('analyzer faults', () => {
  it('SIGKILLed mid-stream and restarted: no loss, no double count', async () => {
    const { database, topic } = await setup(3);
    const messages = workload(400, 5); // 4000 messages, 2000 occurrences (400 Pods × count 5)
    // The stream keeps coming while analyzers die: a third of it before each of the three runs.
    const third = Math.ceil(messages.length / 3);
    const env = {
      ...process.env,
      PULLWATCH_TOPIC: topic,
      PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_LOG_LEVEL: 'warn',
      PULLWATCH_ANALYZER_SESSION_TIMEOUT_MS: '8000',
      // Small slices (one insert and one commit each): a kill lands between and inside them, mid-stream.
      PULLWATCH_ANALYZER_BATCH_MAX_ROWS: '25',
    };
    const children: ChildProcess[] = [];
    const run = (): ChildProcess => {
      const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'analyzer'], {
        env,
        stdio: 'ignore',
      });
      children.push(child);
      return child;
    };
    let kills = 0;
    let midStream = 0;
    try {
      // Kill it as soon as it has written something, twice, then let it finish.
      for (; kills < 2; kills++) {
        const before = await scalar(`SELECT count() FROM ${database}.raw_events`);
        await produce(topic, messages.slice(kills * third, (kills + 1) * third));
        const child = run();
        await until(
          async () => (await scalar(`SELECT count() FROM ${database}.raw_events`)) > before,
          'progress before the kill',
          180_000,
          50,
        );
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        if (
          (await scalar(`SELECT count() FROM ${database}.raw_events`)) < Math.min(messages.length, (kills + 1) * third)
        )
          midStream += 1;
      }
      await produce(topic, messages.slice(2 * third));
      run();
      // Done once the last message of every partition is stored: a replay (a double count) would be in by then.
      await until(
        async () =>
          (await scalar(`SELECT count() FROM ${database}.raw_events`)) >= messages.length &&
          (await lastOffsetsStored(database, topic)),
        'all messages stored, to the last offset of every partition',
      );
      expect(await scalar(`SELECT count() FROM ${database}.raw_events`)).toBe(messages.length);
      expect(await scalar(`SELECT sum(occurrences) FROM ${database}.pull_failures`)).toBe(2000);
      expect(await scalar(`SELECT sum(failures) FROM ${database}.pull_stats_1m`)).toBe(2000);
      expect(kills).toBe(2);
      // At least one analyzer died with part of what it had been given not yet stored.
      expect(midStream).toBeGreaterThanOrEqual(1);
    } finally {
      // Whatever happened, no analyzer outlives the test.
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }, 480_000);

  it('ClickHouse unreachable mid-stream: pauses, retries and resumes with nothing lost', async () => {
    const { database, topic } = await setup(2);
    const url = new URL(endpoints.clickhouse.url);
    const proxy = new TcpProxy(url.hostname, Number(url.port));
    await proxy.start();
    const metrics = createMetricsRegistry('faults');
    const log = capturingLogger();
    const analyzer = createAnalyzer(
      loadAnalyzerConfig({
        PULLWATCH_TOPIC: topic,
        PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
        PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
        PULLWATCH_CLICKHOUSE_DATABASE: database,
        PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
      }),
      {
        logger: log.logger,
        metrics,
        kafka,
        clickhouse: createClickHouse({
          ...endpoints.clickhouse,
          url: `http://127.0.0.1:${proxy.port}`,
          requestTimeoutMs: 3000,
        }),
      },
    );
    const pausedRetrying = () =>
      log.lines.filter(
        (l) => l.msg === 'analyzer: ClickHouse write failed; these partitions paused, retrying (the others go on)',
      );
    await analyzer.start();
    try {
      const first = workload(50, 2);
      await produce(topic, first.slice(0, 100));
      await until(
        async () => (await scalar(`SELECT count() FROM ${database}.raw_events`)) === 100,
        'first part stored',
      );
      expect(await counted(metrics, 'stored')).toBe(100);
      expect(pausedRetrying()).toEqual([]);

      await proxy.cut();
      await produce(topic, first.slice(100));
      // The rest was fetched and its write failed: the partitions paused and the block is being retried.
      await until(async () => pausedRetrying().length > 0, 'a failed write, paused and retried');
      expect(await counted(metrics, 'stored')).toBe(100);
      expect(analyzer.stats().consumed).toBe(100);
      await proxy.restore();
      expect(await scalar(`SELECT count() FROM ${database}.raw_events`)).toBe(100); // nothing was written meanwhile

      // Resumed: the retried block is stored, counted once, and consumption goes on.
      await until(
        async () => (await counted(metrics, 'stored')) === first.length,
        'the rest stored after ClickHouse came back',
      );
      expect(analyzer.stats()).toMatchObject({ consumed: first.length, deadLettered: 0, failures: 100 });
      expect(await scalar(`SELECT count() FROM ${database}.raw_events`)).toBe(first.length);
      expect(await scalar(`SELECT uniqExact(kafka_partition, kafka_offset) FROM ${database}.raw_events`)).toBe(
        first.length,
      );
      expect(await scalar(`SELECT sum(occurrences) FROM ${database}.pull_failures`)).toBe(100); // 50 Pods × count 2
      expect(await scalar(`SELECT count() FROM ${database}.pull_events`)).toBe(first.length);
    } finally {
      await analyzer.stop();
      await proxy.cut();
    }
  }, 180_000);

  it(
    "stores a block once through the analyzer's store " + 'when its write is retried and its slice redelivered',
    async () => {
      const { database } = await setup(1);
      const store = new AnalyzerStore(admin, database);
      const blank = <T>(format: { columns: readonly (readonly [string, string])[] }): T =>
        Object.fromEntries(
          format.columns.map(([name, type]) => [name, type.includes('String') ? '' : type === 'Bool' ? false : 0]),
        ) as T;
      const t0 = Date.UTC(2026, 10, 24, 10);
      const pull: PullEventRow = {
        ...blank<PullEventRow>(PULL_EVENT_FORMAT),
        event_time: t0,
        first_time: t0,
        received_at: t0,
        cluster: 'c',
        outcome: 'failure',
        event_kind: 'failed_pull',
        occurrences: 3,
        registry: 'r',
        cause: 'not_found',
        has_pull_secrets: -1,
        event_uid: 'u',
        event_count: 3,
        kafka_offset: 7,
      };
      const raw: RawEventRow = {
        ...blank<RawEventRow>(RAW_EVENT_FORMAT),
        event_time: t0,
        received_at: t0,
        kafka_offset: 7,
      };
      const tokens: string[] = [];
      let ackLost = true;
      const coalescer = new InsertCoalescer<{ pulls: PullEventRow[]; raws: RawEventRow[] }>('topic', {
        maxRows: 100,
        lingerMs: 10,
        stopping: () => false,
        onRetry: () => undefined,
        backoff: new BackoffPolicy({ baseMs: 1, maxMs: 1, sleep: async () => undefined }),
        async write(token, slices) {
          tokens.push(token);
          await store.writeBatch(
            token,
            slices.map((x) => PULL_EVENT_FORMAT.block(x.rows.pulls)),
            slices.map((x) => RAW_EVENT_FORMAT.block(x.rows.raws)),
            [],
          );
          // The first insert lands but its answer is lost: the coalescer retries the same block.
          if (ackLost) {
            ackLost = false;
            throw new Error('connection reset after the insert');
          }
        },
      });
      const control: SliceControl = {
        heartbeat: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
        pause: () => undefined,
      };
      const slice = {
        partition: 0,
        firstOffset: '7',
        lastOffset: '7',
        rowCount: 2,
        rows: { pulls: [pull], raws: [raw] },
        control,
      };
      await coalescer.submit(slice);
      // A restart before the offset commit: the same offsets come again and form the same block.
      await coalescer.submit(slice);
      expect(tokens).toEqual(['topic:0:7-7', 'topic:0:7-7', 'topic:0:7-7']);
      expect(await scalar(`SELECT count() FROM ${database}.raw_events`)).toBe(1);
      expect(await scalar(`SELECT count() FROM ${database}.pull_events`)).toBe(1);
      expect(await scalar(`SELECT count() FROM ${database}.pull_failures`)).toBe(1);
      expect(await scalar(`SELECT sum(occurrences) FROM ${database}.pull_failures`)).toBe(3);
      expect(await scalar(`SELECT sum(failures) FROM ${database}.pull_stats_1m`)).toBe(3);
      expect(await scalar(`SELECT sum(failures) FROM ${database}.pull_stats_1h`)).toBe(3);
      // Why the tables carry a window: a plain MergeTree keeps none, so the same retry counts twice there.
      await admin.command({ query: `CREATE TABLE ${database}.plain (n UInt32) ENGINE = MergeTree ORDER BY n` });
      for (let i = 0; i < 2; i++)
        await admin.insert({
          table: `${database}.plain`,
          values: [{ n: 3 }],
          format: 'JSONEachRow',
          clickhouse_settings: { async_insert: 0, insert_deduplicate: 1, insert_deduplication_token: 'same' },
        });
      expect(await scalar(`SELECT sum(n) FROM ${database}.plain`)).toBe(6);
    },
  );
});
