import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadAnalyzerConfig } from '@pullwatch/analyzer';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createCollector, loadCollectorConfig, type Collector } from '@pullwatch/collector';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { dedicatedKafka } from '../support/dedicated-kafka.ts';
import { freePort } from '../support/free-port.ts';
import { testEndpoints, uniqueName } from '../support/endpoints.ts';
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

async function send(events: unknown[]): Promise<number> {
  // A client that honours 503 + Retry-After: nothing it sent is lost, though a retry may repeat.
  for (let retries = 0; ; retries++) {
    const res = await fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=eu`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}` },
      body: JSON.stringify(events),
    }).catch(() => null);
    if (res?.ok) return retries;
    await new Promise((r) => setTimeout(r, Number(res?.headers.get('retry-after') ?? 1) * 500));
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
      metrics: createMetricsRegistry('br-a'),
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
    // Counts 1..3 for every Pod, the broker going down after the first round and back during the second.
    for (let count = 1; count <= 3; count++) {
      const round = Array.from({ length: pods }, (_, i) => event(i, count));
      if (count === 2) {
        await broker.kafka.down();
        setTimeout(() => void broker.kafka.up(() => undefined), 3000);
      }
      for (let i = 0; i < round.length; i += 50) retries += await send(round.slice(i, i + 50));
    }
    const expected = pods * 3;
    const end = Date.now() + 180_000;
    let stored = 0;
    while (Date.now() < end) {
      const rs = await admin.query({
        query: `SELECT sum(occurrences) AS n FROM ${database}.pull_failures`,
        format: 'JSONEachRow',
      });
      stored = Number((await rs.json<{ n: number }>())[0]?.n ?? 0);
      if (stored >= expected) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const rs = await admin.query({
      query: `SELECT sum(occurrences) AS n, uniqExact(event_uid) AS pods FROM ${database}.pull_failures`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: number; pods: number }>();
    report('Kafka broker restart', {
      podsSent: pods,
      occurrencesSent: expected,
      occurrencesStored: Number(row!.n),
      faultsInjected: 1,
      clientRetries: retries,
    });
    expect(Number(row!.n)).toBe(expected);
    expect(Number(row!.pods)).toBe(pods);
  }, 300_000);
});
