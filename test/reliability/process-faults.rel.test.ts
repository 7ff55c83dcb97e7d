import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { repoRoot } from '@pullwatch/engines';
import { dedicatedClickHouse } from '../support/dedicated-clickhouse.ts';
import { freePort } from '../support/free-port.ts';
import { testEndpoints, uniqueName } from '../support/endpoints.ts';
import { until, untilValue } from '../support/until.ts';
import { report } from './report.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const endpoints = testEndpoints();
// Ports from the OS (port 0), not fixed ones.
const ch = dedicatedClickHouse(await freePort());
const topic = uniqueName('process_faults');
const database = uniqueName('process_faults');
const ingestPort = await freePort();
const analyzerMetricsPort = await freePort();
const children: ChildProcess[] = [];
const INGEST_TOKEN = 'process-faults-ingest-token';

/**
 * The collector and the analyzer as their own processes (as deployed), against the shared Kafka and this test's
 * ClickHouse.
 */
function service(name: 'collector' | 'analyzer'): ChildProcess {
  const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), name], {
    env: {
      ...process.env,
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      PULLWATCH_CLICKHOUSE_URL: ch.url,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '3',
      PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
      PULLWATCH_ANALYZER_SESSION_TIMEOUT_MS: '8000',
      PULLWATCH_ANALYZER_BATCH_MAX_WAIT_MS: '200',
      PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
      PULLWATCH_INGEST_PORT: String(ingestPort),
      PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
      PULLWATCH_ANALYZER_METRICS_PORT: String(analyzerMetricsPort),
      PULLWATCH_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const admin = () => createClickHouse({ url: ch.url, user: 'default', password: '' });

async function scalar(sql: string): Promise<number> {
  const client = admin();
  try {
    const rs = await client.query({ query: sql, format: 'JSONEachRow' });
    const [row] = await rs.json<Record<string, number | string>>();
    return Number(Object.values(row ?? { n: 0 })[0]);
  } finally {
    await client.close();
  }
}

/** Pod i's failure Event, observed at count `count`. */
const event = (i: number, count: number) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `e${i}`, namespace: 'shop', uid: `u-${i}` },
  involvedObject: { kind: 'Pod', name: `web-${i}`, namespace: 'shop', fieldPath: 'spec.containers{web}' },
  reason: 'Failed',
  message:
    `Failed to pull image "ghcr.io/acme/web:${i}": rpc error: code = Unknown desc = failed to pull and ` +
    `unpack image: unexpected status code 429 Too Many Requests`,
  count,
  lastTimestamp: new Date(Date.now() - 600_000 + count * 1000).toISOString(),
});

async function rows<T>(sql: string): Promise<T[]> {
  const client = admin();
  try {
    return await (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  } finally {
    await client.close();
  }
}

let retries = 0;
/**
 * A client that resends until the collector acknowledges: nothing it sent is lost, though a resend may
 * repeat. Bounded: past 120 s it fails with the last answer.
 */
async function send(events: unknown[]): Promise<void> {
  const end = Date.now() + 120_000;
  for (;;) {
    let last: string;
    try {
      const res = await fetch(`http://127.0.0.1:${ingestPort}/v1/k8s-events?cluster=eu`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}` },
        body: JSON.stringify(events),
        signal: AbortSignal.timeout(15_000),
      });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = String(err);
    }
    retries += 1;
    if (Date.now() > end) throw new Error(`not accepted in 120 s (${retries} resends in all); last: ${last}`);
    await sleep(300);
  }
}

/** Messages the running analyzer has not committed, over its partitions (from its /metrics); null if it does not answer. */
async function analyzerLag(): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${analyzerMetricsPort}/metrics`)).text();
    const lines = [...text.matchAll(/^pullwatch_analyzer_lag_messages\{[^}]*\} (\d+)$/gm)];
    return lines.length ? lines.reduce((a, m) => a + Number(m[1]), 0) : null;
  } catch {
    return null;
  }
}

beforeAll(async () => {
  await ch.clickhouse.up(() => undefined);
});

afterAll(async () => {
  for (const c of children) await kill(c);
  await ch.clickhouse.down();
  ch.cleanup();
});

describe('collector, analyzer and ClickHouse killed mid-stream', () => {
  it('end with exact counts: nothing lost, nothing counted twice', async () => {
    const pods = 300;
    const rounds = 4;
    let collector = service('collector');
    let analyzer = service('analyzer');
    const faults: string[] = [];
    const evidence: Record<string, number | null> = {};
    // Round 2: the collector is killed while requests are in flight (the sends go on beside the kill).
    const killCollector = async () => {
      await kill(collector);
      faults.push('collector SIGKILL');
      await sleep(500);
      collector = service('collector');
    };
    for (let count = 1; count <= rounds; count++) {
      const round = Array.from({ length: pods }, (_, i) => event(i, count));
      const retriesBefore = retries;
      let pending: Promise<void> | null = null;
      for (let i = 0; i < round.length; i += 25) {
        if (i === 100 && count === 2) pending = killCollector();
        if (i === 100 && count === 3) {
          // Round 3: the analyzer is killed with messages of this round on their way to it.
          evidence.analyzerLagAtKill = await analyzerLag();
          await kill(analyzer);
          faults.push('analyzer SIGKILL');
        }
        if (i === 100 && count === 4) {
          await ch.crash();
          faults.push('ClickHouse SIGKILL');
        }
        await send(round.slice(i, i + 25));
      }
      await pending;
      if (count === 2) evidence.resendsAfterCollectorKill = retries - retriesBefore;
      if (count === 3) {
        analyzer = service('analyzer');
        // Up and holding partitions before ClickHouse goes, or it would wait for ClickHouse to start at all.
        await untilValue(analyzerLag, 'the restarted analyzer to hold its partitions', 120_000);
      }
      if (count === 4) {
        // The rest of the round reached Kafka while ClickHouse was down: the analyzer cannot have committed it.
        evidence.analyzerLagWhileClickHouseDown = await untilValue(analyzerLag, 'the analyzer to report its lag');
        await ch.clickhouse.up(() => undefined);
        faults.push('ClickHouse restarted');
      }
    }
    // The faults landed where they were meant to: requests in flight resent, messages waiting in Kafka.
    expect(evidence.resendsAfterCollectorKill).toBeGreaterThan(0);
    expect(evidence.analyzerLagWhileClickHouseDown).toBeGreaterThan(0);
    const expected = pods * rounds;
    let lastError = '';
    const storedNow = () =>
      scalar(`SELECT sum(occurrences) FROM ${database}.pull_failures`).catch((err: unknown) => {
        lastError = String(err); // ClickHouse may still be starting: the deadline below bounds it
        return -1;
      });
    // Caught up: everything stored and committed, so nothing late can add a second count.
    await until(
      async () => (await storedNow()) >= expected && (await analyzerLag()) === 0,
      `every occurrence stored and the analyzer's lag at 0 (last error: ${lastError || 'none'})`,
      240_000,
      500,
    );
    const stored = await scalar(`SELECT sum(occurrences) FROM ${database}.pull_failures`);
    const storedPods = await scalar(`SELECT uniqExact(event_uid) FROM ${database}.pull_failures`);
    const observations = await scalar(`SELECT count() FROM ${database}.raw_events`);
    report('process kills (collector, analyzer, ClickHouse)', {
      podsSent: pods,
      occurrencesSent: expected,
      occurrencesStored: stored,
      observationsStored: observations,
      faultsInjected: faults.filter((f) => f.endsWith('SIGKILL')).length,
      clientRetries: retries,
      ...evidence,
    });
    expect(faults).toEqual(['collector SIGKILL', 'analyzer SIGKILL', 'ClickHouse SIGKILL', 'ClickHouse restarted']);
    expect(stored).toBe(expected);
    expect(storedPods).toBe(pods);
    // Resent requests may repeat observations in Kafka; the stored observations still cover every one sent.
    expect(observations).toBeGreaterThanOrEqual(expected);
    // The rows themselves: every observation sent (Pod i at count 1..rounds) counted exactly once, as one
    // occurrence in one pull_events row, and no Kafka message stored twice in either table.
    const counted = await rows<{
      uid: string;
      count: number | string;
      n: number | string;
      occ: number | string;
    }>(
      `SELECT event_uid AS uid, event_count AS count, count() AS n, sum(occurrences) AS occ
       FROM ${database}.pull_events WHERE occurrences > 0 GROUP BY uid, count ORDER BY uid, count`,
    );
    const want = Array.from({ length: pods }, (_, i) => Array.from({ length: rounds }, (_, c) => `u-${i}@${c + 1}:1x1`))
      .flat()
      .sort();
    expect(counted.map((r) => `${r.uid}@${Number(r.count)}:${Number(r.n)}x${Number(r.occ)}`).sort()).toEqual(want);
    for (const table of ['pull_events', 'raw_events']) {
      const [dup] = await rows<{ n: number | string; distinct: number | string }>(
        `SELECT count() AS n, uniqExact(kafka_partition, kafka_offset) AS distinct FROM ${database}.${table}`,
      );
      expect(Number(dup!.n), `${table}: a Kafka message stored twice`).toBe(Number(dup!.distinct));
    }
    // Every observation sent is among the stored raw ones (resends may add repeats, with distinct offsets).
    expect(await scalar(`SELECT uniqExact(event_uid, event_count) FROM ${database}.raw_events`)).toBe(expected);
    // The restarted analyzer reports what it stored to Prometheus.
    const scraped = await (await fetch(`http://127.0.0.1:${analyzerMetricsPort}/metrics`)).text();
    expect(
      Number(/^pullwatch_analyzer_messages_total\{outcome="stored",service="analyzer"\} (\d+)$/m.exec(scraped)?.[1]),
    ).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${analyzerMetricsPort}/healthz`)).json()).toEqual({ status: 'ok' });
  }, 420_000);
});
