import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints } from '../../../test/support/endpoints.ts';
import { FixtureDatabase } from '../../../test/support/fixture-database.ts';
import { loadQueryApiConfig } from './config.ts';
import { createQueryApi, type QueryApi } from './query-api.ts';
import { startTestApi, V1_ROUTES } from './test-support/api.ts';
import {
  fixtureClock,
  openIncidentRow,
  type ShopPullFixture,
  shopPullRow,
  shopStuckPodRow,
} from './test-support/rows.ts';

const endpoints = testEndpoints();
const db = new FixtureDatabase('query_api_it');
const { database } = db;
const NOW = new Date('2026-11-24T12:00:00Z');
const clock = fixtureClock(NOW);
const TOKEN = 'test-token-1';
const row = (o: ShopPullFixture) => shopPullRow(clock, o);

let api: QueryApi;
const get = (path: string, token: string | null = TOKEN) =>
  fetch(`${api.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  await db.migrate();
  await db.insert('pull_events', [
    row({
      cluster: 'us',
      registry: 'docker.io',
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 7,
      minAgo: 30,
      node: 'n1',
      uid: 'a',
      tagKind: 'latest',
      policy: 'Always',
    }),
    row({
      cluster: 'us',
      registry: 'docker.io',
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 3,
      minAgo: 20,
      node: 'n2',
      pod: 'web-2',
      uid: 'b',
    }),
    row({
      cluster: 'eu',
      registry: 'docker.io',
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 2,
      minAgo: 10,
      uid: 'c',
    }),
    row({ cluster: 'eu', registry: 'docker.io', outcome: 'success', occurrences: 10, minAgo: 10, uid: 'd' }),
    row({
      cluster: 'eu',
      registry: 'ghcr.io',
      outcome: 'failure',
      cause: 'not_found',
      occurrences: 4,
      minAgo: 5,
      uid: 'e',
      workload: ['Deployment', 'web', false],
      team: 'payments',
    }),
    row({
      cluster: 'eu',
      registry: 'reg.corp:5000',
      outcome: 'failure',
      cause: 'unauthorized',
      occurrences: 1,
      minAgo: 5,
      uid: 'f',
      secrets: 0,
    }),
    row({
      cluster: 'eu',
      registry: 'ghcr.io',
      outcome: 'failure',
      cause: 'not_found',
      occurrences: 9,
      minAgo: 60 * 30,
      uid: 'old',
    }),
  ]);
  await db.insert('incidents', [
    openIncidentRow(clock, {
      id: 'i1',
      registry: 'docker.io',
      cause: 'rate_limited',
      clusters: ['us'],
      images: ['docker.io/acme/web:1'],
      failures: 10,
      start: 30,
      lastSeen: 20,
    }),
  ]);
  await db.insert('pod_pull_state', [
    shopStuckPodRow(clock, {
      pod: 'web-9',
      first: 40,
      last: 1,
      attempts: 12,
      hint: 'check the tag',
      workload: ['StatefulSet', 'web', true],
      team: 'payments',
    }),
    // Failed for hours, then nothing for two: fixed or deleted, no longer stuck.
    shopStuckPodRow(clock, { pod: 'gone-1', first: 600, last: 120, attempts: 40 }),
  ]);
  api = await startTestApi(
    'api-test',
    { PULLWATCH_API_TOKENS: `${TOKEN},other`, PULLWATCH_CLICKHOUSE_DATABASE: database },
    () => NOW,
  );
});

afterAll(async () => {
  await api.stop();
  await db.drop();
});

const ROUTES = V1_ROUTES;

describe('query API on the real ClickHouse', () => {
  it('reports per-registry failures, successes and rates from the aggregates', async () => {
    const body = (await (await get('/v1/registries')).json()) as {
      from: string;
      to: string;
      registries: {
        registry: string;
        failures: number;
        successes: number;
        failureRate: number;
        clusters: number;
        byCause: Record<string, number>;
      }[];
    };
    expect(body.to).toBe(NOW.toISOString());
    expect(body.registries.map((r) => [r.registry, r.failures, r.successes, r.clusters])).toEqual([
      ['docker.io', 12, 10, 2],
      ['ghcr.io', 4, 0, 1],
      ['reg.corp:5000', 1, 0, 1],
    ]);
    expect(body.registries[0]!.failureRate).toBeCloseTo(12 / 22);
    expect(body.registries[0]!.byCause).toEqual({ rate_limited: 12 });
    const eu = (await (await get('/v1/registries?cluster=eu&cause=rate_limited')).json()) as {
      registries: { registry: string; failures: number }[];
    };
    expect(eu.registries.map((r) => [r.registry, r.failures])).toEqual([['docker.io', 2]]);
  });

  it('finds rate-limit hotspots by cluster and by node', async () => {
    const byCluster = (await (await get('/v1/hotspots/rate-limit')).json()) as {
      hotspots: { cluster: string; failures: number; node: string | null }[];
    };
    expect(byCluster.hotspots.map((h) => [h.cluster, h.failures, h.node])).toEqual([
      ['us', 10, null],
      ['eu', 2, null],
    ]);
    const byNode = (await (await get('/v1/hotspots/rate-limit?groupBy=node')).json()) as {
      hotspots: { cluster: string; node: string; failures: number }[];
    };
    expect(byNode.hotspots.map((h) => [h.cluster, h.node, h.failures])).toEqual([
      ['us', 'n1', 7],
      ['us', 'n2', 3],
      ['eu', 'n1', 2],
    ]);
  });

  it('lists incidents, stuck pods, failures with pagination, trends with filled buckets and risks', async () => {
    const inc = (await (await get('/v1/incidents?status=open')).json()) as {
      incidents: { id: string; scope: string; clusters: string[] }[];
    };
    expect(inc.incidents).toMatchObject([{ id: 'i1', scope: 'cluster', clusters: ['us'] }]);
    expect(((await (await get('/v1/incidents?status=resolved')).json()) as { incidents: unknown[] }).incidents).toEqual(
      [],
    );
    const stuck = (await (await get('/v1/pods/stuck')).json()) as {
      pods: { pod: string; attempts: number; hint: string }[];
    };
    expect(stuck.pods).toMatchObject([
      {
        pod: 'web-9',
        attempts: 12,
        hint: 'check the tag',
        workload: { kind: 'StatefulSet', name: 'web', inferred: true },
        team: 'payments',
      },
    ]);

    type Failure = { occurrences: number; workload: unknown; team: string | null };
    const page1 = (await (await get('/v1/failures?limit=4')).json()) as {
      failures: Failure[];
      nextCursor: string;
    };
    expect(page1.failures).toHaveLength(4);
    const page2 = (await (await get(`/v1/failures?limit=4&cursor=${page1.nextCursor}`)).json()) as {
      failures: Failure[];
      nextCursor: string | null;
    };
    expect(page2.failures).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    expect([...page1.failures, ...page2.failures].reduce((n, f) => n + f.occurrences, 0)).toBe(17);
    // The workload and team as stored (migration 0006); rows without them say null, not ''.
    expect(
      [...page1.failures, ...page2.failures]
        .map((f) => [f.occurrences, f.workload, f.team])
        .sort((a, b) => Number(a[0]) - Number(b[0])),
    ).toEqual([
      [1, null, null],
      [2, null, null],
      [3, null, null],
      [4, { kind: 'Deployment', name: 'web', inferred: false }, 'payments'],
      [7, null, null],
    ]);

    const trends = (await (await get('/v1/trends?interval=1h')).json()) as {
      series: { failures: number; successes: number }[];
    };
    expect(trends.series).toHaveLength(24);
    expect(trends.series.reduce((n, s) => n + s.failures, 0)).toBe(17);
    expect(trends.series.reduce((n, s) => n + s.successes, 0)).toBe(10);

    const risks = (await (await get('/v1/risks')).json()) as {
      mutableTags: { tag: string }[];
      alwaysPullFromRateLimitedRegistries: { registry: string }[];
      privateWithoutPullSecrets: { registry: string; pullSecrets: string }[];
    };
    expect(risks.mutableTags).toMatchObject([{ tag: 'latest' }]);
    expect(risks.alwaysPullFromRateLimitedRegistries).toMatchObject([{ registry: 'docker.io' }]);
    expect(risks.privateWithoutPullSecrets).toMatchObject([{ registry: 'reg.corp:5000', pullSecrets: 'none' }]);
  });

  it('requires a valid token on every /v1 route', async () => {
    for (const r of ROUTES) {
      for (const token of [null, 'wrong']) {
        const res = await get(r, token);
        expect(res.status, `${r} ${token}`).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      }
    }
  });

  it('answers 400 naming the bad parameter, and injection strings change nothing', async () => {
    const bad: [string, string][] = [
      ['/v1/registries?from=yesterday', 'from'],
      ['/v1/trends?interval=7m', 'interval'],
      ['/v1/failures?limit=0', 'limit'],
      ['/v1/incidents?status=maybe', 'status'],
      ['/v1/registries?cause=bogus', 'cause'],
      ['/v1/failures?cursor=zzz', 'cursor'],
      ['/v1/pods/stuck?nope=1', 'nope'],
      ['/v1/trends?interval=1m&from=2026-11-01T00:00:00Z', 'interval'],
      ['/v1/registries?from=2026-01-01T00:00:00Z', 'from'],
    ];
    for (const [path, param] of bad) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message.startsWith(`${param}:`), path).toBe(
        true,
      );
    }
    // Each filter, first with a value that matches (so the assertion can fail), then with hostile strings,
    // which must match nothing: every route answers 200 with exactly the empty set, or 400 for a value
    // longer than a name may be (512), naming the parameter.
    type Body = Record<string, unknown>;
    const filters: {
      route: string;
      param: string;
      real: string;
      pick: (b: Body) => unknown;
      matched: unknown;
      empty: unknown;
    }[] = [
      {
        route: '/v1/registries',
        param: 'cluster',
        real: 'us',
        pick: (b) => (b.registries as { registry: string }[]).map((r) => r.registry),
        matched: ['docker.io'],
        empty: [],
      },
      {
        route: '/v1/hotspots/rate-limit',
        param: 'registry',
        real: 'docker.io',
        pick: (b) => (b.hotspots as { cluster: string }[]).map((h) => h.cluster),
        matched: ['us', 'eu'],
        empty: [],
      },
      {
        route: '/v1/failures',
        param: 'image',
        real: 'ghcr.io/acme/web:1',
        pick: (b) => (b.failures as { occurrences: number }[]).map((f) => f.occurrences),
        matched: [4],
        empty: [],
      },
      {
        route: '/v1/pods/stuck',
        param: 'cluster',
        real: 'eu',
        pick: (b) => (b.pods as { pod: string }[]).map((p) => p.pod),
        matched: ['web-9'],
        empty: [],
      },
      {
        route: '/v1/risks',
        param: 'cluster',
        real: 'eu',
        pick: (b) => [
          (b.mutableTags as unknown[]).length,
          (b.alwaysPullFromRateLimitedRegistries as unknown[]).length,
          (b.privateWithoutPullSecrets as { registry: string }[]).map((r) => r.registry),
        ],
        matched: [0, 0, ['reg.corp:5000']],
        empty: [0, 0, []],
      },
      {
        route: '/v1/trends',
        param: 'registry',
        real: 'docker.io',
        pick: (b) => {
          const series = b.series as { failures: number; successes: number }[];
          return [
            series.length,
            series.reduce((n, x) => n + x.failures, 0),
            series.reduce((n, x) => n + x.successes, 0),
          ];
        },
        matched: [24, 12, 10],
        empty: [24, 0, 0],
      },
    ];
    for (const f of filters) {
      const res = await get(`${f.route}?${f.param}=${encodeURIComponent(f.real)}`);
      expect(res.status, `${f.route} ${f.param}=${f.real}`).toBe(200);
      expect(f.pick((await res.json()) as Body), `${f.route} ${f.param}=${f.real}`).toEqual(f.matched);
      for (const evil of ["' OR 1=1 --", "\\'", '{x:String}', 'ü🙂\u0000']) {
        const r = await get(`${f.route}?${f.param}=${encodeURIComponent(evil)}`);
        expect(r.status, `${f.route} ${evil}`).toBe(200);
        expect(f.pick((await r.json()) as Body), `${f.route} ${evil}`).toEqual(f.empty);
      }
      const long = await get(`${f.route}?${f.param}=${'x'.repeat(10_000)}`);
      expect(long.status, `${f.route} long`).toBe(400);
      expect(((await long.json()) as { error: { code: string; message: string } }).error).toEqual({
        code: 'bad_parameter',
        message: `${f.param}: Too big: expected string to have <=512 characters`,
      });
    }
    const after = (await (await get('/v1/registries')).json()) as { registries: unknown[] };
    expect(after.registries).toHaveLength(3);
  });

  it('serves OpenAPI for every route, 404 as JSON, and 503 when ClickHouse is unreachable', async () => {
    const spec = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, { get: { parameters: { name: string }[] } }>;
    };
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths).sort()).toEqual([...ROUTES].sort());
    expect(spec.paths['/v1/failures']!.get.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['from', 'to', 'cluster', 'cause', 'limit', 'cursor']),
    );
    expect((await get('/v1/nope')).status).toBe(404);

    const down = createQueryApi(
      loadQueryApiConfig({
        PULLWATCH_API_PORT: '0',
        PULLWATCH_API_TOKENS: TOKEN,
        PULLWATCH_CLICKHOUSE_DATABASE: database,
      }),
      {
        logger: createLogger('api-test', 'silent'),
        metrics: createMetricsRegistry('api-down'),
        clickhouse: createClickHouse({
          url: 'http://127.0.0.1:1',
          user: 'default',
          password: '',
          requestTimeoutMs: 2000,
        }),
      },
    );
    await down.start();
    try {
      // Every route that reads ClickHouse answers the same: one read path, one typed error, 503.
      const reads = ROUTES.filter((r) => r !== '/v1/alerts').map((r) =>
        r === '/v1/reports/failures' ? `${r}?groupBy=cluster` : r,
      );
      for (const r of reads) {
        const res = await fetch(`${down.url}${r}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(res.status, r).toBe(503);
        expect(await res.json(), r).toMatchObject({ error: { code: 'unavailable' } });
      }
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
    } finally {
      await down.stop();
    }
  });

  it(
    'answers 500 when ClickHouse refuses the query, even ' + 'when its error text reads like a network failure',
    async () => {
      // The missing database's name lands in ClickHouse's error message: only the error's class may decide.
      const broken = createQueryApi(
        loadQueryApiConfig({
          PULLWATCH_API_PORT: '0',
          PULLWATCH_API_TOKENS: TOKEN,
          PULLWATCH_CLICKHOUSE_DATABASE: 'pw_ECONNREFUSED_timed_out',
        }),
        {
          logger: createLogger('api-test', 'silent'),
          metrics: createMetricsRegistry('api-broken'),
          clickhouse: createClickHouse({ ...endpoints.clickhouse }),
        },
      );
      await broken.start();
      try {
        const res = await fetch(`${broken.url}/v1/registries`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({
          error: { code: 'internal', message: 'the query failed; see the server log' },
        });
      } finally {
        await broken.stop();
      }
    },
  );
});
