import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createKafka, ensureTopics } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { loadAnalyzerConfig } from './config.ts';
import { createAnalyzer, type Analyzer } from './analyzer.ts';

const endpoints = testEndpoints();
const logger = createLogger('analyzer-test', 'silent');
const kafka = createKafka({ brokers: endpoints.kafka.brokers, clientId: 'analyzer-test', logger });
const database = uniqueName('analyzer_it');
const topic = uniqueName('analyzer_it');
const dlqTopic = uniqueName('analyzer_dlq');
const admin = createClickHouse({ ...endpoints.clickhouse });

const minutesAgo = (m: number, s = 0) => new Date(Date.now() - m * 60_000 + s * 1000).toISOString();
function event(cluster: string, pod: string, uid: string, reason: string, message: string, count: number, at: string) {
  return eventEnvelope({
    cluster,
    source: 'http',
    event: K8sEventSchema.parse({
      metadata: { uid, name: `${pod}.${uid}`, namespace: 'shop', resourceVersion: String(count) },
      involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{app}' },
      reason,
      message,
      count,
      firstTimestamp: minutesAgo(20),
      lastTimestamp: at,
      source: { host: `${cluster}-node` },
    }),
  });
}
const outage = (img: string) =>
  `Failed to pull image "${img}": rpc error: code = Unknown desc = failed to pull and unpack image "${img}": failed to resolve reference "${img}": unexpected status from HEAD request to https://quay.io/v2/acme/x/manifests/1: 503 Service Unavailable`;

async function produce(messages: { key: string; value: string }[]) {
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, acks: -1, messages });
  await p.disconnect();
}

async function query<T>(sql: string): Promise<T[]> {
  const rs = await admin.query({ query: sql, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function until(check: () => Promise<boolean>, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function analyzer(): Analyzer {
  const cfg = loadAnalyzerConfig({
    PULLWATCH_TOPIC: topic,
    PULLWATCH_DLQ_TOPIC: dlqTopic,
    PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
    PULLWATCH_CLICKHOUSE_DATABASE: database,
    PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
    // Small slices: one fetch becomes several inserts and commits, and the counts must still be exact.
    PULLWATCH_ANALYZER_BATCH_MAX_ROWS: '4',
  });
  return createAnalyzer(cfg, {
    logger,
    metrics: createMetricsRegistry('analyzer-test'),
    kafka,
    clickhouse: createClickHouse({ ...endpoints.clickhouse }),
  });
}

describe('analyzer against the real Kafka and ClickHouse', () => {
  const running: Analyzer[] = [];
  beforeAll(async () => {
    await migrate(admin, { database, ttlDays: 90 });
    await ensureTopics(kafka, [
      { topic, numPartitions: 3 },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    // Two instances in one group share the partitions.
    running.push(analyzer(), analyzer());
    await Promise.all(running.map((a) => a.start()));
  });
  afterAll(async () => {
    await Promise.all(running.map((a) => a.stop()));
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  });

  it('counts occurrences exactly under aggregation and replays, across clusters, and finds one fleet incident', async () => {
    const msgs: { key: string; value: string }[] = [];
    const add = (e: ReturnType<typeof event>) => msgs.push({ key: e.key, value: JSON.stringify(e.envelope) });
    for (const [i, cluster] of ['eu-1', 'us-1', 'ap-1'].entries()) {
      // One aggregated Event whose count grows 1 → 2 → 5, each observation sent three times.
      for (const count of [1, 2, 5])
        for (let r = 0; r < 3; r++)
          add(
            event(
              cluster,
              `web-${i}`,
              `u-${cluster}`,
              'Failed',
              outage('quay.io/acme/x:1'),
              count,
              minutesAgo(6 - count, i),
            ),
          );
      add(event(cluster, `web-${i}`, `s-${cluster}`, 'Failed', 'Error: ErrImagePull', 5, minutesAgo(1)));
      add(
        event(
          cluster,
          `web-${i}`,
          `b-${cluster}`,
          'BackOff',
          'Back-off pulling image "quay.io/acme/x:1"',
          4,
          minutesAgo(1),
        ),
      );
    }
    add(
      event(
        'eu-1',
        'ok-1',
        'p-1',
        'Pulled',
        'Successfully pulled image "nginx:1.27" in 1.5s (1.5s including waiting). Image size: 5000 bytes.',
        1,
        minutesAgo(2),
      ),
    );
    msgs.push({ key: 'poison', value: '{"this is": "not an envelope"' });
    await produce(msgs);

    await until(
      async () =>
        Number((await query<{ n: number }>(`SELECT count() AS n FROM ${database}.raw_events`))[0]?.n) >=
        msgs.length - 1,
      'all messages stored',
    );
    const failures = await query<{ cluster: string; n: number; attributed: number }>(
      `SELECT cluster, sum(occurrences) AS n FROM ${database}.pull_failures GROUP BY cluster ORDER BY cluster`,
    );
    expect(failures.map((r) => [r.cluster, Number(r.n)])).toEqual([
      ['ap-1', 5],
      ['eu-1', 5],
      ['us-1', 5],
    ]);
    const stats = await query<{ cause: string; failures: number; successes: number }>(
      `SELECT cause, sum(failures) AS failures, sum(successes) AS successes FROM ${database}.pull_stats_1m GROUP BY cause ORDER BY cause`,
    );
    expect(stats.map((r) => [r.cause, Number(r.failures), Number(r.successes)])).toEqual([
      ['', 0, 1],
      ['registry_unavailable', 15, 0],
    ]);
    const attributed = await query<{ n: number }>(
      `SELECT count() AS n FROM ${database}.pull_events WHERE outcome = 'state' AND attributed = 1 AND cause = 'registry_unavailable'`,
    );
    expect(Number(attributed[0]!.n)).toBe(6);
    const pods = await query<{ attempts: number; status: string }>(
      `SELECT attempts, status FROM ${database}.pod_pull_state FINAL WHERE pod LIKE 'web-%'`,
    );
    expect(pods.map((p) => Number(p.attempts))).toEqual([5, 5, 5]);

    await Promise.all(running.map((a) => a.correlateNow()));
    const incidents = await query<{ scope: string; clusters: string[]; failures: number; status: string }>(
      `SELECT scope, clusters, failures, status FROM ${database}.incidents FINAL`,
    );
    expect(incidents).toEqual([{ scope: 'fleet', clusters: ['ap-1', 'eu-1', 'us-1'], failures: 15, status: 'open' }]);
  });

  it('sends a poison message to the dead-letter topic with its error', async () => {
    const consumer = kafka.consumer({ groupId: uniqueName('dlq') });
    await consumer.connect();
    await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
    const got = await new Promise<{ value: string; error: string }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) =>
          resolve({ value: message.value!.toString(), error: message.headers!['pullwatch-error']!.toString() }),
      });
    });
    await consumer.disconnect();
    expect(got.value).toBe('{"this is": "not an envelope"');
    expect(got.error).toMatch(/JSON/);
    expect(running.reduce((n, a) => n + a.stats().deadLettered, 0)).toBe(1);
  });
});
