import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadAnalyzerConfig } from '@pullwatch/analyzer';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createCollector, loadCollectorConfig, type Collector } from '@pullwatch/collector';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { dedicatedKafka } from '../support/dedicated-kafka.ts';
import { freePort } from '../support/free-port.ts';
import { testEndpoints, uniqueName } from '../support/endpoints.ts';
import { until } from '../support/until.ts';
import { report } from './report.ts';

const logger = createLogger('broker-restart', 'silent');
const broker = dedicatedKafka(await freePort(), await freePort());
const kafka = { brokers: broker.brokers, clientId: 'broker-restart', logger };
const endpoints = testEndpoints();
const admin = createClickHouse({ ...endpoints.clickhouse });
const database = uniqueName('broker_restart');
const topic = uniqueName('broker_restart');
let collector: Collector;
let analyzer: ReturnType<typeof createAnalyzer>;
const analyzerMetrics = createMetricsRegistry('br-a');

/** Pod i's failure Event, observed at count `count`. */
const event = (i: number, count: number) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `e${i}`, namespace: 'shop', uid: `u-${i}` },
  involvedObject: { kind: 'Pod', name: `web-${i}`, namespace: 'shop', fieldPath: 'spec.containers{web}' },
  reason: 'Failed',
  message: `Failed to pull image "ghcr.io/acme/web:${i}": rpc error: code = NotFound desc = not found`,
  count,
  lastTimestamp: new Date(Date.now() - 600_000 + count * 1000).toISOString(),
});

const INGEST_TOKEN = 'broker-restart-ingest-token';

const post = (events: unknown[]) =>
  fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=eu`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_TOKEN}` },
    body: JSON.stringify(events),
  });

/**
 * A client that honours 503 + Retry-After: nothing it sent is lost, though a retry may repeat. Bounded:
 * past 120 s it fails with the last answer, and any answer but 200 or 503 fails at once.
 */
async function send(events: unknown[]): Promise<number> {
  const end = Date.now() + 120_000;
  for (let retries = 0; ; retries++) {
    let last: string;
    try {
      const res = await post(events);
      if (res.ok) return retries;
      if (res.status !== 503) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
      last = `503 ${await res.text()}`;
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 500));
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('collector answered')) throw err;
      last = String(err);
      await new Promise((r) => setTimeout(r, 500));
    }
    if (Date.now() > end) throw new Error(`not accepted after ${retries + 1} attempts in 120 s; last: ${last}`);
  }
}

beforeAll(async () => {
  await broker.kafka.up(() => undefined);
  await migrate(admin, { database, ttlDays: 90 });
  collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '3',
      PULLWATCH_PRODUCE_TIMEOUT_MS: '3000',
    }),
    { logger, metrics: createMetricsRegistry('br-c'), kafka },
  );
  await collector.start();
  analyzer = createAnalyzer(
    loadAnalyzerConfig({
      PULLWATCH_TOPIC: topic,
      PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
    }),
    {
      logger,
      metrics: analyzerMetrics,
      kafka,
      clickhouse: createClickHouse({ ...endpoints.clickhouse }),
    },
  );
  await analyzer.start();
});

afterAll(async () => {
  await analyzer.stop().catch(() => undefined);
  await collector.stop().catch(() => undefined);
  await broker.kafka.down();
  broker.cleanup();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
});

describe('Kafka broker stopped and restarted mid-stream', () => {
  it('loses no event and counts none twice', async () => {
    const pods = 200;
    let retries = 0;
    let refusedWhileDown = 0;
    // Counts 1..3 for every Pod, the broker going down after the first round and back during the second.
    for (let count = 1; count <= 3; count++) {
      const round = Array.from({ length: pods }, (_, i) => event(i, count));
      let restarted: Promise<unknown> | null = null;
      if (count === 2) {
        await broker.kafka.down();
        // The fault has landed: the collector refuses while the broker is away (nothing of it accepted)…
        const refused = await post(round.slice(0, 50));
        expect(refused.status).toBe(503);
        refusedWhileDown += 1;
        // …and the broker comes back while the round is being retried.
        restarted = broker.kafka.up(() => undefined);
      }
      for (let i = 0; i < round.length; i += 50) retries += await send(round.slice(i, i + 50));
      await restarted;
    }
    const expected = pods * 3;
    const sumOf = async (query: string) => {
      const rs = await admin.query({ query, format: 'JSONEachRow' });
      return Number(Object.values((await rs.json<Record<string, number>>())[0] ?? {})[0] ?? 0);
    };
    const lag = async () => {
      const m = await analyzerMetrics.getSingleMetric('pullwatch_analyzer_lag_messages')?.get();
      return m?.values.length ? m.values.reduce((a, v) => a + v.value, 0) : Number.NaN;
    };
    // Everything consumed and committed (no message behind on any partition), and stored: nothing can
    // still be on its way to add a second count.
    await until(
      async () =>
        (await lag()) === 0 && (await sumOf(`SELECT sum(occurrences) FROM ${database}.pull_failures`)) >= expected,
      'the analyzer to catch up and store every occurrence',
      180_000,
      500,
    );
    const rs = await admin.query({
      query: `SELECT sum(occurrences) AS n, uniqExact(event_uid) AS pods FROM ${database}.pull_failures`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: number; pods: number }>();
    report('Kafka broker restart', {
      podsSent: pods,
      occurrencesSent: expected,
      occurrencesStored: Number(row!.n),
      requestsRefusedWhileDown: refusedWhileDown,
      clientRetries: retries,
    });
    expect(Number(row!.n)).toBe(expected);
    expect(Number(row!.pods)).toBe(pods);
  }, 300_000);
});
