import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import type { QueryApi } from './query-api.ts';
import { fixtureClock, type PullEventFixture, pullEventRow } from './test-support/rows.ts';
import { startTestApi } from './test-support/api.ts';

// Hostile requests to the query API (issue 21, item 4): each answered with its documented status, never a
// 500, and none of them grows the API's memory or its /metrics.
const endpoints = testEndpoints();
const database = uniqueName('hardening_it');
const admin = createClickHouse({ ...endpoints.clickhouse });
const NOW = new Date('2026-11-24T12:00:00Z');
const clock = fixtureClock(NOW);
const TOKEN = 'hardening-token-0123456789';
let api: QueryApi;
/** The same data, with a report limit of 3 groups. */
let small: QueryApi;

const ev = (o: Partial<PullEventFixture> & { uid: string }) =>
  pullEventRow(clock, {
    cluster: 'prod',
    namespace: 'shop',
    pod: 'web-1',
    image: 'docker.io/acme/web:1',
    outcome: 'failure',
    cause: 'not_found',
    occurrences: 1,
    minAgo: 10,
    ...o,
  });
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const get = (base: QueryApi, path: string, headers: Record<string, string> = {}) =>
  fetch(`${base.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

// Namespaces whose cells a spreadsheet would run as formulas.
const FORMULAS = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'];

beforeAll(async () => {
  await migrate(admin, { database, ttlDays: 90 });
  await admin.insert({
    table: `${database}.pull_events`,
    format: 'JSONEachRow',
    clickhouse_settings: { async_insert: 0 },
    values: [
      ...FORMULAS.map((namespace, i) => ev({ cluster: 'csv', namespace, uid: `f${i}`, occurrences: i + 1 })),
      ev({ cluster: 'c1', uid: 'c1' }),
      ev({ cluster: 'c2', uid: 'c2' }),
      ev({ cluster: 'c3', uid: 'c3' }),
    ],
  });
  const env = { PULLWATCH_API_TOKENS: TOKEN, PULLWATCH_CLICKHOUSE_DATABASE: database };
  api = await startTestApi('hardening-it', { ...env, PULLWATCH_ALERT_INTERVAL_SECONDS: '3600' }, () => NOW);
  small = await startTestApi(
    'hardening-small',
    { ...env, PULLWATCH_ALERT_INTERVAL_SECONDS: '3600', PULLWATCH_REPORT_MAX_GROUPS: '3' },
    () => NOW,
  );
});

afterAll(async () => {
  await api?.stop();
  await small?.stop();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
});

describe('metrics labels', () => {
  it('counts unauthenticated requests to any path under one `unmatched` label, and known routes by template', async () => {
    // One request of each kind first, so every series this test can create exists before it counts them.
    await fetch(`${api.url}/v1/nothing-here-warmup`);
    await fetch(`${api.url}/v1/failures`);
    await fetch(`${api.url}/v1/failures`, { method: 'POST' });
    await fetch(`${api.url}/metrics`);
    const seriesOf = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('pullwatch_api_'))
        .map((l) => l.slice(0, l.lastIndexOf(' ')))
        .sort();
    const before = seriesOf(await (await fetch(`${api.url}/metrics`)).text());
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${api.url}/v1/nothing-here-${i}/${'x'.repeat(200)}`);
      expect(res.status).toBe(401);
    }
    expect((await fetch(`${api.url}/v1/failures`)).status).toBe(401);
    expect((await fetch(`${api.url}/v1/failures`, { method: 'POST' })).status).toBe(401);
    const text = await (await fetch(`${api.url}/metrics`)).text();
    const series = text.split('\n').filter((l) => l.startsWith('pullwatch_api_requests_total{'));
    expect(series.filter((l) => l.includes('status="401"')).sort()).toEqual([
      'pullwatch_api_requests_total{route="/v1/failures",status="401",service="hardening-it"} 2',
      'pullwatch_api_requests_total{route="unmatched",status="401",service="hardening-it"} 43',
    ]);
    expect(text).not.toContain('nothing-here');
    // 40 new paths add no series: the same label sets before and after, only their values moved.
    expect(seriesOf(text)).toEqual(before);
  });
});

describe('query parameters', () => {
  const CURSORS: [string, string][] = [
    ['["x","y",1]', 'wrong types'],
    ['["2026-11-24 11:50:00.000","u",-1]', 'negative count'],
    ['["2026-11-24 11:50:00.000","u",1.5]', 'fractional count'],
    ['["2026-11-24 11:50:00.000","u",1e400]', 'infinite count'],
    ['["2026-11-24 11:50:00.000","u",4294967296]', 'count past UInt32'],
    ['["2026-11-24 11:50:00.000","u"]', 'too short'],
    ['["2026-11-24 11:50:00.000","u",1,2]', 'too long'],
    ['["2026-13-45 99:99:99.000","u",1]', 'not a time'],
    ['["9999-12-31 23:59:59.999","u",1]', 'out of DateTime64 range'],
    ['[1,"u",1]', 'number for the time'],
    ['["2026-11-24 11:50:00.000",null,1]', 'null uid'],
    ['{"0":"2026-11-24 11:50:00.000","1":"u","2":1}', 'object'],
    ['"x"', 'string'],
    ['null', 'null'],
    ['[', 'not JSON'],
  ];
  it.each(CURSORS)('answers 400 to a /v1/failures cursor %s (%s)', async (text) => {
    const res = await get(api, `/v1/failures?cursor=${b64(text)}`);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'bad_parameter', message: 'cursor: not a cursor this API returned' });
  });

  it('accepts the cursors it returns, to the last page', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(api, `/v1/failures?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { failures: { namespace: string; cluster: string }[]; nextCursor: string };
      seen.push(...body.failures.map((f) => `${f.cluster}/${f.namespace}`));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(9);
    expect(new Set(seen).size).toBe(9);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('answers 400 to a query parameter named %s', async (key) => {
    for (const path of ['/v1/failures', '/v1/registries', '/v1/reports/failures', '/v1/alerts']) {
      const res = await get(api, `${path}?${key}=1`);
      expect(res.status, path).toBe(400);
      expect(await errorOf(res)).toEqual({ code: 'bad_parameter', message: `${key}: a reserved name` });
      const nested = await get(api, `${path}?${key}[x]=1`);
      expect(nested.status, path).toBe(400);
    }
  });

  it('still answers 400 "unknown parameter" to other unknown parameters', async () => {
    const res = await get(api, '/v1/failures?bogus=1');
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'bad_parameter', message: 'bogus: unknown parameter' });
  });
});

describe('hostile windows and paths', () => {
  it('answers 200 or 400, never 5xx, to windows at the ends of time and to malformed paths', async () => {
    const statuses: string[] = [];
    for (const [from, to] of [
      ['0001-01-01', '0001-01-02'],
      ['1899-12-31T00:00:00Z', '1900-01-01T00:00:00Z'],
      ['2299-12-31T00:00:00Z', '2300-01-01T00:00:00Z'],
      ['9999-12-30', '9999-12-31'],
      ['2026-11-24T10:00:00+14:00', '2026-11-24T10:00:00-12:00'],
    ])
      for (const path of ['/v1/failures', '/v1/registries', '/v1/trends', '/v1/reports/failures', '/v1/recovery']) {
        const res = await get(api, `${path}?from=${encodeURIComponent(from!)}&to=${encodeURIComponent(to!)}`);
        statuses.push(`${path} ${from}: ${res.status}`);
        expect([200, 400], `${path} ${from}..${to}`).toContain(res.status);
      }
    for (const path of [
      '/v1/%E0%A4%A',
      '/%E0%A4%A',
      '/v1/failures?cursor=%E0%A4%A',
      '/v1/failures?%ZZ=1',
      '/..%2f..%2fetc/passwd',
    ]) {
      const res = await get(api, path);
      expect(res.status, path).toBeLessThan(500);
    }
  });
});

describe('CSV reports', () => {
  it('prefixes cells a spreadsheet would run as a formula with a quote (OWASP)', async () => {
    const res = await get(api, '/v1/reports/failures?groupBy=namespace&cluster=csv&format=csv');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      [
        'namespace,failures,successes,failureRate,pods,stuckPodHours,incidents,medianRecoverySeconds',
        '"\'\rcmd",6,0,1,1,0,,',
        "'\tcmd,5,0,1,1,0,,",
        "'@SUM(A1),4,0,1,1,0,,",
        "'-2+3,3,0,1,1,0,,",
        "'+1+1,2,0,1,1,0,,",
        '"\'=HYPERLINK(""http://x"",""y"")",1,0,1,1,0,,',
        '',
      ].join('\r\n'),
    );
  });
});

describe('report size', () => {
  it('answers 422 report_too_large past PULLWATCH_REPORT_MAX_GROUPS, and the report within it', async () => {
    const res = await get(small, '/v1/reports/failures?groupBy=cluster');
    expect(res.status).toBe(422);
    expect(await errorOf(res)).toEqual({
      code: 'report_too_large',
      message:
        'the report has more than 3 groups (PULLWATCH_REPORT_MAX_GROUPS); narrow the window or group by fewer keys',
    });
    const csv = await get(small, '/v1/reports/failures?groupBy=cluster&format=csv');
    expect(csv.status).toBe(422);
    const within = await get(small, '/v1/reports/failures?groupBy=cluster&cluster=c1');
    expect(within.status).toBe(200);
    expect(((await within.json()) as { groups: { key: unknown }[] }).groups.map((g) => g.key)).toEqual([
      { cluster: 'c1' },
    ]);
    // The same report from an API with the default limit.
    const all = await get(api, '/v1/reports/failures?groupBy=cluster');
    expect(((await all.json()) as { groups: { key: { cluster: string } }[] }).groups.map((g) => g.key.cluster)).toEqual(
      ['csv', 'c1', 'c2', 'c3'],
    );
  });
});

describe('security headers', () => {
  const CSP =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
  it('sends CSP, X-Frame-Options and nosniff with the dashboard, and the latter two with every API answer', async () => {
    for (const path of ['/', '/index.html', '/dashboard.js', '/dashboard.css', '/core.js', '/panels/registries.js']) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.status, path).toBe(200);
      if (path.endsWith('.js'))
        expect(res.headers.get('content-type'), path).toMatch(/^(text|application)\/javascript/);
      expect(res.headers.get('content-security-policy'), path).toBe(CSP);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    for (const [path, auth, status] of [
      ['/v1/registries', true, 200],
      ['/v1/registries', false, 401],
      ['/v1/failures?limit=0', true, 400],
      ['/healthz', false, 200],
      ['/metrics', false, 200],
      ['/openapi.json', false, 200],
      ['/nothing', false, 404],
    ] as const) {
      const res = auth ? await get(api, path) : await fetch(`${api.url}${path}`);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });
});
