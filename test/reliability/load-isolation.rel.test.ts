import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseClient, createClickHouse, migrate, seedHistory } from '@pullwatch/clickhouse';
import { createQueryApi, loadQueryApiConfig, type QueryApi } from '@pullwatch/query-api';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../support/endpoints.ts';
import { report } from './report.ts';

/**
 * Reports must not starve dashboards and alerts: 16 clients run 30-day reports against PULLWATCH_LOAD_ROWS failure
 * rows (10 million by default, over 30 days, generated inside ClickHouse by seedHistory, as the bench's) while a
 * dashboard mix runs; the dashboards keep their latency (p50 and p99 under load within a small factor of the same
 * mix alone, on the same machine in the same run), the alert evaluator keeps its schedule, and nothing answers 5xx
 * other than the documented 503/504. The absolute target (p99 ≤ 500 ms) is reported beside the figures, not
 * asserted: a timed bound belongs to the bench, and a shared 2-core machine misses it even with no load at all.
 */
const ROWS = Number(process.env.PULLWATCH_LOAD_ROWS ?? 10_000_000);
const CLUSTERS = 200;
const REPORT_CLIENTS = 16;
const DASHBOARD_CLIENTS = 4;
const PHASE_MS = Number(process.env.PULLWATCH_LOAD_PHASE_SECONDS ?? 20) * 1000;
const ALERT_INTERVAL_S = 2;
const TOKEN = 'load';
/** The issue's target for the dashboards' p99 under load, reported as met or not. */
const P99_TARGET_MS = 500;

const database = uniqueName('load_iso');
const admin = createClickHouse({ ...testEndpoints().clickhouse, requestTimeoutMs: 1_800_000 });
let api: QueryApi;
/** When each alert-evaluator query finished (the alerts class marks its queries' log_comment). */
const alertQueries: { at: number; ms: number }[] = [];

function observed(ch: ClickHouseClient): ClickHouseClient {
  const wrapped = Object.create(ch) as ClickHouseClient;
  const query = ch.query.bind(ch) as (p: Parameters<ClickHouseClient['query']>[0]) => Promise<unknown>;
  (wrapped as { query: unknown }).query = async (p: Parameters<ClickHouseClient['query']>[0]) => {
    const t = performance.now();
    const r = await query(p);
    if (p.clickhouse_settings?.log_comment === 'pullwatch-api:alerts')
      alertQueries.push({ at: performance.now(), ms: performance.now() - t });
    return r;
  };
  return wrapped;
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : Number.NaN;
};

beforeAll(async () => {
  await migrate(admin, { database, ttlDays: 90 });
  const t0 = Date.now();
  await seedHistory(admin, { database, failures: ROWS, clusters: CLUSTERS });
  // Timed against settled tables, as a month of data would be, not against the merges of the bulk load.
  const settle = Date.now() + 300_000;
  for (;;) {
    const rs = await admin.query({
      query: 'SELECT count() AS n FROM system.merges WHERE database = {db:String}',
      query_params: { db: database },
      format: 'JSONEachRow',
    });
    if (Number((await rs.json<{ n: number }>())[0]?.n ?? 0) === 0 || Date.now() > settle) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stdout.write(`load isolation: ${ROWS} failure rows ready in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  api = createQueryApi(
    loadQueryApiConfig({
      PULLWATCH_API_PORT: '0',
      PULLWATCH_API_TOKENS: TOKEN,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_ALERT_INTERVAL_SECONDS: String(ALERT_INTERVAL_S),
    }),
    {
      logger: createLogger('load-isolation', 'silent'),
      metrics: createMetricsRegistry('load-isolation'),
      clickhouse: observed(createClickHouse({ ...testEndpoints().clickhouse })),
    },
  );
  await api.start();
}, 3_600_000);

afterAll(async () => {
  await api?.stop();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  await admin.close();
});

const DASHBOARD = [
  '/v1/registries',
  '/v1/registries?cluster=c7&cause=rate_limited',
  '/v1/trends?interval=1h',
  '/v1/hotspots/rate-limit',
  '/v1/incidents?status=all',
  '/v1/pods/stuck',
  '/v1/failures?limit=100',
  '/v1/alerts',
];
const from30 = () => new Date(Date.now() - 30 * 86_400_000 + 60_000).toISOString();
const REPORTS = [
  () => `/v1/reports/failures?from=${from30()}&groupBy=registry,cause`,
  () => `/v1/reports/failures?from=${from30()}&groupBy=team,namespace`,
  () => `/v1/reports/failures?from=${from30()}&groupBy=workload&limit=50`,
  () => `/v1/risks?from=${from30()}`,
  () => `/v1/hotspots/rate-limit?groupBy=node&from=${from30()}`,
  () => `/v1/trends?interval=1d&from=${from30()}`,
];

interface Tally {
  ms: number[];
  statuses: Map<number, number>;
  byRoute: Map<string, number[]>;
}
const tally = (): Tally => ({ ms: [], statuses: new Map(), byRoute: new Map() });

async function call(path: string, t: Tally): Promise<Response> {
  const start = performance.now();
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await res.arrayBuffer();
  const ms = performance.now() - start;
  t.ms.push(ms);
  const route = path.split('?')[0]!;
  t.byRoute.set(route, [...(t.byRoute.get(route) ?? []), ms]);
  t.statuses.set(res.status, (t.statuses.get(res.status) ?? 0) + 1);
  return res;
}

/** `clients` loops over the dashboard mix until `until`. */
async function dashboards(until: number, t: Tally) {
  await Promise.all(
    Array.from({ length: DASHBOARD_CLIENTS }, async (_, c) => {
      for (let i = c; Date.now() < until; i++) await call(DASHBOARD[i % DASHBOARD.length]!, t);
    }),
  );
}

/** Report clients, each honouring Retry-After as a well-behaved client does. */
async function reports(until: number, t: Tally) {
  await Promise.all(
    Array.from({ length: REPORT_CLIENTS }, async (_, c) => {
      for (let i = c; Date.now() < until; i++) {
        const res = await call(REPORTS[i % REPORTS.length]!(), t);
        if (res.status === 429 || res.status === 503) {
          const wait = Math.min(Number(res.headers.get('retry-after') ?? 1) * 1000, until - Date.now());
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }
    }),
  );
}

const summary = (t: Tally) => ({
  n: t.ms.length,
  p50: Math.round(q(t.ms, 0.5)),
  p99: Math.round(q(t.ms, 0.99)),
});

describe('load isolation', () => {
  it('dashboards keep their latency and alerts their schedule while 16 clients run 30-day reports', async () => {
    // Warm-up (caches, connections), then the mix alone before and after the loaded phase: on a
    // machine shared with other work one phase alone can be hit by a neighbour's burst.
    await dashboards(Date.now() + 5000, tally());
    const alone = tally();
    const t0 = Date.now();
    await dashboards(t0 + PHASE_MS / 2, alone);
    let aloneSeconds = (Date.now() - t0) / 1000;

    const loaded = tally();
    const heavy = tally();
    const alertsBefore = alertQueries.length;
    const t1 = Date.now();
    const reportsDone = reports(t1 + PHASE_MS, heavy);
    // Let the report clients fill their pool first.
    await new Promise((r) => setTimeout(r, 1000));
    await dashboards(t1 + PHASE_MS, loaded);
    const loadedSeconds = (Date.now() - t1 - 1000) / 1000;
    const loadEnd = performance.now();
    // The last reports may still run (up to their max_execution_time): wait for them before the phase alone.
    await reportsDone;
    const t2 = Date.now();
    await dashboards(t2 + PHASE_MS / 2, alone);
    aloneSeconds += (Date.now() - t2) / 1000;
    const during = alertQueries.slice(alertsBefore).filter((a) => a.at <= loadEnd);
    const gaps = during.slice(1).map((a, i) => a.at - during[i]!.at);

    const status = (t: Tally, s: number) => t.statuses.get(s) ?? 0;
    const fiveHundreds = (t: Tally, allowed: number[]) =>
      [...t.statuses].filter(([s]) => s >= 500 && !allowed.includes(s)).reduce((n, [, c]) => n + c, 0);
    const a = summary(alone);
    const l = summary(loaded);
    const h = summary(heavy);
    report('load isolation', {
      failureRows: ROWS,
      dashboardP99TargetMs: P99_TARGET_MS,
      dashboardP99TargetMet: l.p99 <= P99_TARGET_MS ? 'yes' : 'no',
      loadAverage1m: Number(loadavg()[0]!.toFixed(1)),
      phaseSeconds: PHASE_MS / 1000,
      dashboardAloneReqPerS: Number((a.n / aloneSeconds).toFixed(1)),
      dashboardAloneP50ms: a.p50,
      dashboardAloneP99ms: a.p99,
      dashboardLoadedReqPerS: Number((l.n / loadedSeconds).toFixed(1)),
      dashboardLoadedP50ms: l.p50,
      dashboardLoadedP99ms: l.p99,
      dashboard429: status(loaded, 429),
      reportRequests: h.n,
      report200: status(heavy, 200),
      report429: status(heavy, 429),
      report503: status(heavy, 503),
      report504: status(heavy, 504),
      reportP50ms: h.p50,
      reportP99ms: h.p99,
      alertQueriesDuringLoad: during.length,
      alertQueryP99ms: Math.round(
        q(
          during.map((x) => x.ms),
          0.99,
        ),
      ),
      alertMaxGapMs: Math.round(Math.max(0, ...gaps)),
    });
    for (const [route, ms] of [...alone.byRoute].sort())
      process.stdout.write(
        `load isolation: ${route}: alone p50 ${Math.round(q(ms, 0.5))} ms p99 ${Math.round(q(ms, 0.99))} ms; ` +
          `under load p50 ${Math.round(q(loaded.byRoute.get(route) ?? [], 0.5))} ms ` +
          `p99 ${Math.round(q(loaded.byRoute.get(route) ?? [], 0.99))} ms\n`,
      );
    for (const [route, ms] of [...heavy.byRoute].sort())
      process.stdout.write(
        `load isolation: report ${route}: ${ms.length} requests, p50 ${Math.round(q(ms, 0.5))} ms\n`,
      );
    expect(fiveHundreds(alone, [])).toBe(0);
    expect(fiveHundreds(loaded, [])).toBe(0);
    expect(fiveHundreds(heavy, [503, 504])).toBe(0);
    expect(status(loaded, 200)).toBe(loaded.ms.length);
    // Reports do not starve the dashboards: their tail moves little from the unloaded one.
    expect(l.p99).toBeLessThanOrEqual(2 * a.p99 + 250);
    // Whatever the machine: reports cost the dashboards at most half their speed (without the pools
    // and limits, 16 report clients took them from 28 to 1.2 requests/s, p50 23 ms to 2.9 s).
    expect(l.p50).toBeLessThanOrEqual(2 * a.p50 + 100);
    // The evaluator ran through the load: rounds every ALERT_INTERVAL_S (5 queries each), never
    // waiting more than an interval and a second between two of its queries.
    expect(during.length).toBeGreaterThanOrEqual(Math.floor(loadedSeconds / ALERT_INTERVAL_S) * 3);
    expect(Math.max(0, ...gaps)).toBeLessThanOrEqual(ALERT_INTERVAL_S * 1000 + 1000);
    expect(status(heavy, 200)).toBeGreaterThan(0);
  }, 600_000);
});
