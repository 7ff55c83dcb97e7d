import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { repoRoot } from '@pullwatch/engines';
import { createProducer, ensureTopics } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';
import { loadAnalyzerConfig } from './config.ts';
import { createAnalyzer } from './analyzer.ts';

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
          message: `Failed to pull image "ghcr.io/acme/app-${p % 7}:1": rpc error: code = NotFound desc = failed to resolve reference: not found`,
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

async function until(check: () => Promise<boolean>, what: string, ms = 180_000, everyMs = 300) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
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
      const child = spawn(process.execPath, [join(repoRoot, 'packages/cli/bin/pullwatch.js'), 'analyzer'], {
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
      await until(
        async () => (await scalar(`SELECT count() FROM ${database}.raw_events`)) >= messages.length,
        'all messages stored',
      );
      await new Promise((r) => setTimeout(r, 1500));
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
    const analyzer = createAnalyzer(
      loadAnalyzerConfig({
        PULLWATCH_TOPIC: topic,
        PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
        PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
        PULLWATCH_CLICKHOUSE_DATABASE: database,
        PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
      }),
      {
        logger,
        metrics: createMetricsRegistry('faults'),
        kafka,
        clickhouse: createClickHouse({
          ...endpoints.clickhouse,
          url: `http://127.0.0.1:${proxy.port}`,
          requestTimeoutMs: 3000,
        }),
      },
    );
    await analyzer.start();
    try {
      const first = workload(50, 2);
      await produce(topic, first.slice(0, 100));
      await until(
        async () => (await scalar(`SELECT count() FROM ${database}.raw_events`)) === 100,
        'first part stored',
      );
      await proxy.cut();
      await produce(topic, first.slice(100));
      await new Promise((r) => setTimeout(r, 4000));
      expect(await scalar(`SELECT count() FROM ${database}.raw_events`)).toBe(100); // nothing can be written meanwhile
      await proxy.restore();
      await until(
        async () => (await scalar(`SELECT count() FROM ${database}.raw_events`)) === first.length,
        'the rest stored after ClickHouse came back',
      );
      expect(await scalar(`SELECT sum(occurrences) FROM ${database}.pull_failures`)).toBe(100); // 50 Pods × count 2
    } finally {
      await analyzer.stop();
      await proxy.cut();
    }
  }, 180_000);

  it("drops a re-inserted batch, materialized views included, thanks to the tables' dedup windows", async () => {
    const { database } = await setup(1);
    const row = {
      event_time: '2026-11-24 10:00:00.000',
      first_time: '2026-11-24 10:00:00.000',
      received_at: '2026-11-24 10:00:00.000',
      cluster: 'c',
      namespace: 'n',
      pod: 'p',
      container: 'c',
      node: '',
      outcome: 'failure',
      event_kind: 'failed_pull',
      occurrences: 3,
      image: 'i',
      registry: 'r',
      provider: 'self_hosted',
      repository: '',
      tag: '',
      digest: '',
      tag_kind: '',
      cause: 'not_found',
      subcause: '',
      attributed: 0,
      retryable: 0,
      hint: '',
      message: '',
      pull_duration_ms: 0,
      image_size_bytes: 0,
      image_pull_policy: '',
      has_pull_secrets: -1,
      event_uid: 'u',
      event_count: 3,
      identity: 'x',
      kafka_partition: 0,
      kafka_offset: 7,
    };
    const analyzerSettings = {
      async_insert: 0 as const,
      insert_deduplicate: 1 as const,
      deduplicate_blocks_in_dependent_materialized_views: 1 as const,
      insert_deduplication_token: 'topic:0:7-7:pull',
    };
    for (let i = 0; i < 2; i++)
      await admin.insert({
        table: `${database}.pull_events`,
        values: [row],
        format: 'JSONEachRow',
        clickhouse_settings: analyzerSettings,
      });
    expect(await scalar(`SELECT sum(occurrences) FROM ${database}.pull_failures`)).toBe(3);
    expect(await scalar(`SELECT sum(failures) FROM ${database}.pull_stats_1m`)).toBe(3);
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
  });
});
