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

    const api = createQueryApi(
      loadQueryApiConfig({
        PULLWATCH_API_PORT: '0',
        PULLWATCH_API_TOKENS: 'bench',
        PULLWATCH_CLICKHOUSE_DATABASE: database,
        PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
      }),
      {
        logger: createLogger('bench-api', 'warn'),
        metrics: createMetricsRegistry('bench-api'),
        clickhouse: createClickHouse({ ...e.clickhouse }),
      },
    );
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
    await api.stop();
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
    ],
  };
}
