import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createQueryApi, loadQueryApiConfig, type QueryApi } from '@pullwatch/query-api';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../support/endpoints.ts';
import { report } from './report.ts';

const database = uniqueName('fuzz');
const admin = createClickHouse({ ...testEndpoints().clickhouse });
let api: QueryApi;

const EVIL = [
  "' OR 1=1 --",
  "'; DROP TABLE pull_failures; --",
  '\\',
  '{x:String}',
  '%00',
  '\u0000',
  'ü🙂',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '9'.repeat(400),
  '-1',
  '1e309',
  'NaN',
  '[]',
  '{}',
  'true',
  ' ',
  'x'.repeat(5000),
  '2026-13-45T99:99:99Z',
  '2026-11-24T10:00:00Z',
];

type Schema = { type?: string; enum?: unknown[]; format?: string; minimum?: number; maximum?: number };

/** Values for one parameter from its JSON schema: valid ones, edge ones and hostile ones. */
function values(schema: Schema, i: number): string[] {
  const out = [...EVIL];
  if (schema.enum) out.push(...schema.enum.map(String), `${String(schema.enum[0])}x`);
  if (schema.type === 'integer' || schema.type === 'number')
    out.push(
      String(schema.minimum ?? 0),
      String(schema.maximum ?? 1000),
      String((schema.minimum ?? 0) - 1),
      String((schema.maximum ?? 1000) + 1),
      String(i),
    );
  return out;
}

beforeAll(async () => {
  await migrate(admin, { database, ttlDays: 90 });
  await admin.command({
    query:
      `INSERT INTO ${database}.pull_events (event_time, cluster, registry, outcome, cause, occurrences, ` +
      `event_uid) VALUES (now64(3) - INTERVAL 1 HOUR, 'c', 'docker.io', 'failure', 'rate_limited', 4, 'u')`,
    clickhouse_settings: { async_insert: 0 },
  });
  api = createQueryApi(
    loadQueryApiConfig({
      PULLWATCH_API_PORT: '0',
      PULLWATCH_API_TOKENS: 'fuzz',
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
    }),
    {
      logger: createLogger('fuzz', 'silent'),
      metrics: createMetricsRegistry('fuzz'),
      clickhouse: createClickHouse({ ...testEndpoints().clickhouse }),
    },
  );
  await api.start();
});
afterAll(async () => {
  await api.stop();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
});

describe('the query API fuzzed from its own OpenAPI document', () => {
  it('never answers 5xx, enforces auth on every route, and injection strings change nothing', async () => {
    const spec = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string; schema: Schema }[] } }>;
    };
    // The team filter and the route listing teams are fuzzed like the rest.
    expect(Object.keys(spec.paths)).toContain('/v1/teams');
    expect(
      Object.entries(spec.paths)
        .filter(([, item]) => item.get.parameters.some((p) => p.name === 'team'))
        .map(([path]) => path)
        .sort(),
    ).toEqual([
      '/v1/failures',
      '/v1/hotspots/rate-limit',
      '/v1/incidents',
      '/v1/pods/stuck',
      '/v1/recovery',
      '/v1/registries',
      '/v1/reports/failures',
      '/v1/risks',
      '/v1/trends',
    ]);
    let tried = 0;
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const auth of [undefined, 'Bearer wrong', 'Basic Zm9vOmJhcg==', 'Bearer ']) {
        const res = await fetch(`${api.url}${path}`, { headers: auth ? { authorization: auth } : {} });
        tried += 1;
        count(res.status);
        expect(res.status, `${path} with ${auth}`).toBe(401);
      }
      for (const p of item.get.parameters) {
        for (const [i, v] of values(p.schema, tried).entries()) {
          const res = await fetch(`${api.url}${path}?${encodeURIComponent(p.name)}=${encodeURIComponent(v)}`, {
            headers: { authorization: 'Bearer fuzz' },
          });
          tried += 1;
          count(res.status);
          expect(res.status, `${path}?${p.name}=${v.slice(0, 30)} (#${i})`).toBeLessThan(500);
          expect([200, 400]).toContain(res.status);
        }
      }
      // Unknown and repeated parameters.
      for (const q of ['bogus=1', 'from=a&from=b', `${'a'.repeat(300)}=1`]) {
        const res = await fetch(`${api.url}${path}?${q}`, { headers: { authorization: 'Bearer fuzz' } });
        tried += 1;
        count(res.status);
        expect(res.status).toBe(400);
      }
    }
    const rs = await admin.query({
      query: `SELECT sum(occurrences) AS n FROM ${database}.pull_failures`,
      format: 'JSONEachRow',
    });
    expect(Number((await rs.json<{ n: number }>())[0]!.n)).toBe(4);
    const fiveHundreds = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    report('query API fuzz', {
      routes: Object.keys(spec.paths).length,
      inputsTried: tried,
      ...Object.fromEntries([...statuses].map(([s, n]) => [`http${s}`, n])),
      fiveHundreds,
    });
    expect(fiveHundreds).toBe(0);
  });
});
