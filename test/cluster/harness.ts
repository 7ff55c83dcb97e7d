import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { CLUSTER_NAME, LocalCluster, loadEnginesConfig, repoRoot } from '@pullwatch/engines';
import { groupCoordinator, partitionLeaders as leadersOf } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import { uniqueName } from '../support/endpoints.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cluster the project's global setup started (the same folder and ports), to read, kill and restart nodes. */
export function testCluster(): LocalCluster {
  return new LocalCluster(loadEnginesConfig({ ...process.env, ...inject('cluster').env }));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Waits until `probe` is true; fails with `what` and the last value seen. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await sleep(300);
  }
  throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(last)} ${lastErr ? String(lastErr) : ''}`);
}

/** SIGKILL a node's process (a crash: nothing flushed) and wait until it is gone. */
export async function crash(node: { status(): Promise<{ pid: number | null }> }): Promise<number> {
  const { pid } = await node.status();
  if (!pid) throw new Error('the node is not running');
  process.kill(pid, 'SIGKILL');
  await until(
    'the killed node to be gone',
    () => node.status(),
    (s) => s.pid === null,
    30_000,
  );
  return pid;
}

/**
 * One pipeline on the cluster topology: its own topic, group and database; the collector, analyzers
 * and query API as processes of their own (as deployed), through the `pullwatch` command and its
 * settings only, so nothing here depends on the Kafka client the services use.
 */
export class Pipeline {
  readonly cluster = testCluster();
  readonly topic = uniqueName('cl');
  readonly database = uniqueName('cl');
  readonly token = 'cluster-test-token';
  /** The collector's ingest token (every cluster). */
  readonly ingestToken = 'cluster-test-ingest-token';
  ingestPort = 0;
  apiPort = 0;
  private readonly children = new Map<string, ChildProcess>();

  constructor(private readonly opts: { partitions: number; incidentIntervalSeconds?: number }) {}

  get shards(): string[] {
    return this.cluster.endpoints().clickhouse.shards ?? [];
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const e = this.cluster.endpoints();
    return {
      ...process.env,
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: e.kafka.brokers.join(','),
      PULLWATCH_CLICKHOUSE_URL: e.clickhouse.url,
      PULLWATCH_CLICKHOUSE_CLUSTER: CLUSTER_NAME,
      PULLWATCH_CLICKHOUSE_REPLICATED: 'false',
      PULLWATCH_CLICKHOUSE_SHARDS: this.shards.join(','),
      PULLWATCH_CLICKHOUSE_DATABASE: this.database,
      PULLWATCH_TOPIC: this.topic,
      PULLWATCH_TOPIC_PARTITIONS: String(this.opts.partitions),
      PULLWATCH_DLQ_TOPIC: `${this.topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${this.topic}_g`,
      PULLWATCH_ANALYZER_SESSION_TIMEOUT_MS: '8000',
      PULLWATCH_ANALYZER_BATCH_MAX_WAIT_MS: '200',
      PULLWATCH_INCIDENT_INTERVAL_SECONDS: String(this.opts.incidentIntervalSeconds ?? 3600),
      PULLWATCH_API_TOKENS: this.token,
      PULLWATCH_INGEST_TOKEN: this.ingestToken,
      PULLWATCH_LOG_LEVEL: process.env.PULLWATCH_CLUSTER_LOG_LEVEL ?? 'error',
      ...extra,
    };
  }

  /** A service process under `name`; a second one under the same name replaces nothing (use stop first). */
  start(
    name: string,
    service: 'collector' | 'analyzer' | 'query-api',
    extra: Record<string, string> = {},
  ): ChildProcess {
    const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), service], {
      env: this.env(extra),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.children.set(name, child);
    return child;
  }

  async startCollector(extra: Record<string, string> = {}): Promise<void> {
    this.ingestPort ||= await freePort();
    this.start('collector', 'collector', { PULLWATCH_INGEST_PORT: String(this.ingestPort), ...extra });
    await until(
      'the collector to be ready',
      () => fetch(`http://127.0.0.1:${this.ingestPort}/readyz`).then((r) => r.status),
      (s) => s === 200,
    );
  }

  async startQueryApi(): Promise<void> {
    this.apiPort ||= await freePort();
    this.start('query-api', 'query-api', { PULLWATCH_API_PORT: String(this.apiPort) });
    await until(
      'the query API to be ready',
      () => fetch(`http://127.0.0.1:${this.apiPort}/healthz`).then((r) => r.status),
      (s) => s === 200,
    );
  }

  /**
   * An analyzer writing its event rows to shard `shard` (1-based), with a metrics port to watch it;
   * resolves once it migrated and started consuming (its metrics port is bound just before).
   */
  async startAnalyzer(name: string, shard: number): Promise<number> {
    const port = await freePort();
    const child = this.start(name, 'analyzer', {
      PULLWATCH_CLICKHOUSE_URL: this.shards[shard - 1]!,
      PULLWATCH_ANALYZER_METRICS_PORT: String(port),
      PULLWATCH_ANALYZER_METRICS_HOST: '127.0.0.1',
    });
    await until(
      `${name} to start`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
      },
      (s) => s === 200,
    );
    return port;
  }

  /** The process id of a running service. */
  pid(name: string): number {
    const pid = this.children.get(name)?.pid;
    if (pid === undefined) throw new Error(`${name} is not running`);
    return pid;
  }

  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.children.get(name);
    this.children.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.children.keys()]) await this.stop(name, 'SIGKILL');
  }

  /**
   * Posts until the collector accepts (honouring 503 + Retry-After): nothing sent is lost, a resend
   * may repeat. Returns the 503 answers it got. Only a 503 or a failed connection is retried, and only
   * for `withinMs`: any other status, or a collector that never accepts, fails the test with what it saw.
   */
  async send(
    cluster: string,
    events: unknown[],
    withinMs = 120_000,
  ): Promise<{ pushedBack: number; retryAfter: string[] }> {
    const seen = { pushedBack: 0, retryAfter: [] as string[] };
    const deadline = Date.now() + withinMs;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`http://127.0.0.1:${this.ingestPort}/v1/k8s-events?cluster=${cluster}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.ingestToken}` },
        body: JSON.stringify(events),
        signal: AbortSignal.timeout(20_000),
      }).catch((err: unknown) => {
        last = `no answer (${String(err)})`;
        return null;
      });
      if (res?.ok) return seen;
      if (res) {
        const body = await res.text();
        last = `${res.status} ${body.slice(0, 300)}`;
        if (res.status !== 503) throw new Error(`the collector refused ${events.length} events of ${cluster}: ${last}`);
        seen.pushedBack += 1;
        seen.retryAfter.push(res.headers.get('retry-after') ?? '');
      }
      if (Date.now() > deadline)
        throw new Error(
          `the collector did not accept ${events.length} events of ${cluster} within ${withinMs} ms ` +
            `(${attempt} attempts); last: ${last}`,
        );
      await sleep(Math.min(2000, Number(res?.headers.get('retry-after') ?? 1) * 300));
    }
  }

  async api<T>(path: string): Promise<{ status: number; body: T }> {
    const res = await fetch(`http://127.0.0.1:${this.apiPort}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  /** A number from SQL on shard `shard` (1-based): `_all` tables there see the whole fleet. */
  async scalar(sql: string, shard = 1): Promise<number> {
    const client = createClickHouse({ url: this.shards[shard - 1]!, user: 'default', password: '' });
    try {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      const [row] = await rs.json<Record<string, number | string>>();
      return Number(Object.values(row ?? { n: 0 })[0]);
    } finally {
      await client.close();
    }
  }

  async rows<T>(sql: string, shard = 1): Promise<T[]> {
    const client = createClickHouse({ url: this.shards[shard - 1]!, user: 'default', password: '' });
    try {
      return await (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
    } finally {
      await client.close();
    }
  }

  async dropDatabase(): Promise<void> {
    for (let s = 1; s <= this.shards.length; s++)
      await this.scalar(`DROP DATABASE IF EXISTS ${this.database}`, s).catch(() => undefined);
  }
}

/** The partitions an analyzer has stored slices of (its lag gauge's labels) and its stored-message count. */
export async function analyzerMetrics(port: number): Promise<{ partitions: number[]; stored: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const partitions = [...text.matchAll(/^pullwatch_analyzer_lag_messages\{partition="(\d+)"[^}]*\} /gm)].map((m) =>
    Number(m[1]),
  );
  const stored = Number(
    /^pullwatch_analyzer_messages_total\{outcome="stored"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? Number.NaN,
  );
  return { partitions: partitions.sort((a, b) => a - b), stored: Number.isNaN(stored) ? 0 : stored };
}

/** Pod i of cluster c failing to pull from ghcr.io (rate limited), observed at count `count`. */
export function failure(cluster: string, i: number, count: number, baseMs: number) {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `e${i}`, namespace: 'shop', uid: `${cluster}-u-${i}` },
    involvedObject: { kind: 'Pod', name: `web-${i}`, namespace: 'shop', fieldPath: 'spec.containers{web}' },
    reason: 'Failed',
    message:
      `Failed to pull image "ghcr.io/acme/web:${i}": rpc error: code = Unknown desc = failed to pull ` +
      `and unpack image: unexpected status code 429 Too Many Requests`,
    count,
    firstTimestamp: new Date(baseMs).toISOString(),
    lastTimestamp: new Date(baseMs + count * 1000).toISOString(),
  };
}

/**
 * Partition leaders of a topic: partition → leader node id (-1 when it has none). The one place the
 * cluster tests use a Kafka client (packages/kafka's), so a client change touches only this function.
 */
export async function partitionLeaders(brokers: string[], topic: string): Promise<Map<number, number>> {
  return leadersOf({ brokers, clientId: 'cluster-test', logger: createLogger('cluster-test', 'silent') }, topic);
}

/** The broker coordinating a consumer group now. */
export async function coordinatorOf(brokers: string[], groupId: string): Promise<number> {
  return groupCoordinator(
    { brokers, clientId: 'cluster-test', logger: createLogger('cluster-test', 'silent') },
    groupId,
  );
}
