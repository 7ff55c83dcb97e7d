import { randomUUID } from 'node:crypto';
import { createClickHouse, migrate, seedHistory } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { createQueryApi, loadQueryApiConfig } from '@pullwatch/query-api';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';
import { quantile } from './support.ts';

const ROUTES: { path: string; aggregate: boolean }[] = [
  { path: '/v1/registries', aggregate: true },
  { path: '/v1/registries?cluster=c7&cause=rate_limited', aggregate: true },
  { path: '/v1/trends?interval=1h', aggregate: true },
  { path: '/v1/trends?interval=1d&from=FROM30', aggregate: true },
  { path: '/v1/hotspots/rate-limit', aggregate: true },
  { path: '/v1/hotspots/rate-limit?groupBy=node', aggregate: true },
  { path: '/v1/incidents?status=all', aggregate: true },
  { path: '/v1/pods/stuck', aggregate: true },
  { path: '/v1/risks', aggregate: false },
  { path: '/v1/failures?limit=100', aggregate: false },
  { path: '/v1/failures?limit=100&registry=ghcr.io&cause=not_found', aggregate: false },
  { path: '/v1/alerts', aggregate: false },
  { path: '/v1/reports/failures?groupBy=registry,cause', aggregate: true },
  { path: '/v1/reports/failures?groupBy=workload&limit=100', aggregate: false },
];

/** Timed requests per route: enough for a p99 that is not just the slowest of a handful. */
const TIMED = 100;

/** The dashboard's routes, as its pages poll them (the issue's "mix"). */
const MIX = [
  '/v1/failures?limit=100',
  '/v1/registries',
  '/v1/incidents?status=all',
  '/v1/hotspots/rate-limit',
  '/v1/trends?interval=1h',
  '/v1/pods/stuck',
];
/** Clients cycling through MIX at once, and rounds each (every client asks every route once a round). */
const MIX_CLIENTS = 4;
const MIX_ROUNDS = 25;
/** Blocks the rounds are split in, baseline and cached API taking turns. */
const MIX_BLOCKS = 5;
/** The issue's mark for the dashboard mix (25.md). */
const MIX_TARGET_MS = 300;
/** Report clients beside the mix, each with its own token, honouring 429/503 and Retry-After (25.md). */
const REPORT_CLIENTS = 16;
const REPORT_PATH = '/v1/reports/failures?from=FROM30&groupBy=registry,cause';
/** Each of them gets its report within this (25.md). */
const REPORT_TARGET_S = 60;
/** A client still refused after this gives up, and the bench says so. */
const REPORT_GIVE_UP_MS = 300_000;
const reportTokens = Array.from({ length: REPORT_CLIENTS }, (_, i) => `bench-report-${i}`);

/**
 * Per-route latency with `--rows` failure rows and a tenth as many successes over 30 days across `--clusters`
 * clusters.
 */
export async function run(ctx: BenchContext): Promise<BenchSection> {
  const e = resolveEndpoints(loadEnginesConfig());
  const admin = createClickHouse({ ...e.clickhouse, requestTimeoutMs: 1_800_000 });
  const database = `bench_api_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const rows = ctx.scale.rows;
  const clusters = ctx.scale.clusters;
  const figures: BenchFigure[] = [];
  try {
    await migrate(admin, { database, ttlDays: 90 });
    const t0 = Date.now();
    await seedHistory(admin, {
      database,
      failures: rows,
      clusters,
      progress: (n, total) => ctx.log(`inserted ${n} of ${total} failure rows`),
    });
    ctx.log(`data ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    // The API as shipped, and one that never reads a projection (the schema before migration 0010, whose
    // projection orders pull_failures by time for the failure listing): the same-run baseline of the mix.
    const apiWith = (projections: boolean) =>
      createQueryApi(
        loadQueryApiConfig({
          PULLWATCH_API_PORT: '0',
          PULLWATCH_API_TOKENS: ['bench', ...reportTokens].join(','),
          PULLWATCH_CLICKHOUSE_DATABASE: database,
          PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
        }),
        {
          logger: createLogger('bench-api', 'warn'),
          metrics: createMetricsRegistry('bench-api'),
          clickhouse: createClickHouse({
            ...e.clickhouse,
            ...(projections ? {} : { settings: { optimize_use_projections: 0 } }),
          }),
        },
      );
    const api = apiWith(true);
    await api.start();
    // Timed against settled tables, as a month of data would be, not against the merges of the bulk load.
    const settleEnd = Date.now() + 300_000;
    for (;;) {
      const rs = await admin.query({
        query: 'SELECT count() AS n FROM system.merges WHERE database = {db:String}',
        query_params: { db: database },
        format: 'JSONEachRow',
      });
      if (Number((await rs.json<{ n: number }>())[0]?.n ?? 0) === 0 || Date.now() > settleEnd) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const from30 = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const time = async (path: string, n: number) => {
      const ms: number[] = [];
      for (let i = 0; i < n + 3; i++) {
        const t = performance.now();
        const res = await fetch(`${api.url}${path.replace('FROM30', from30)}`, {
          headers: { authorization: 'Bearer bench' },
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
        if (i >= 3) ms.push(performance.now() - t);
      }
      return ms.sort((a, b) => a - b);
    };
    // Baseline: the same HTTP + auth + ClickHouse round trip doing no work (readiness runs SELECT 1).
    const baseline = await time('/readyz', TIMED);
    const b99 = quantile(baseline, 0.99);
    for (const r of ROUTES) {
      const ms = await time(r.path, TIMED);
      figures.push({
        metric: `${r.path.replace('FROM30', '<30 days ago>')} p50`,
        value: quantile(ms, 0.5),
        unit: 'ms',
        baseline: { name: 'SELECT 1 through the API (p50)', value: quantile(baseline, 0.5) },
        ratio: quantile(ms, 0.5) / quantile(baseline, 0.5),
      });
      figures.push({
        metric: `${r.path.replace('FROM30', '<30 days ago>')} p99`,
        value: quantile(ms, 0.99),
        unit: 'ms',
        baseline: { name: 'SELECT 1 through the API (p99)', value: b99 },
        ratio: quantile(ms, 0.99) / b99,
        ...(r.aggregate ? { target: 'p99 < 100 ms' } : {}),
      });
      ctx.log(`${r.path}: p50 ${quantile(ms, 0.5).toFixed(1)} ms, p99 ${quantile(ms, 0.99).toFixed(1)} ms`);
    }

    // The dashboard mix: MIX_CLIENTS clients at once, per route and overall, without the projection
    // (baseline) and with it, on the same data, in alternating blocks so that the other load of the
    // machine weighs on both alike.
    const noProjection = apiWith(false);
    await noProjection.start();
    const ask = async (url: string, path: string) => {
      const t = performance.now();
      const res = await fetch(`${url}${path}`, { headers: { authorization: 'Bearer bench' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
      return performance.now() - t;
    };
    const mixOf = () => ({ byRoute: new Map<string, number[]>(MIX.map((p) => [p, []])), all: [] as number[] });
    const mix = async (url: string, into: ReturnType<typeof mixOf>, rounds: number, more = () => true) => {
      await Promise.all(
        Array.from({ length: MIX_CLIENTS }, async (_, c) => {
          for (let round = 0; round < rounds && more(); round++)
            for (let k = 0; k < MIX.length; k++) {
              const path = MIX[(k + c) % MIX.length]!;
              const ms = await ask(url, path);
              into.byRoute.get(path)!.push(ms);
              into.all.push(ms);
            }
        }),
      );
    };
    for (const path of MIX) {
      await ask(noProjection.url, path);
      await ask(api.url, path);
    }
    const before = mixOf();
    const after = mixOf();
    for (let block = 0; block < MIX_BLOCKS; block++) {
      await mix(noProjection.url, before, MIX_ROUNDS / MIX_BLOCKS);
      await mix(api.url, after, MIX_ROUNDS / MIX_BLOCKS);
    }
    await noProjection.stop();

    // 16 polite report clients (30-day reports) beside the same mix on the API as shipped: how long each
    // waits for its report, and the mix's latency meanwhile against the mix alone above (same run).
    const reportAlone = await time(REPORT_PATH, 3);
    const loaded = mixOf();
    const waited: { seconds: number; refused: number }[] = [];
    let pending = REPORT_CLIENTS;
    const reportClients = Promise.all(
      reportTokens.map(async (token) => {
        const t0 = performance.now();
        let refused = 0;
        try {
          for (;;) {
            const res = await fetch(`${api.url}${REPORT_PATH.replace('FROM30', from30)}`, {
              headers: { authorization: `Bearer ${token}` },
            });
            await res.arrayBuffer();
            if (res.status === 200) break;
            if (res.status !== 429 && res.status !== 503) throw new Error(`${REPORT_PATH}: HTTP ${res.status}`);
            refused += 1;
            if (performance.now() - t0 > REPORT_GIVE_UP_MS)
              throw new Error(`a report client gave up: ${refused} refusals`);
            await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
          }
          waited.push({ seconds: (performance.now() - t0) / 1000, refused });
        } finally {
          pending -= 1;
        }
      }),
    );
    await mix(api.url, loaded, Number.POSITIVE_INFINITY, () => pending > 0);
    await reportClients;
    await api.stop();
    for (const m of [before, after, loaded]) {
      for (const ms of m.byRoute.values()) ms.sort((a, b) => a - b);
      m.all.sort((a, b) => a - b);
    }
    for (const path of MIX)
      for (const q of [0.5, 0.99] as const) {
        const name = q === 0.5 ? 'p50' : 'p99';
        const was = quantile(before.byRoute.get(path)!, q);
        const is = quantile(after.byRoute.get(path)!, q);
        figures.push({
          metric: `mix, ${MIX_CLIENTS} clients: ${path} ${name}`,
          value: is,
          unit: 'ms',
          baseline: { name: `the same without the projection (${name})`, value: was },
          ratio: is / was,
        });
        ctx.log(`mix ${path} ${name}: ${was.toFixed(1)} → ${is.toFixed(1)} ms`);
      }
    const mixP99 = quantile(after.all, 0.99);
    const mixBefore99 = quantile(before.all, 0.99);
    figures.push(
      {
        metric: `mix, ${MIX_CLIENTS} clients: all routes p50`,
        value: quantile(after.all, 0.5),
        unit: 'ms',
        baseline: { name: 'the same without the projection (p50)', value: quantile(before.all, 0.5) },
        ratio: quantile(after.all, 0.5) / quantile(before.all, 0.5),
      },
      {
        metric: `mix, ${MIX_CLIENTS} clients: all routes p99`,
        value: mixP99,
        unit: 'ms',
        baseline: { name: 'the same without the projection (p99)', value: mixBefore99 },
        ratio: mixP99 / mixBefore99,
        target: `p99 ≤ ${MIX_TARGET_MS} ms at 10 M rows: ${mixP99 <= MIX_TARGET_MS ? 'met' : 'missed'}${
          rows === 10_000_000 ? '' : ` (measured at ${rows} rows)`
        }`,
      },
    );
    ctx.log(`mix p99: ${mixBefore99.toFixed(1)} → ${mixP99.toFixed(1)} ms (target ≤ ${MIX_TARGET_MS} ms)`);
    const secondsWaited = waited.map((w) => w.seconds).sort((a, b) => a - b);
    const slowest = secondsWaited[secondsWaited.length - 1] ?? Number.NaN;
    const loadedP99 = quantile(loaded.all, 0.99);
    figures.push(
      {
        metric: `${REPORT_CLIENTS} polite report clients: 30-day reports served`,
        value: waited.length,
        unit: `of ${REPORT_CLIENTS}`,
      },
      {
        metric: `${REPORT_CLIENTS} polite report clients: the slowest waited for its report`,
        value: slowest,
        unit: 's',
        baseline: { name: 'one report alone (median of 3)', value: quantile(reportAlone, 0.5) / 1000 },
        ratio: slowest / (quantile(reportAlone, 0.5) / 1000),
        target: `each within ${REPORT_TARGET_S} s: ${slowest <= REPORT_TARGET_S ? 'met' : 'missed'}`,
      },
      {
        metric: `${REPORT_CLIENTS} polite report clients: median wait for a report`,
        value: quantile(secondsWaited, 0.5),
        unit: 's',
      },
      {
        metric: `${REPORT_CLIENTS} polite report clients: refusals (429/503) they waited out`,
        value: waited.reduce((n, w) => n + w.refused, 0),
        unit: 'answers',
      },
      {
        metric: `mix, ${MIX_CLIENTS} clients, beside the report clients: all routes p50`,
        value: quantile(loaded.all, 0.5),
        unit: 'ms',
        baseline: { name: 'the mix alone, as shipped (p50)', value: quantile(after.all, 0.5) },
        ratio: quantile(loaded.all, 0.5) / quantile(after.all, 0.5),
      },
      {
        metric: `mix, ${MIX_CLIENTS} clients, beside the report clients: all routes p99`,
        value: loadedP99,
        unit: 'ms',
        baseline: { name: 'the mix alone, as shipped (p99)', value: mixP99 },
        ratio: loadedP99 / mixP99,
        target: `p99 ≤ ${MIX_TARGET_MS} ms: ${loadedP99 <= MIX_TARGET_MS ? 'met' : 'missed'}`,
      },
    );
    for (const path of MIX)
      ctx.log(
        `beside reports ${path}: p50 ${quantile(loaded.byRoute.get(path)!, 0.5).toFixed(1)} ms, p99 ` +
          `${quantile(loaded.byRoute.get(path)!, 0.99).toFixed(1)} ms`,
      );
    ctx.log(
      `reports: ${waited.length} of ${REPORT_CLIENTS} served, slowest after ${slowest.toFixed(1)} s, one alone ` +
        `${(quantile(reportAlone, 0.5) / 1000).toFixed(2)} s; mix beside them p99 ${loadedP99.toFixed(1)} ms`,
    );

    // Storage per million failure rows (with a tenth as many successes): every table of the database,
    // and the share of the projection of migration 0010 in it.
    const bytes = async (table: string) => {
      const rs = await admin.query({
        query: `SELECT sum(bytes_on_disk) AS b FROM system.${table} WHERE database = {db:String} AND active`,
        query_params: { db: database },
        format: 'JSONEachRow',
      });
      return Number((await rs.json<{ b: number | string }>())[0]?.b ?? 0);
    };
    const MIB = 2 ** 20;
    const perMillion = (b: number) => b / MIB / (rows / 1_000_000);
    const total = await bytes('parts');
    const projection = await bytes('projection_parts');
    figures.push({
      metric: 'storage per million failure rows (all tables, on disk)',
      value: perMillion(total),
      unit: 'MiB',
      baseline: { name: 'the same without the by_time projection (0010)', value: perMillion(total - projection) },
      ratio: total / (total - projection),
    });
    ctx.log(
      `storage: ${perMillion(total).toFixed(1)} MiB per million rows, ${perMillion(projection).toFixed(1)} of it the projection`,
    );
  } finally {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await admin.close();
  }
  return {
    name: 'query API',
    figures,
    notes: [
      `${rows} failure rows and ${Math.ceil(rows / 10)} successes over 30 days across ${clusters} clusters, 8 ` +
        `registries, 2000 nodes; ${TIMED} timed requests per route after 3 warm-ups, one at a time, once ` +
        `background merges of the load have finished.`,
      `Mix: ${MIX_CLIENTS} clients cycling through ${MIX.length} dashboard routes, ${MIX_ROUNDS} rounds each, in ` +
        `${MIX_BLOCKS} blocks taking turns between an API that reads no projection (optimize_use_projections 0: the ` +
        `schema before migration 0010, the baseline) and the API as shipped.`,
      `Reports: ${REPORT_CLIENTS} clients, each with its own token, ask ${REPORT_PATH.replace('FROM30', '<30 days ago>')} ` +
        `once, waiting out every 429/503 for its Retry-After, while the ${MIX_CLIENTS} mix clients cycle until the ` +
        `last report is served.`,
    ],
  };
}
