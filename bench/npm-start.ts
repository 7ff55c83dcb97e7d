import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, createClickHouse } from '@pullwatch/clickhouse';
import { type EngineEndpoints, LocalEngines, loadEnginesConfig, repoRoot, resolveEndpoints } from '@pullwatch/engines';
import { BATCH_EVENTS, type EventSeries, ingestBatches, makeEvents, newSeries, postBatches } from './ingest.ts';
import { cpuSeconds, freePort, peakRss, sleep } from './support.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

/**
 * `npm start -- --no-simulate` as a new user runs it (every service a process of its own), fed through
 * the HTTP ingest, against a zero-processing copy of the same events with kcat: produce them to a topic,
 * consume them into the same ClickHouse as JSON strings.
 */
const SENDERS = 4;
const PARTITIONS = 6;

async function count(ch: ClickHouseClient, sql: string): Promise<number> {
  const rs = await ch.query({ query: sql, format: 'JSONEachRow' });
  return Number(Object.values((await rs.json<Record<string, string>>())[0] ?? { n: 0 })[0]);
}

async function until(ch: ClickHouseClient, sql: string, n: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await count(ch, sql).catch(() => 0);
    if (c >= n) return Date.now();
    if (Date.now() > end) throw new Error(`timed out at ${c} of ${n}: ${sql}`);
    await sleep(100);
  }
}

/** The processes a `pullwatch start` runs: itself and its service children, by name. */
function processTree(root: number): Record<string, number> {
  const out: Record<string, number> = { start: root };
  const children = readFileSync(`/proc/${root}/task/${root}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const pid of children.map(Number)) {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const service = args.find((a) => ['collector', 'analyzer', 'query-api'].includes(a));
    if (service) out[service] = pid;
  }
  return out;
}

async function stopStart(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await Promise.race([exited, sleep(60_000).then(() => child.kill('SIGKILL'))]);
}

interface StartRun {
  eventsPerSecond: number;
  cpuMicrosPerEvent: Record<string, number>;
  peakRss: Record<string, number>;
  stored: number;
}

/** The events both runs take: the same series, made as they are sent. */
interface Events {
  n: number;
  clusters: number;
  series: EventSeries;
}

async function runNpmStart(e: EngineEndpoints, admin: ClickHouseClient, events: Events) {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const database = `bench_start_${id}`;
  const token = `bench-${id}`;
  const [ingestPort, apiPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'start', '--no-simulate'], {
    env: {
      ...process.env,
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: e.kafka.brokers.join(','),
      PULLWATCH_CLICKHOUSE_URL: e.clickhouse.url,
      PULLWATCH_CLICKHOUSE_USER: e.clickhouse.user,
      PULLWATCH_CLICKHOUSE_PASSWORD: e.clickhouse.password,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_TOPIC: `bench_start_${id}`,
      PULLWATCH_TOPIC_PARTITIONS: String(PARTITIONS),
      PULLWATCH_DLQ_TOPIC: `bench_start_${id}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `bench_start_${id}_g`,
      PULLWATCH_INGEST_PORT: String(ingestPort),
      PULLWATCH_API_PORT: String(apiPort),
      PULLWATCH_API_TOKENS: token,
      PULLWATCH_INGEST_TOKEN: token,
      PULLWATCH_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = `http://127.0.0.1:${ingestPort}`;
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('Ctrl-C stops everything')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`pullwatch start exited (${code}) before it was ready`)));
    });
    await Promise.race([
      ready,
      sleep(180_000).then(() => {
        throw new Error('pullwatch start was not ready within 180 s');
      }),
    ]);
    const pids = processTree(child.pid!);
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const t0 = Date.now();
    await postBatches(url, ingestBatches(events.n, events.clusters, events.series), {
      token,
      senders: SENDERS,
      headers: { 'content-type': 'application/json' },
    });
    const done = await until(admin, `SELECT count() FROM ${database}.raw_events`, events.n, 900_000);
    const seconds = (done - t0) / 1000;
    const run: StartRun = {
      eventsPerSecond: events.n / seconds,
      cpuMicrosPerEvent: Object.fromEntries(
        Object.entries(pids).map(([k, pid]) => [k, ((cpuSeconds(pid) - cpu0[k]!) * 1e6) / events.n]),
      ),
      peakRss: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, peakRss(pid)])),
      stored: await count(admin, `SELECT count() FROM ${database}.raw_events`),
    };
    return run;
  } finally {
    await stopStart(child);
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  }
}

async function createTopic(e: EngineEndpoints, topic: string): Promise<void> {
  const { ensureTopics } = await import('@pullwatch/kafka');
  const { createLogger } = await import('@pullwatch/telemetry');
  const kafka = {
    brokers: e.kafka.brokers,
    clientId: 'bench-kcat',
    logger: createLogger('bench', 'warn'),
  };
  await ensureTopics(kafka, [{ topic, numPartitions: PARTITIONS }]);
}

/** kcat produces the events to a topic, then consumes them straight into ClickHouse: no processing at all. */
async function runKcatCopy(e: EngineEndpoints, admin: ClickHouseClient, events: Events) {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const topic = `bench_kcat_${id}`;
  const database = `bench_kcat_${id}`;
  await admin.command({ query: `CREATE DATABASE ${database}` });
  await admin.command({ query: `CREATE TABLE ${database}.copy (v String) ENGINE = MergeTree ORDER BY tuple()` });
  const file = join(tmpdir(), `${topic}.ndjson`);
  writeFileSync(file, '');
  for (let i = 0; i < events.n; i += BATCH_EVENTS)
    appendFileSync(
      file,
      makeEvents(Math.min(events.n, i + BATCH_EVENTS), events.clusters, events.series, i)
        .map((ev) => `${JSON.stringify(ev.event)}\n`)
        .join(''),
    );
  const brokers = e.kafka.brokers.join(',');
  try {
    await createTopic(e, topic);
    const t0 = Date.now();
    const produce = spawnSync('kcat', ['-P', '-b', brokers, '-t', topic, '-l', file, '-X', 'acks=all'], {
      encoding: 'utf8',
    });
    if (produce.status !== 0) throw new Error(`kcat produce failed: ${produce.stderr}`);
    const insertUrl = new URL(e.clickhouse.url);
    insertUrl.searchParams.set('query', `INSERT INTO ${database}.copy FORMAT JSONAsString`);
    insertUrl.searchParams.set('user', e.clickhouse.user);
    if (e.clickhouse.password) insertUrl.searchParams.set('password', e.clickhouse.password);
    // kcat's output streams straight into one HTTP insert.
    const consume = spawn('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
    const inserted = fetch(insertUrl, {
      method: 'POST',
      body: consume.stdout as unknown as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const res = await inserted;
    if (!res.ok) throw new Error(`ClickHouse refused the kcat copy: ${await res.text()}`);
    const done = await until(admin, `SELECT count() FROM ${database}.copy`, events.n, 600_000);
    return { eventsPerSecond: events.n / ((done - t0) / 1000) };
  } finally {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  }
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const name = 'npm start --no-simulate, fed through the ingest';
  if (spawnSync('kcat', ['-V']).error)
    return { name, figures: [], notes: ['Not measured: kcat is not installed (apt-get install kcat).'] };
  const engines = loadEnginesConfig();
  const e = resolveEndpoints(engines);
  if (engines.mode === 'local') await new LocalEngines(engines).up(() => undefined);
  const admin = createClickHouse({ ...e.clickhouse, requestTimeoutMs: 900_000 });
  const n = Math.min(ctx.scale.events, 200_000);
  const events: Events = { n, clusters: Math.min(ctx.scale.clusters, 50), series: newSeries() };
  try {
    ctx.log(`kcat copy of ${n} events`);
    const kcat = await runKcatCopy(e, admin, events);
    ctx.log(`npm start --no-simulate with ${n} events`);
    const start = await runNpmStart(e, admin, events);
    const figures: BenchFigure[] = [
      {
        metric: 'npm start: HTTP ingest → queryable',
        value: start.eventsPerSecond,
        unit: 'events/s',
        baseline: { name: 'kcat produce + consume into ClickHouse, no processing', value: kcat.eventsPerSecond },
        ratio: start.eventsPerSecond / kcat.eventsPerSecond,
        target: '≥ 12,000 events/s and ≥ 0.3×',
      },
      { metric: 'npm start: events stored / sent', value: start.stored, unit: `of ${n}` },
      ...Object.entries(start.cpuMicrosPerEvent).map(([proc, us]) => ({
        metric: `npm start CPU per event: ${proc}`,
        value: us,
        unit: 'µs',
      })),
      ...Object.entries(start.peakRss).map(([proc, bytes]) => ({
        metric: `npm start peak RSS: ${proc}`,
        value: bytes / 2 ** 20,
        unit: 'MiB',
        ...(proc === 'collector' ? { target: '≤ 250 MiB' } : proc === 'analyzer' ? { target: '≤ 300 MiB' } : {}),
      })),
    ];
    return {
      name,
      figures,
      notes: [
        `${n} events posted by ${SENDERS} senders in JSON arrays of ${BATCH_EVENTS}; ` +
          `${PARTITIONS} partitions for both.`,
        'The kcat copy writes each Event as one JSON string row; pullwatch validates, classifies and stores ' +
          'each event with its Pod state.',
        '`npm start` runs its services as a new user runs it; the peak RSS above is measured on them in this ' +
          'run (the end-to-end suite measures the built services, as the Docker image runs them).',
      ],
    };
  } finally {
    await admin.close();
  }
}
