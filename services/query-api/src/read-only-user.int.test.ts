import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import {
  type ProfiledClickHouse,
  READ_ONLY_DATABASE,
  startProfiledClickHouse,
} from '../../../test/support/readonly-clickhouse.ts';
import { loadQueryApiConfig } from './config.ts';
import { FixtureDatabase } from '../../../test/support/fixture-database.ts';
import { createQueryApi, type QueryApi } from './query-api.ts';
import {
  fixtureClock,
  openIncidentRow,
  type ShopPullFixture,
  shopPullRow,
  shopStuckPodRow,
} from './test-support/rows.ts';

// Every route of the API as the production read-only user (infra/clickhouse/users.d/pullwatch.xml,
// loaded by a ClickHouse of this test's own): its profile, not a per-request setting, decides what the
// API's queries may do. Before the fix that profile had readonly=1, and every route answered 500
// (Code 164: Cannot modify 'max_execution_time' setting in readonly mode).

const NOW = new Date('2026-11-24T12:00:00Z');
const TOKEN = 'read-only-test-token';
const clock = fixtureClock(NOW);
const isoAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

// More users in the same ClickHouse: the profile as it was shipped (readonly=1 alone); a readonly=1
// profile that lets the API's settings change (changeable_in_readonly), the other way ClickHouse
// documents for tools that set limits; and readonly=2 with a cap below the API's 10 s dashboard limit.
const API_SETTINGS = [
  'max_execution_time',
  'timeout_overflow_mode',
  'max_memory_usage',
  'max_rows_to_read',
  'read_overflow_mode',
  'priority',
  'max_threads',
  'log_comment',
];
const EXTRA_USERS = `<clickhouse>
  <profiles>
    <strict_readonly><readonly>1</readonly></strict_readonly>
    <changeable_readonly>
      <readonly>1</readonly>
      <constraints>
        ${API_SETTINGS.map((s) => `<${s}><changeable_in_readonly/></${s}>`).join('\n        ')}
      </constraints>
    </changeable_readonly>
    <capped_readonly>
      <readonly>2</readonly>
      <max_execution_time>5</max_execution_time>
      <constraints><max_execution_time><max>5</max></max_execution_time></constraints>
    </capped_readonly>
  </profiles>
  <users>
    <strict_ro>
      <password>strict</password>
      <profile>strict_readonly</profile>
      <quota>default</quota>
      <networks><ip>::/0</ip></networks>
      <grants><query>GRANT SELECT ON ${READ_ONLY_DATABASE}.*</query></grants>
    </strict_ro>
    <changeable_ro>
      <password>changeable</password>
      <profile>changeable_readonly</profile>
      <quota>default</quota>
      <networks><ip>::/0</ip></networks>
      <grants><query>GRANT SELECT ON ${READ_ONLY_DATABASE}.*</query></grants>
    </changeable_ro>
    <capped_ro>
      <password>capped</password>
      <profile>capped_readonly</profile>
      <quota>default</quota>
      <networks><ip>::/0</ip></networks>
      <grants><query>GRANT SELECT ON ${READ_ONLY_DATABASE}.*</query></grants>
    </capped_ro>
  </users>
</clickhouse>
`;

/** Every route of /openapi.json with the requests that exercise its queries (filters, classes, CSV). */
const REQUESTS: Record<string, string[]> = {
  '/v1/registries': ['', '?team=payments', '?cluster=eu&cause=rate_limited'],
  '/v1/hotspots/rate-limit': ['', '?groupBy=node'],
  '/v1/incidents': ['', '?status=open'],
  // 30 days: the report class (its own limits, one thread, lower priority).
  '/v1/trends': ['', `?interval=1d&from=${isoAgo(30 * 24 * 60)}`],
  '/v1/failures': ['', '?limit=2', '?team=payments'],
  '/v1/pods/stuck': ['', '?team=payments'],
  '/v1/risks': [''],
  '/v1/teams': [''],
  '/v1/alerts': [''],
  '/v1/quota/docker-hub': [''],
  '/v1/recovery': [''],
  '/v1/reports/failures': ['', '?groupBy=registry,cause,team', '?groupBy=cluster&format=csv'],
};

const event = (o: ShopPullFixture) =>
  shopPullRow(clock, {
    pod: `web-${o.uid}`,
    provider: o.registry === 'docker.io' ? 'docker_hub' : 'ghcr',
    policy: 'Always',
    ...o,
  });

let ch: ProfiledClickHouse;
const apis: QueryApi[] = [];

async function startApi(user: { user: string; password: string }): Promise<QueryApi> {
  const api = createQueryApi(
    loadQueryApiConfig({
      PULLWATCH_API_PORT: '0',
      PULLWATCH_API_TOKENS: TOKEN,
      PULLWATCH_CLICKHOUSE_DATABASE: READ_ONLY_DATABASE,
      PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
    }),
    {
      logger: createLogger(`read-only-${user.user}`, 'silent'),
      metrics: createMetricsRegistry(`read-only-${user.user}`),
      clickhouse: createClickHouse({ url: ch.url, ...user }),
      now: () => NOW,
    },
  );
  await api.start();
  apis.push(api);
  return api;
}

async function get(api: QueryApi, path: string, accept = 'application/json') {
  const r = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, accept } });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

beforeAll(async () => {
  ch = await startProfiledClickHouse({ extraUsersXml: EXTRA_USERS });
  const admin = createClickHouse({ url: ch.url, ...ch.admin });
  const db = new FixtureDatabase('read_only', { admin, database: READ_ONLY_DATABASE });
  try {
    await db.migrate();
    await db.insert('pull_events', [
      event({
        cluster: 'us',
        registry: 'docker.io',
        outcome: 'failure',
        cause: 'rate_limited',
        occurrences: 7,
        minAgo: 30,
        uid: 'a',
      }),
      event({
        cluster: 'eu',
        registry: 'docker.io',
        outcome: 'failure',
        cause: 'rate_limited',
        occurrences: 2,
        minAgo: 10,
        uid: 'b',
        node: 'n2',
      }),
      event({ cluster: 'eu', registry: 'docker.io', outcome: 'success', occurrences: 10, minAgo: 10, uid: 'c' }),
      event({
        cluster: 'eu',
        registry: 'ghcr.io',
        outcome: 'failure',
        cause: 'not_found',
        occurrences: 4,
        minAgo: 5,
        uid: 'd',
        team: 'payments',
      }),
      event({
        cluster: 'eu',
        registry: 'ghcr.io',
        outcome: 'failure',
        cause: 'not_found',
        occurrences: 9,
        minAgo: 60 * 24 * 10,
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
        failures: 7,
        start: 30,
        lastSeen: 30,
      }),
    ]);
    await db.insert('pod_pull_state', [
      shopStuckPodRow(clock, {
        pod: 'web-9',
        first: 40,
        last: 1,
        attempts: 12,
        hint: 'check the tag',
        team: 'payments',
      }),
    ]);
  } finally {
    await admin.close();
  }
});

afterAll(async () => {
  for (const api of apis) await api.stop();
  await ch?.stop();
});

describe('the query API as the shipped read-only ClickHouse user', () => {
  let writer: QueryApi;
  let readOnly: QueryApi;
  beforeAll(async () => {
    writer = await startApi(ch.admin);
    readOnly = await startApi(ch.readOnly);
  });

  it('runs as a user whose profile is read-only: no writes, and readonly cannot be lifted', async () => {
    const ro = createClickHouse({ url: ch.url, ...ch.readOnly });
    try {
      await expect(
        ro.command({ query: `CREATE TABLE ${READ_ONLY_DATABASE}.x (a UInt8) ENGINE = Memory` }),
      ).rejects.toMatchObject({ type: 'ACCESS_DENIED' });
      await expect(
        ro.insert({ table: `${READ_ONLY_DATABASE}.incidents`, format: 'JSONEachRow', values: [{ id: 'x' }] }),
      ).rejects.toMatchObject({ type: 'ACCESS_DENIED' });
      const rs = await ro.query({ query: "SELECT getSetting('readonly') AS readonly", format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ readonly: 2 }]);
      // Neither per request nor in the query: the profile keeps readonly where it is.
      await expect(ro.query({ query: 'SELECT 1', clickhouse_settings: { readonly: '0' } })).rejects.toMatchObject({
        code: '164',
        type: 'READONLY',
      });
      await expect(ro.query({ query: 'SELECT 1 SETTINGS readonly = 0' })).rejects.toMatchObject({
        code: '164',
        type: 'READONLY',
      });
    } finally {
      await ro.close();
    }
  });

  it('answers every route 200 with exactly what the writer user gets', async () => {
    const spec = (await (await fetch(`${readOnly.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { responses: { '200': { content: Record<string, unknown> } } } }>;
    };
    expect(Object.keys(spec.paths).sort()).toEqual(Object.keys(REQUESTS).sort());
    // The alert state /v1/alerts lists (whether the evaluation itself works is the last test's).
    await Promise.allSettled([writer.alerter.evaluate(), readOnly.alerter.evaluate()]);
    let checked = 0;
    for (const [path, queries] of Object.entries(REQUESTS)) {
      const accepts = [
        'application/json',
        ...('text/csv' in spec.paths[path]!.get.responses['200'].content ? ['text/csv'] : []),
      ];
      for (const q of queries)
        for (const accept of accepts) {
          const mine = await get(readOnly, `${path}${q}`, accept);
          expect({ path: `${path}${q}`, accept, status: mine.status }).toEqual({
            path: `${path}${q}`,
            accept,
            status: 200,
          });
          expect(mine).toEqual(await get(writer, `${path}${q}`, accept));
          checked += 1;
        }
    }
    expect(checked).toBe(25);
    expect((await get(readOnly, '/readyz')).status).toBe(200);
  });

  it('reads the real rows as that user', async () => {
    const registries = JSON.parse((await get(readOnly, '/v1/registries')).text) as {
      registries: { registry: string; failures: number; successes: number }[];
    };
    expect(registries.registries.map((r) => [r.registry, r.failures, r.successes])).toEqual([
      ['docker.io', 9, 10],
      ['ghcr.io', 4, 0],
    ]);
    const stuck = JSON.parse((await get(readOnly, '/v1/pods/stuck?team=payments')).text) as {
      pods: { pod: string; attempts: number }[];
    };
    expect(stuck.pods.map((p) => [p.pod, p.attempts])).toEqual([['web-9', 12]]);
    const incidents = JSON.parse((await get(readOnly, '/v1/incidents?status=open')).text) as {
      incidents: { id: string }[];
    };
    expect(incidents.incidents.map((i) => i.id)).toEqual(['i1']);
  });

  it('evaluates the alert rules as that user', async () => {
    await expect(readOnly.alerter.evaluate()).resolves.toBeUndefined();
  });
});

describe('the query API as a readonly=1 user with changeable_in_readonly limits', () => {
  it('answers every route 200', async () => {
    const api = await startApi({ user: 'changeable_ro', password: 'changeable' });
    for (const [path, queries] of Object.entries(REQUESTS))
      for (const q of queries)
        expect({ path: `${path}${q}`, status: (await get(api, `${path}${q}`)).status }).toEqual({
          path: `${path}${q}`,
          status: 200,
        });
    await expect(api.alerter.evaluate()).resolves.toBeUndefined();
  });
});

describe('the query API as a user whose profile refuses its limits', () => {
  const FIX_READONLY =
    "give the user a profile with readonly=2 (infra/clickhouse/users.d/pullwatch.xml), or readonly=1 with a changeable_in_readonly constraint on each setting the API sends; see docs/deploy.md, 'Kafka and ClickHouse'";
  const FIX_CONSTRAINT =
    "lower the query API's limit (PULLWATCH_API_<CLASS>_MAX_*) or raise the profile's constraint; see docs/deploy.md, 'Kafka and ClickHouse'";

  it.each([
    {
      user: { user: 'strict_ro', password: 'strict' },
      said: "Cannot modify 'max_execution_time' setting in readonly mode.",
      fix: FIX_READONLY,
    },
    {
      user: { user: 'capped_ro', password: 'capped' },
      said: "Setting max_execution_time shouldn't be greater than 5.",
      fix: FIX_CONSTRAINT,
    },
  ])('$user.user: every route and /readyz answer 503 naming the refusal and its fix', async ({ user, said, fix }) => {
    const api = await startApi(user);
    const error = {
      code: 'clickhouse_access',
      message: `the ClickHouse user's profile refuses the limits the query API sets on its queries (${said}): ${fix}`,
    };
    const seen: Record<string, unknown> = {};
    for (const [path, queries] of Object.entries(REQUESTS)) {
      if (path === '/v1/alerts') continue; // the alerter's in-memory list: no query
      for (const q of queries) {
        const r = await get(api, `${path}${q}`);
        seen[`${path}${q}`] = { status: r.status, body: JSON.parse(r.text) };
      }
    }
    expect(Object.values(seen)).toEqual(Object.keys(seen).map(() => ({ status: 503, body: { error } })));
    expect(Object.keys(seen)).toHaveLength(21);
    const ready = await get(api, '/readyz');
    expect({ status: ready.status, body: JSON.parse(ready.text) }).toEqual({ status: 503, body: { error } });
    await expect(api.alerter.evaluate()).rejects.toMatchObject({ message: error.message });
  });
});
