import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureDatabase } from '../../../../test/support/fixture-database.ts';
import type { QueryApi } from '../query-api.ts';
import { DEFAULT_LIMITS } from '../limits/config.ts';
import { limitError } from '../limits/errors.ts';
import { limitedClickHouse } from '../limits/isolation.ts';
import {
  fixtureClock,
  type PodStateFixture,
  podStateRow,
  type PullEventFixture,
  pullEventRow,
} from '../test-support/rows.ts';
import { startTestApi } from '../test-support/api.ts';
import { until } from '../../../../test/support/until.ts';

const db = new FixtureDatabase('reports_it');
const { admin, database } = db;
const NOW = new Date('2026-11-24T12:00:00Z');
const clock = fixtureClock(NOW);
const { at } = clock;
const TOKEN = 'reports-token';
const WEIRD = 'quay.io/acme/"weird",img:1';

const ev = (o: PullEventFixture) => pullEventRow(clock, { repository: 'r', ...o });
const state = (o: PodStateFixture) => podStateRow(clock, o);

const WEB = 'docker.io/acme/web:1';
const PG = 'ghcr.io/acme/pg:1';
let api: QueryApi;
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
const json = async (path: string) => {
  const res = await get(path);
  expect(res.status, path).toBe(200);
  return (await res.json()) as {
    groups: { key: Record<string, unknown>; [k: string]: unknown }[];
    totals: Record<string, unknown>;
    nextCursor: string | null;
    groupBy: string[];
  };
};

beforeAll(async () => {
  await db.migrate();
  const common = { registry: 'docker.io', image: WEB };
  await db.insert('pull_events', [
    ev({
      ...common,
      cluster: 'prod',
      namespace: 'shop',
      pod: 'web-7d9f8b6c5-x2k9p',
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 5,
      minAgo: 30,
      uid: 'a',
    }),
    ev({
      ...common,
      cluster: 'prod',
      namespace: 'shop',
      pod: 'web-7d9f8b6c5-b4m7q',
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 3,
      minAgo: 20,
      uid: 'b',
    }),
    ev({
      ...common,
      cluster: 'prod',
      namespace: 'shop',
      pod: 'web-7d9f8b6c5-x2k9p',
      outcome: 'success',
      occurrences: 10,
      minAgo: 10,
      uid: 'c',
    }),
    ev({
      cluster: 'prod',
      namespace: 'db',
      pod: 'postgres-0',
      registry: 'ghcr.io',
      image: PG,
      outcome: 'failure',
      cause: 'not_found',
      occurrences: 4,
      minAgo: 15,
      uid: 'd',
    }),
    ev({
      cluster: 'prod',
      namespace: 'db',
      pod: 'postgres-0',
      registry: 'ghcr.io',
      image: PG,
      outcome: 'success',
      occurrences: 1,
      minAgo: 5,
      uid: 'e',
    }),
    ev({
      ...common,
      cluster: 'dev',
      namespace: 'shop',
      pod: 'web-5c6b7d8f9-zq4wm',
      outcome: 'failure',
      cause: 'unauthorized',
      occurrences: 2,
      minAgo: 40,
      uid: 'f',
    }),
    ev({
      cluster: 'dev',
      namespace: 'batch',
      pod: 'nightly-28919520-lk8vq',
      registry: 'quay.io',
      image: WEIRD,
      outcome: 'failure',
      cause: 'not_found',
      occurrences: 7,
      minAgo: 50,
      uid: 'g',
    }),
    // Three days ago: outside the default window (the last 24 h).
    ev({
      ...common,
      cluster: 'prod',
      namespace: 'shop',
      pod: 'web-7d9f8b6c5-x2k9p',
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 100,
      minAgo: 3 * 1440,
      uid: 'old',
    }),
  ]);
  await db.insert('pod_pull_state', [
    state({
      cluster: 'prod',
      namespace: 'db',
      pod: 'postgres-0',
      registry: 'ghcr.io',
      image: PG,
      cause: 'not_found',
      first: 15,
      last: 6,
      recovered: 5,
    }),
    state({
      cluster: 'dev',
      namespace: 'shop',
      pod: 'web-5c6b7d8f9-zq4wm',
      registry: 'docker.io',
      image: WEB,
      cause: 'unauthorized',
      first: 40,
      last: 1,
    }),
    state({
      cluster: 'prod',
      namespace: 'shop',
      pod: 'web-7d9f8b6c5-x2k9p',
      registry: 'docker.io',
      image: WEB,
      cause: 'rate_limited',
      first: 30,
      last: 12,
      recovered: 10,
    }),
  ]);
  await db.insert('incidents', [
    {
      id: 'i1',
      registry: 'docker.io',
      cause: 'rate_limited',
      scope: 'cluster',
      clusters: ['prod'],
      images: [WEB],
      failures: 8,
      start: at(30),
      last_seen: at(20),
      end: null,
      status: 'open',
      updated_at: at(20),
    },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'teams-'));
  writeFileSync(join(dir, 'teams.yaml'), 'namespaces:\n  shop: web-team\nclusters:\n  dev:\n    batch: data-team\n');
  api = await startTestApi(
    'reports-it',
    {
      PULLWATCH_API_TOKENS: TOKEN,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
      PULLWATCH_TEAMS_FILE: join(dir, 'teams.yaml'),
      PULLWATCH_API_REPORT_QUEUE: '0',
    },
    () => NOW,
  );
});

afterAll(async () => {
  await api?.stop();
  await db.drop();
});

const TOTALS = {
  failures: 21,
  successes: 11,
  failureRate: 0.65625,
  pods: 5,
  stuckPodHours: 1.15,
  incidents: 1,
  medianRecoverySeconds: 900,
};

describe('GET /v1/reports/failures', () => {
  it('groups by namespace, failures counted as /v1/registries counts them', async () => {
    const r = await json('/v1/reports/failures?groupBy=namespace');
    expect(r.groupBy).toEqual(['namespace']);
    expect(r.groups).toEqual([
      {
        key: { namespace: 'shop' },
        failures: 10,
        successes: 10,
        failureRate: 0.5,
        pods: 3,
        stuckPodHours: 0.983,
        incidents: null,
        medianRecoverySeconds: 1200,
      },
      {
        key: { namespace: 'batch' },
        failures: 7,
        successes: 0,
        failureRate: 1,
        pods: 1,
        stuckPodHours: 0,
        incidents: null,
        medianRecoverySeconds: null,
      },
      {
        key: { namespace: 'db' },
        failures: 4,
        successes: 1,
        failureRate: 0.8,
        pods: 1,
        stuckPodHours: 0.167,
        incidents: null,
        medianRecoverySeconds: 600,
      },
    ]);
    expect(r.totals).toEqual(TOTALS);
    expect(r.nextCursor).toBeNull();
  });

  it('per registry: the same failures and successes as /v1/registries, plus incidents', async () => {
    const r = await json('/v1/reports/failures?groupBy=registry');
    const reg = (await (await get('/v1/registries')).json()) as {
      registries: { registry: string; failures: number; successes: number; pods: number }[];
    };
    expect(r.groups.map((g) => [g.key.registry, g.failures, g.successes, g.pods])).toEqual(
      reg.registries.map((g) => [g.registry, g.failures, g.successes, g.pods]),
    );
    expect(r.groups.map((g) => [g.key.registry, g.failures, g.successes, g.incidents])).toEqual([
      ['docker.io', 10, 10, 1],
      ['quay.io', 7, 0, 0],
      ['ghcr.io', 4, 1, 0],
    ]);
  });

  it('per team from the mapping file, unknown namespaces null; filtered by team', async () => {
    const r = await json('/v1/reports/failures?groupBy=team');
    expect(r.groups.map((g) => [g.key, g.failures, g.successes, g.pods])).toEqual([
      [{ team: 'web-team' }, 10, 10, 3],
      [{ team: 'data-team' }, 7, 0, 1],
      [{ team: null }, 4, 1, 1],
    ]);
    const f = await json('/v1/reports/failures?groupBy=cluster&team=web-team');
    expect(f.groups.map((g) => [g.key, g.failures, g.successes, g.stuckPodHours])).toEqual([
      [{ cluster: 'prod' }, 8, 10, 0.333],
      [{ cluster: 'dev' }, 2, 0, 0.65],
    ]);
    expect(f.totals).toMatchObject({ failures: 10, successes: 10, pods: 3, incidents: null });
  });

  it('per workload inferred from Pod names, marked inferred; keyset pages cover it exactly once', async () => {
    const all = await json('/v1/reports/failures?groupBy=workload');
    const k = (cluster: string, namespace: string, workload: string, workloadKind: string) => ({
      cluster,
      namespace,
      workload,
      workloadKind,
      inferred: true,
    });
    expect(all.groups.map((g) => [g.key, g.failures, g.successes, g.pods])).toEqual([
      [k('prod', 'shop', 'web', 'Deployment'), 8, 10, 2],
      [k('dev', 'batch', 'nightly', 'CronJob'), 7, 0, 1],
      [k('prod', 'db', 'postgres', 'StatefulSet'), 4, 1, 1],
      [k('dev', 'shop', 'web', 'Deployment'), 2, 0, 1],
    ]);
    const pages: unknown[] = [];
    let cursor: string | null = null;
    let requests = 0;
    do {
      const p = await json(`/v1/reports/failures?groupBy=workload&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(...p.groups);
      cursor = p.nextCursor;
      requests += 1;
    } while (cursor);
    expect(requests).toBe(4);
    expect(pages).toEqual(all.groups);
    const bad = await get('/v1/reports/failures?groupBy=workload&cursor=bm9wZQ');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe(
      'cursor: not a cursor this API returned',
    );
  });

  it(
    'per cause and registry: successes of the registry ' + 'beside each cause, as /v1/registries?cause= counts',
    async () => {
      const r = await json('/v1/reports/failures?groupBy=registry,cause');
      expect(r.groups.map((g) => [g.key, g.failures, g.successes, g.failureRate, g.incidents])).toEqual([
        [{ registry: 'docker.io', cause: 'rate_limited' }, 8, 10, 0.444444, 1],
        [{ registry: 'quay.io', cause: 'not_found' }, 7, 0, 1, 0],
        [{ registry: 'ghcr.io', cause: 'not_found' }, 4, 1, 0.8, 0],
        [{ registry: 'docker.io', cause: 'unauthorized' }, 2, 10, 0.166667, 0],
      ]);
      const reg = (await (await get('/v1/registries?cause=rate_limited')).json()) as {
        registries: { registry: string; failures: number; successes: number }[];
      };
      expect(reg.registries.find((x) => x.registry === 'docker.io')).toMatchObject({ failures: 8, successes: 10 });
    },
  );

  it('CSV by Accept or format=csv, quoted properly', async () => {
    const want = [
      'image,failures,successes,failureRate,pods,stuckPodHours,incidents,medianRecoverySeconds',
      `${WEB},10,10,0.5,3,0.983,1,1200`,
      '"quay.io/acme/""weird"",img:1",7,0,1,1,0,0,',
      `${PG},4,1,0.8,1,0.167,0,600`,
      '',
    ].join('\r\n');
    const byAccept = await get('/v1/reports/failures?groupBy=image', { accept: 'text/csv' });
    expect(byAccept.status).toBe(200);
    expect(byAccept.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await byAccept.text()).toBe(want);
    const byParam = await get('/v1/reports/failures?groupBy=image&format=csv&limit=2');
    expect(await byParam.text()).toBe(`${want.split('\r\n').slice(0, 3).join('\r\n')}\r\n`);
    expect(byParam.headers.get('x-next-cursor')).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('rejects unknown and repeated dimensions, and is in the OpenAPI document', async () => {
    for (const q of ['groupBy=node', 'groupBy=cluster,cluster', 'groupBy=', 'team=']) {
      const res = await get(`/v1/reports/failures?${q}`);
      expect(res.status, q).toBe(400);
    }
    const spec = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string }[]; responses: Record<string, unknown> } }>;
    };
    const op = spec.paths['/v1/reports/failures']!.get;
    expect(op.parameters.map((p) => p.name).sort()).toEqual(
      ['cluster', 'cursor', 'format', 'from', 'groupBy', 'limit', 'namespace', 'registry', 'team', 'to'].sort(),
    );
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '422', '429', '503', '504']);
  });
});

describe('load isolation', () => {
  it('answers 429 with Retry-After when the report class is full, while dashboards still answer', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    // Fill the report slot (default concurrency 1; the queue is 0 here) from another token.
    const holders = [api.isolation.run('report', 'x', () => held)];
    const refused = await get('/v1/reports/failures?groupBy=cluster');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_many_requests');
    // A 30-day trend is a report too; a 24-hour one is a dashboard read.
    expect((await get('/v1/trends?interval=1d&from=2026-10-25T12:00:00Z')).status).toBe(429);
    expect((await get('/v1/trends?interval=1h')).status).toBe(200);
    release();
    await Promise.all(holders);
    expect((await get('/v1/reports/failures?groupBy=cluster')).status).toBe(200);
  });

  it('queues reports behind a busy slot and serves each in turn; refuses only past the queue or a token’s share', async () => {
    const tokens = ['queue-a', 'queue-b', 'queue-c', 'queue-d', 'queue-e'];
    const queued = await startTestApi(
      'reports-queue',
      {
        PULLWATCH_API_TOKENS: tokens.join(','),
        PULLWATCH_CLICKHOUSE_DATABASE: database,
        PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
        PULLWATCH_API_REPORT_QUEUE: '3',
        PULLWATCH_API_REPORT_QUEUE_TIMEOUT_MS: '600000',
        PULLWATCH_API_REPORT_PER_TOKEN: '1',
      },
      () => NOW,
    );
    try {
      const path = '/v1/reports/failures?groupBy=registry,cause';
      const ask = (token: string) =>
        fetch(`${queued.url}${path}`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
          status: r.status,
          retryAfter: r.headers.get('retry-after'),
          body: (await r.json()) as unknown,
        }));
      const alone = await ask(tokens[0]!);
      expect(alone.status).toBe(200);
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      const holder = queued.isolation.run('report', 'holder', () => held);
      // Three tokens wait for the one slot, in arrival order.
      const waiting = tokens.slice(0, 3).map((t) => ask(t));
      await until(() => queued.isolation.queued('report') === 3, 'three reports queued');
      // The queue is full: the fourth token is refused, and so is a token's second report (its share is 1).
      expect(await ask(tokens[3]!)).toMatchObject({ status: 429, retryAfter: '2' });
      expect(await ask(tokens[0]!)).toMatchObject({ status: 429, retryAfter: '2' });
      expect(queued.isolation.queued('report')).toBe(3);
      release();
      await holder;
      // Each waiting report is served, the same report as asked alone.
      expect(await Promise.all(waiting)).toEqual(
        tokens.slice(0, 3).map(() => ({ status: 200, retryAfter: null, body: alone.body })),
      );
      expect(queued.isolation.queued('report')).toBe(0);
      expect(queued.isolation.active('report')).toBe(0);
      expect((await ask(tokens[4]!)).status).toBe(200);
    } finally {
      await queued.stop();
    }
  });

  it('maps ClickHouse limit errors by code: rows 503, memory 503, time 504', async () => {
    const tiny = {
      ...DEFAULT_LIMITS,
      classes: {
        ...DEFAULT_LIMITS.classes,
        report: {
          ...DEFAULT_LIMITS.classes.report,
          settings: {
            max_execution_time: 0.2,
            max_memory_usage: 1_000_000,
            max_rows_to_read: 1000,
            priority: 10,
            max_threads: 1,
          },
        },
      },
    };
    const ch = limitedClickHouse(admin, tiny, 'report');
    const failure = (query: string) =>
      ch.query({ query, format: 'JSONEachRow' }).then(
        () => null,
        (err: unknown) => limitError(err),
      );
    expect(await failure('SELECT count() FROM numbers(100000)')).toMatchObject({
      status: 503,
      limit: 'max_rows_to_read',
      code: 'query_too_many_rows',
    });
    expect(await failure('SELECT uniqExact(number) FROM numbers(1000000) SETTINGS max_rows_to_read = 0')).toMatchObject(
      { status: 503, limit: 'max_memory_usage' },
    );
    expect(
      await failure(
        'SELECT count() FROM numbers(10000000000) WHERE sipHash64(number) = 0 SETTINGS max_rows_to_read = 0, ' +
          'max_memory_usage = 0',
      ),
    ).toMatchObject({ status: 504, limit: 'max_execution_time', code: 'query_timeout' });
  });

  it('a report over its row limit ends in 503 naming max_rows_to_read', async () => {
    const limited = await startTestApi(
      'reports-it-2',
      {
        PULLWATCH_API_TOKENS: TOKEN,
        PULLWATCH_CLICKHOUSE_DATABASE: database,
        PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
        PULLWATCH_API_REPORT_MAX_ROWS_TO_READ: '2',
      },
      () => NOW,
    );
    try {
      const res = await fetch(`${limited.url}/v1/reports/failures?groupBy=image`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(await res.json()).toEqual({
        error: {
          code: 'query_too_many_rows',
          message:
            'the query would read more rows than its max_rows_to_read and was stopped; narrow the window or ' +
            'the filters',
        },
      });
    } finally {
      await limited.stop();
    }
  });
});
