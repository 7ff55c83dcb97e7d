import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { serviceEnv, serviceNodeFlags } from '@pullwatch/service-runtime';
import { testEndpoints, uniqueName } from './support/endpoints.ts';
import { untilValue } from './support/until.ts';

// The built command (`npm run build`) run by plain node, as the container image runs it: each service
// its own process against the real engines. The build goes to a folder outside the repository, so
// nothing can come from node_modules at run time: the bundle must carry everything the services load.
const repo = join(import.meta.dirname, '..');
const outdir = mkdtempSync(join(tmpdir(), 'pullwatch-dist-'));
const entry = join(outdir, 'pullwatch.mjs');
const database = uniqueName('built_cli');
const topic = uniqueName('built_cli');
const cluster = uniqueName('built').replaceAll('_', '-');
const TOKEN = 'built-cli-token-0123456789';
const MiB = 1024 * 1024;
const endpoints = testEndpoints();

interface Service {
  name: string;
  child: ChildProcess;
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Service[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function env(): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env.PATH,
    PULLWATCH_ENGINES: 'external',
    PULLWATCH_KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
    PULLWATCH_CLICKHOUSE_URL: endpoints.clickhouse.url,
    PULLWATCH_CLICKHOUSE_USER: endpoints.clickhouse.user,
    PULLWATCH_CLICKHOUSE_PASSWORD: endpoints.clickhouse.password,
    PULLWATCH_CLICKHOUSE_DATABASE: database,
    PULLWATCH_TOPIC: topic,
    PULLWATCH_TOPIC_PARTITIONS: '1',
    PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
    PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
    PULLWATCH_ANALYZER_BATCH_MAX_WAIT_MS: '200',
    PULLWATCH_INGEST_PORT: '0',
    PULLWATCH_INGEST_TOKEN: TOKEN,
    PULLWATCH_API_PORT: '0',
    PULLWATCH_API_TOKENS: TOKEN,
    // The analyzer refuses port 0 here, so it gets a port that was free a moment ago.
    PULLWATCH_ANALYZER_METRICS_HOST: '127.0.0.1',
    PULLWATCH_ANALYZER_METRICS_PORT: String(await freePort()),
    PULLWATCH_LOG_LEVEL: 'warn',
  };
}

/**
 * Starts `node <cli> <name>` with the Node flags and environment `pullwatch start` gives the service (the
 * chart's heap caps do the same in a container), and waits (bounded) for the line it prints once serving.
 * Without them V8 sizes the young generation from the machine: 16 or 32 MiB of it resident at idle,
 * differing run to run (measured), which is V8's noise, not what the services hold.
 */
async function start(cli: string[], name: string, ready: RegExp, vars: NodeJS.ProcessEnv): Promise<Service> {
  const child = spawn(process.execPath, [...serviceNodeFlags(name, undefined), ...cli, name], {
    env: serviceEnv(name, vars),
    cwd: outdir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const service = { name, child, stderr, exited };
  running.push(service);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not up in 60 s:\n${stderr.join('')}`)), 60_000);
    let buffered = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr.push(chunk.toString());
      buffered += chunk.toString();
      if (ready.test(buffered)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${e.code ?? e.signal}) before serving:\n${stderr.join('')}`));
    });
  });
  return service;
}

function urlOf(s: Service, re: RegExp): string {
  const m = re.exec(s.stderr.join(''));
  if (!m?.[1]) throw new Error(`${s.name}: no URL in its output`);
  return m[1];
}

async function stop(s: Service): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  s.child.kill('SIGTERM');
  const e = await s.exited;
  running.splice(running.indexOf(s), 1);
  return e;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Resident memory once it has settled: eight samples 250 ms apart within 1 % of each other (bounded). */
async function idleRss(pid: number): Promise<number> {
  const window: number[] = [];
  return untilValue(async () => {
    window.push(rssBytes(pid));
    if (window.length > 8) window.shift();
    if (window.length < 8) return null;
    const lo = Math.min(...window);
    const hi = Math.max(...window);
    return hi - lo <= hi * 0.01 ? hi : null;
  }, `pid ${pid} to settle`);
}

/**
 * What a built service may hold at idle beyond a bare `node` process in the same run: measured 68–79 MiB
 * over it on Node 24.22 x64 in three runs with the flags of `start` (collector 113–120, analyzer 110–115,
 * query API 119–122 MiB; bare node 42 MiB; the same services through tsx 119–155 MiB), so 100 MiB leaves
 * a fifth for noise, and a service that grows by 20–30 MiB at idle fails. (Without the flags the built
 * collector and analyzer measured 126–145 MiB in six CI runs: one over the bound.) Relative to a bare
 * node so a Node upgrade moves the baseline, not the verdict.
 */
const IDLE_OVER_BARE_NODE = 100 * MiB;

/** Idle RSS of a bare `node` that does nothing, on this machine and Node, now. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    return await idleRss(child.pid!);
  } finally {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }
}

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(repo, 'scripts/build.mjs'), '--outdir', outdir], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
});

afterAll(async () => {
  for (const s of [...running]) await stop(s);
  const admin = createClickHouse({ ...endpoints.clickhouse });
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
  rmSync(outdir, { recursive: true, force: true });
});

describe('the built pullwatch command (node dist/pullwatch.mjs)', () => {
  // Idle RSS in bytes of each service, built and through tsx.
  const figures: Record<string, { built?: number; tsx?: number }> = {};
  let bare = 0;

  it('migrates, runs the three services, carries one failure from ingest to the query API, stops cleanly', async () => {
    const vars = await env();
    const cli = [entry];

    const migrations = readdirSync(join(repo, 'packages/clickhouse/migrations'))
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .map((f) => String(Number(f.split('_')[0])));
    const migrate = spawnSync(process.execPath, [entry, 'migrate'], { env: vars, cwd: outdir, encoding: 'utf8' });
    expect(migrate.stderr).toBe('');
    expect(migrate.stdout).toBe(`${database} at ${endpoints.clickhouse.url}: applied ${migrations.join(', ')}\n`);
    expect(migrate.status).toBe(0);

    const collector = await start(cli, 'collector', /collector: ingest on (http:\/\/\S+)/, vars);
    const analyzer = await start(cli, 'analyzer', /analyzer: \S+ → /, vars);
    const queryApi = await start(cli, 'query-api', /query API on (http:\/\/\S+)/, vars);
    const ingest = urlOf(collector, /collector: ingest on (http:\/\/\S+)/);
    const api = urlOf(queryApi, /query API on (http:\/\/\S+)/);
    const metrics = `http://127.0.0.1:${vars.PULLWATCH_ANALYZER_METRICS_PORT}`;

    // Liveness at once; readiness once Kafka (collector) and ClickHouse (query API) answer.
    for (const base of [ingest, api, metrics]) {
      const r = await fetch(`${base}/healthz`);
      expect(r.status, base).toBe(200);
      expect(await r.json()).toEqual({ status: 'ok' });
    }
    for (const base of [ingest, api])
      await untilValue(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, `${base}/readyz`);
    expect((await fetch(`${metrics}/metrics`)).status).toBe(200);
    // The dashboard page and the OpenAPI document come from the copied files, not node_modules.
    const page = await fetch(`${api}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>');

    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web-1.17f0', namespace: 'shop', uid: `uid-${cluster}`, resourceVersion: '101' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', fieldPath: 'spec.containers{app}' },
      reason: 'Failed',
      message:
        'Failed to pull image "nginx:1.99": rpc error: code = NotFound desc = failed to pull and unpack image ' +
        '"docker.io/library/nginx:1.99": failed to resolve reference "docker.io/library/nginx:1.99": ' +
        'docker.io/library/nginx:1.99: not found',
      type: 'Warning',
      count: 1,
      firstTimestamp: at.toISOString(),
      lastTimestamp: at.toISOString(),
    };
    const posted = await fetch(`${ingest}/v1/k8s-events?cluster=${cluster}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify([event]),
    });
    expect(await posted.json()).toEqual({ accepted: 1, filtered: 0, received: 1 });
    expect(posted.status).toBe(200);

    const failures = await untilValue(async () => {
      const r = await fetch(`${api}/v1/failures?cluster=${cluster}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await r.json()) as { failures: Record<string, unknown>[] };
      return r.status === 200 && body.failures.length ? body.failures : null;
    }, 'the failure in the query API');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      cluster,
      namespace: 'shop',
      pod: 'web-1',
      container: 'app',
      image: 'nginx:1.99',
      registry: 'docker.io',
      cause: 'not_found',
      occurrences: 1,
    });

    for (const s of [collector, analyzer, queryApi]) figures[s.name] = { built: await idleRss(s.child.pid!) };
    expect(Object.keys(figures).sort()).toEqual(['analyzer', 'collector', 'query-api']);
    bare = await bareNodeRss();
    for (const [name, v] of Object.entries(figures))
      expect(
        v.built! - bare,
        `${name}: ${(v.built! / MiB).toFixed(1)} MiB idle, bare node ${(bare / MiB).toFixed(1)} MiB`,
      ).toBeLessThanOrEqual(IDLE_OVER_BARE_NODE);
    for (const s of [queryApi, analyzer, collector]) expect(await stop(s), s.name).toEqual({ code: 0, signal: null });
    // The idle figures are written to test-output/idle-rss.json; the product's memory target (collector
    // ≤ 100 MiB idle, docs/deploy.md) is the bench's to report: here only a bound with room for noise.
  });

  it('idles in less memory, the three services together, than the same services run through tsx (same run)', async () => {
    const vars = await env();
    const tsx = [join(repo, 'apps/cli/bin/pullwatch.js')];
    for (const [name, ready] of [
      ['collector', /collector: ingest on/],
      ['analyzer', /analyzer: \S+ → /],
      ['query-api', /query API on/],
    ] as const) {
      const s = await start(tsx, name, ready, vars);
      figures[name] = { ...figures[name], tsx: await idleRss(s.child.pid!) };
      expect(await stop(s), name).toEqual({ code: 0, signal: null });
    }
    const out = {
      ...Object.fromEntries(
        Object.entries(figures).map(([k, v]) => [
          k,
          { builtMiB: v.built === undefined ? null : +(v.built / MiB).toFixed(1), tsxMiB: +(v.tsx! / MiB).toFixed(1) },
        ]),
      ),
      bareNodeMiB: +(bare / MiB).toFixed(1),
    };
    mkdirSync(join(repo, 'test-output'), { recursive: true });
    writeFileSync(join(repo, 'test-output/idle-rss.json'), `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`idle RSS (MiB), built vs tsx: ${JSON.stringify(out)}\n`);
    // With the same flags, tsx measured 6–28 MiB more than the bundle for the collector and the analyzer
    // (at the low end within one service's run-to-run noise of ≈ 5 MiB), 30–35 MiB more for the query API
    // and 45–72 MiB more for the three (six runs): the total is compared.
    const total = (k: 'built' | 'tsx') => Object.values(figures).reduce((sum, v) => sum + v[k]!, 0);
    expect(total('built'), JSON.stringify(out)).toBeLessThan(total('tsx'));
    expect(Object.keys(figures).sort()).toEqual(['analyzer', 'collector', 'query-api']);
  });
});
