import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClickHouseClient, createClickHouse } from '@pullwatch/clickhouse';
import { type EngineEndpoints, LocalEngines, loadEnginesConfig, repoRoot, resolveEndpoints } from '@pullwatch/engines';
import { makeEvents } from './ingest.ts';
import { cpuMeter, freePort, peakRss, sleep, stop } from './support.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

/**
 * The peer an SRE team would otherwise deploy for "events → Kafka → ClickHouse": the OpenTelemetry
 * Collector (contrib), as two collectors — A: otlp receiver → batch → kafka exporter; B: kafka receiver →
 * batch → clickhouse exporter (its default otel_logs table) — fed OTLP/HTTP log records that carry the same
 * Event JSON as pullwatch's bench, with `k8s.cluster.name`. Built once with the Collector Builder into
 * .pullwatch/otelcol (Go from the module proxy); without Go the suite says so and measures nothing.
 */
const BUILDER = 'go.opentelemetry.io/collector/cmd/builder@v0.165.0';
const manifest = join(repoRoot, 'bench/otel/builder-manifest.yaml');
const RECORDS_PER_REQUEST = 1000;
const SENDERS = 4;
const PARTITIONS = 6;

export interface PeerRun {
  sent: number;
  rows: number;
  distinct: number;
  eventsPerSecond: number;
  cpuMicrosPerEvent: Record<'collector A' | 'collector B' | 'kafka' | 'clickhouse', number>;
  peakRss: { a: number; b: number };
}

/** The collector binary, built on first use; null (with the reason) when it cannot be built here. */
export function ensureOtelCollector(log: (l: string) => void): { binary: string } | { missing: string } {
  const home = process.env.PULLWATCH_HOME ?? join(repoRoot, '.pullwatch');
  const dir = join(home, 'otelcol');
  const binary = join(dir, 'build', 'otelcol-pullwatch-peer');
  if (existsSync(binary)) return { binary };
  if (spawnSync('go', ['version']).status !== 0) return { missing: 'Go is not installed (apt-get install golang)' };
  mkdirSync(dir, { recursive: true });
  const gobin = join(dir, 'bin');
  log(`building the OpenTelemetry Collector peer (once, ~2 min): ${BUILDER}`);
  const install = spawnSync('go', ['install', BUILDER], { env: { ...process.env, GOBIN: gobin }, stdio: 'inherit' });
  if (install.status !== 0) return { missing: `go install ${BUILDER} failed (exit ${install.status})` };
  copyFileSync(manifest, join(dir, 'manifest.yaml'));
  const build = spawnSync(join(gobin, 'builder'), ['--config', 'manifest.yaml'], { cwd: dir, stdio: 'inherit' });
  if (build.status !== 0 || !existsSync(binary))
    return { missing: `the Collector Builder failed (exit ${build.status})` };
  return { binary };
}

function collectorA(port: number, brokers: string[], topic: string): string {
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 1024
    spike_limit_mib: 256
  batch: {}
exporters:
  kafka:
    brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
    logs:
      topic: ${topic}
      encoding: otlp_proto
    producer:
      max_message_bytes: 8000000
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [kafka]
`;
}

function collectorB(e: EngineEndpoints, topic: string, database: string): string {
  return `
receivers:
  kafka:
    brokers: [${e.kafka.brokers.map((b) => `"${b}"`).join(', ')}]
    logs:
      topics: [${topic}]
      encoding: otlp_proto
    group_id: ${topic}_g
    initial_offset: earliest
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 1024
    spike_limit_mib: 256
  batch: {}
exporters:
  clickhouse:
    endpoint: ${e.clickhouse.url}
    username: ${e.clickhouse.user}
    password: "${e.clickhouse.password}"
    database: ${database}
    create_schema: true
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [kafka]
      processors: [memory_limiter, batch]
      exporters: [clickhouse]
`;
}

function startCollector(binary: string, dir: string, name: string, config: string): ChildProcess {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, config);
  return spawn(binary, ['--config', file], { stdio: ['ignore', 'ignore', 'ignore'] });
}

/** OTLP/HTTP JSON requests of `RECORDS_PER_REQUEST` log records, one resource per cluster. */
function otlpRequests(events: ReturnType<typeof makeEvents>): string[] {
  const out: string[] = [];
  for (let i = 0; i < events.length; i += RECORDS_PER_REQUEST) {
    const byCluster = new Map<string, unknown[]>();
    const now = `${Date.now()}000000`;
    for (const ev of events.slice(i, i + RECORDS_PER_REQUEST)) {
      const records = byCluster.get(ev.cluster) ?? byCluster.set(ev.cluster, []).get(ev.cluster)!;
      records.push({ observedTimeUnixNano: now, body: { stringValue: JSON.stringify(ev.event) } });
    }
    out.push(
      JSON.stringify({
        resourceLogs: [...byCluster].map(([cluster, logRecords]) => ({
          resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: cluster } }] },
          scopeLogs: [{ logRecords }],
        })),
      }),
    );
  }
  return out;
}

async function counts(ch: ClickHouseClient, table: string): Promise<{ rows: number; distinct: number }> {
  const rs = await ch.query({
    query: `SELECT count() AS rows, uniqExact(Body) AS distinct FROM ${table}`,
    format: 'JSONEachRow',
  });
  const r = (await rs.json<{ rows: string; distinct: string }>())[0];
  return { rows: Number(r?.rows ?? 0), distinct: Number(r?.distinct ?? 0) };
}

async function createTopic(e: EngineEndpoints, topic: string): Promise<void> {
  const { ensureTopics } = await import('@pullwatch/kafka');
  const { createLogger } = await import('@pullwatch/telemetry');
  const kafka = {
    brokers: e.kafka.brokers,
    clientId: 'bench-otel',
    logger: createLogger('bench', 'warn'),
  };
  await ensureTopics(kafka, [{ topic, numPartitions: PARTITIONS }]);
}

/** One run of the peer on `events`; the rows are counted until they stop growing (the peer may lose some). */
export async function runPeer(
  binary: string,
  e: EngineEndpoints,
  events: ReturnType<typeof makeEvents>,
  pids: { kafka: number | null; clickhouse: number | null },
  log: (l: string) => void,
): Promise<PeerRun> {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const topic = `bench_otel_${id}`;
  const database = `bench_otel_${id}`;
  const dir = join(repoRoot, '.pullwatch', 'otelcol', 'runs');
  mkdirSync(dir, { recursive: true });
  const admin = createClickHouse({ ...e.clickhouse, requestTimeoutMs: 600_000 });
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await createTopic(e, topic);
  const port = await freePort();
  const a = startCollector(binary, dir, `a-${id}`, collectorA(port, e.kafka.brokers, topic));
  const b = startCollector(binary, dir, `b-${id}`, collectorB(e, topic, database));
  try {
    const url = `http://127.0.0.1:${port}/v1/logs`;
    for (let i = 0; ; i++) {
      const up = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (i > 300) throw new Error('the OpenTelemetry Collector A did not start');
      await sleep(100);
    }
    const requests = otlpRequests(events);
    const cpu = cpuMeter({
      'collector A': a.pid,
      'collector B': b.pid,
      kafka: pids.kafka,
      clickhouse: pids.clickhouse,
    });
    const t0 = Date.now();
    let next = 0;
    const sender = async () => {
      while (next < requests.length) {
        const body = requests[next++]!;
        for (;;) {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          if (res.ok) break;
          await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    log(`peer: ${events.length} records accepted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Rows until all arrived, or until the count has not moved for 20 s (what the peer lost stays lost).
    const table = `${database}.otel_logs`;
    let last = { rows: -1, distinct: -1 };
    let lastChange = Date.now();
    let done = Date.now();
    for (;;) {
      const c = await counts(admin, table).catch(() => ({ rows: 0, distinct: 0 }));
      if (c.rows !== last.rows) {
        last = c;
        lastChange = done = Date.now();
      }
      if (c.distinct >= events.length || Date.now() - lastChange > 20_000) break;
      await sleep(200);
    }
    const cpuMicrosPerEvent = cpu(events.length);
    return {
      sent: events.length,
      rows: last.rows,
      distinct: last.distinct,
      eventsPerSecond: last.distinct / ((done - t0) / 1000),
      cpuMicrosPerEvent,
      peakRss: { a: peakRss(a.pid), b: peakRss(b.pid) },
    };
  } finally {
    await stop(a);
    await stop(b);
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await admin.close();
  }
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const name = 'OpenTelemetry Collector peer (otlp → kafka → clickhouse)';
  const built = ensureOtelCollector(ctx.log);
  if ('missing' in built) {
    return { name, figures: [], notes: [`Not measured: ${built.missing}.`] };
  }
  const engines = loadEnginesConfig();
  const e = resolveEndpoints(engines);
  const status = engines.mode === 'local' ? await new LocalEngines(engines).status() : null;
  const pids = { kafka: status?.kafka.pid ?? null, clickhouse: status?.clickhouse.pid ?? null };
  const events = makeEvents(ctx.scale.events, Math.min(ctx.scale.clusters, 50));
  ctx.log(`peer with ${events.length} records, ${PARTITIONS} partitions, ${SENDERS} senders`);
  const r = await runPeer(built.binary, e, events, pids, ctx.log);
  const figures: BenchFigure[] = [
    { metric: 'peer end to end (distinct rows stored per second)', value: r.eventsPerSecond, unit: 'events/s' },
    { metric: 'peer records sent', value: r.sent, unit: 'records' },
    { metric: 'peer rows stored', value: r.rows, unit: 'rows' },
    { metric: 'peer distinct rows stored', value: r.distinct, unit: 'rows' },
    { metric: 'peer records lost', value: r.sent - r.distinct, unit: 'records' },
    { metric: 'peer rows duplicated', value: r.rows - r.distinct, unit: 'rows' },
    ...Object.entries(r.cpuMicrosPerEvent).map(([proc, us]) => ({
      metric: `peer CPU per event: ${proc}`,
      value: us,
      unit: 'µs',
    })),
    { metric: 'peer peak RSS collector A', value: r.peakRss.a / 2 ** 20, unit: 'MiB' },
    { metric: 'peer peak RSS collector B', value: r.peakRss.b / 2 ** 20, unit: 'MiB' },
  ];
  const pullwatch = ctx.previous
    ?.flatMap((s) => s.figures)
    .find((f) => f.metric === 'end to end: HTTP ingest → queryable in ClickHouse');
  if (pullwatch) {
    figures.unshift({
      metric: 'pullwatch end to end vs the peer',
      value: pullwatch.value,
      unit: 'events/s',
      baseline: { name: 'OpenTelemetry Collector peer', value: r.eventsPerSecond },
      ratio: pullwatch.value / r.eventsPerSecond,
      target: '≥ 0.75×, with exact counts',
    });
  }
  return {
    name,
    figures,
    notes: [
      `Built from bench/otel/builder-manifest.yaml (contrib v0.165.1) into .pullwatch/otelcol; collector A and ` +
        `B as two processes, memory_limiter and batch with their usual settings, the Kafka exporter's ` +
        `max_message_bytes raised to 8 MB.`,
      'The peer stores the records as they come (otel_logs, no classification, no Pod state); its rate counts ' +
        'distinct rows, since it may store some records twice and lose others.',
    ],
  };
}
