import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ClickHouseClient, createClickHouse, migrate } from '@pullwatch/clickhouse';
import {
  type ProfiledClickHouse,
  READ_ONLY_DATABASE,
  SHIPPED_USERS_FILE,
  startProfiledClickHouse,
} from './support/readonly-clickhouse.ts';
import { expand, type TimeContext, type Values } from './support/grafana-sql.ts';

// Grafana cannot run here, so every panel's SQL is expanded the way Grafana and the official
// ClickHouse plugin (grafana-clickhouse-datasource 4.x) expand it (support/grafana-sql.ts, pinned to the
// plugin's own test vectors by its unit test), then run against the real ClickHouse with known rows, and
// each result is checked for the shape its panel type needs.

const DIR = new URL('../infra/grafana/', import.meta.url);
const PLUGIN = 'grafana-clickhouse-datasource';
const DS_VAR = ['$', '{datasource}'].join('');
/** How every panel's SQL takes the team variable (inside a `$__conditionalAll`). */
const TEAM_IN = ['IN ($', '{team:singlequote})'].join('');

interface Target {
  refId: string;
  datasource: unknown;
  editorType: string;
  queryType: string;
  format: number;
  pluginVersion: string;
  rawSql: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: unknown;
  interval?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets: Target[];
}
interface Variable {
  name: string;
  type: string;
  query: string;
  current: { value: string | string[] };
  multi?: boolean;
  includeAll?: boolean;
  datasource?: unknown;
}
interface Dashboard {
  uid: string;
  title: string;
  id: unknown;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboards = readdirSync(new URL('dashboards/', DIR))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, d: JSON.parse(readFileSync(new URL(`dashboards/${f}`, DIR), 'utf8')) as Dashboard }));
const byUid = (uid: string) => dashboards.find((x) => x.d.uid === uid)!.d;

// ---------------------------------------------------------------- the data

// A ClickHouse of this test's own whose users come from the users file we ship: every panel and variable
// query runs as its read-only user (profile readonly=2 with constraints), with the max_execution_time the
// plugin sends from the data source's queryTimeout, as Grafana runs them; the database is the data
// source's defaultDatabase. Fixtures go in as the engine's admin.
const database = READ_ONLY_DATABASE;
let profiled: ProfiledClickHouse;
let admin: ClickHouseClient;
let reader: ClickHouseClient;
// Whole seconds, as the plugin passes the time range to ClickHouse.
const now = Math.floor(Date.now() / 1000) * 1000;
const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
const ch = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
const range = (intervalSeconds: number): TimeContext => ({ from: at(6 * 60), to: at(-1), intervalSeconds });

function pullEvent(o: Record<string, unknown> & { uid: string; minutesAgo: number }) {
  const { minutesAgo, uid, ...rest } = o;
  return {
    event_time: ch(at(minutesAgo)),
    first_time: ch(at(minutesAgo + 1)),
    received_at: ch(at(minutesAgo)),
    cluster: 'prod-eu-west',
    namespace: 'shop',
    pod: 'web-1',
    container: 'web',
    node: 'n1',
    outcome: 'failure',
    event_kind: 'failed_pull',
    occurrences: 1,
    image: 'docker.io/library/nginx:1.27',
    registry: 'docker.io',
    provider: 'docker_hub',
    repository: 'library/nginx',
    tag: '1.27',
    digest: '',
    tag_kind: 'pinned',
    cause: 'rate_limited',
    subcause: 'registry',
    attributed: 0,
    retryable: 1,
    hint: '',
    message: 'toomanyrequests',
    pull_duration_ms: 0,
    image_size_bytes: 0,
    image_pull_policy: 'IfNotPresent',
    has_pull_secrets: 0,
    event_uid: uid,
    event_count: 1,
    identity: uid,
    kafka_partition: 0,
    kafka_offset: 0,
    ...rest,
  };
}

function podState(o: Record<string, unknown> & { pod: string; first: number; last: number }) {
  const { first, last, ...rest } = o;
  return {
    cluster: 'prod-eu-west',
    namespace: 'shop',
    container: 'web',
    image: 'docker.io/library/nginx:1.27',
    node: 'n1',
    registry: 'docker.io',
    provider: 'docker_hub',
    status: 'stuck',
    cause: 'rate_limited',
    subcause: 'registry',
    hint: 'authenticate pulls',
    message: 'toomanyrequests',
    first_failure: ch(at(first)),
    last_failure: ch(at(last)),
    attempts: 7,
    backoff_stage: 6,
    backoff_seconds: 300,
    recovered_at: null,
    time_to_recover_ms: null,
    image_pull_policy: 'IfNotPresent',
    has_pull_secrets: 0,
    tag_kind: 'pinned',
    updated_at: ch(at(last)),
    ...rest,
  };
}

function incident(o: Record<string, unknown> & { id: string; start: number; last: number; end: number | null }) {
  const { start, last, end, ...rest } = o;
  return {
    registry: 'docker.io',
    cause: 'rate_limited',
    scope: 'cluster',
    clusters: ['prod-eu-west'],
    images: ['docker.io/library/nginx:1.27'],
    failures: 7,
    start: ch(at(start)),
    last_seen: ch(at(last)),
    end: end === null ? null : ch(at(end)),
    status: end === null ? 'open' : 'resolved',
    updated_at: ch(at(last)),
    ...rest,
  };
}

/** A namespace name no Kubernetes cluster allows, as hostile ingest may store one: a quote and a space. */
const ODD = "it's a ns";
/** Rows that only the hostile database holds: names a dashboard must never offer or splice into its SQL. */
const BACKSLASH = 'back\\slash\\';
const INJECTION = "x') OR 1=1 OR namespace IN ('y";
/** The same rows as `database`, with prod-eu-west/shop renamed ODD, plus the rows above. */
const hostileDatabase = `${READ_ONLY_DATABASE}_hostile`;

/** Fills a database with the rows below; `shop` renames the namespace `shop`. */
async function seed(db: string, shop: string) {
  await migrate(admin, { database: db, ttlDays: 90 });
  const insert = (table: string, values: Record<string, unknown>[]) =>
    admin.insert({
      table: `${db}.${table}`,
      values: values.map((v) => (v.namespace === 'shop' ? { ...v, namespace: shop } : v)),
      format: 'JSONEachRow',
      clickhouse_settings: { async_insert: 0 },
    });
  // Failures: docker.io 5 + 2 (prod-eu-west/shop), ghcr.io 4 (prod-us-east/payments), quay.io 3 (staging-eu/tools);
  // successful pulls: docker.io 3 (prod-eu-west/shop), ghcr.io 1 (prod-us-east/payments). 14 failed, 4 pulled.
  // Team labels: prod-eu-west/shop was web-old's, web's since 25 minutes ago; prod-us-east/payments is pay's,
  // staging-eu/tools ops'.
  await insert('pull_events', [
    pullEvent({ uid: 'a', minutesAgo: 30, occurrences: 5, team: 'web-old' }),
    pullEvent({ uid: 'b', minutesAgo: 20, occurrences: 2, pod: 'web-2', node: 'n2', team: 'web' }),
    pullEvent({
      uid: 'c',
      minutesAgo: 40,
      occurrences: 4,
      cluster: 'prod-us-east',
      namespace: 'payments',
      pod: 'api-1',
      node: 'u1',
      image: 'ghcr.io/acme/api:1.0',
      registry: 'ghcr.io',
      provider: 'ghcr',
      repository: 'acme/api',
      tag: '1.0',
      cause: 'not_found',
      subcause: 'manifest',
      message: 'manifest unknown',
      team: 'pay',
    }),
    pullEvent({
      uid: 'd',
      minutesAgo: 25,
      outcome: 'success',
      event_kind: 'pulled',
      occurrences: 3,
      pod: 'web-3',
      cause: '',
      subcause: '',
      pull_duration_ms: 2000,
      image_size_bytes: 50_000_000,
      team: 'web',
    }),
    pullEvent({
      uid: 'e',
      minutesAgo: 10,
      outcome: 'success',
      event_kind: 'pulled',
      occurrences: 1,
      cluster: 'prod-us-east',
      namespace: 'payments',
      pod: 'api-2',
      image: 'ghcr.io/acme/api:1.1',
      registry: 'ghcr.io',
      provider: 'ghcr',
      cause: '',
      subcause: '',
      pull_duration_ms: 4000,
      image_size_bytes: 10_000_000,
      team: 'pay',
    }),
    pullEvent({
      uid: 'f',
      minutesAgo: 50,
      occurrences: 3,
      cluster: 'staging-eu',
      namespace: 'tools',
      pod: 'job-1',
      image: 'quay.io/acme/tool:2',
      registry: 'quay.io',
      provider: 'quay',
      cause: 'registry_unavailable',
      subcause: '',
      team: 'ops',
    }),
  ]);
  await insert('pod_pull_state', [
    podState({ pod: 'web-1', first: 60, last: 2 }), // stuck: failing for an hour, failed 2 min ago
    // failing, but only for 5 minutes: not stuck yet
    podState({
      pod: 'api-1',
      cluster: 'prod-us-east',
      namespace: 'payments',
      image: 'ghcr.io/acme/api:1.0',
      registry: 'ghcr.io',
      status: 'failing',
      cause: 'not_found',
      first: 5,
      last: 1,
    }),
    // stuck once, no failure for 40 minutes: fixed or deleted
    podState({
      pod: 'job-1',
      cluster: 'staging-eu',
      namespace: 'tools',
      image: 'quay.io/acme/tool:2',
      registry: 'quay.io',
      first: 120,
      last: 40,
    }),
    podState({ pod: 'web-3', status: 'recovered', first: 50, last: 45, recovered_at: ch(at(25)) }),
  ]);
  await insert('incidents', [
    incident({ id: 'i1', start: 30, last: 20, end: null }),
    incident({
      id: 'i2',
      registry: 'ghcr.io',
      cause: 'not_found',
      scope: 'image',
      clusters: ['prod-us-east'],
      images: ['ghcr.io/acme/api:1.0'],
      failures: 4,
      start: 40,
      last: 39,
      end: 35,
    }),
    incident({ id: 'old', start: 3 * 24 * 60, last: 2 * 24 * 60, end: 2 * 24 * 60 - 10 }),
  ]);
  return insert;
}

/** The data source's query timeout: the plugin sends it as max_execution_time with every query. */
const QUERY_TIMEOUT = (
  parse(readFileSync(new URL('provisioning/datasources/pullwatch-clickhouse.yaml', DIR), 'utf8')) as {
    datasources: { jsonData: { queryTimeout: number } }[];
  }
).datasources[0]!.jsonData.queryTimeout;

beforeAll(async () => {
  // The shipped users file as it is, but for one more grant: the hostile rows' database beside `pullwatch`.
  const grant = `<query>GRANT SELECT ON ${READ_ONLY_DATABASE}.*</query>`;
  const shipped = readFileSync(SHIPPED_USERS_FILE, 'utf8');
  expect(shipped).toContain(grant);
  profiled = await startProfiledClickHouse({
    usersXml: shipped.replace(grant, `${grant}<query>GRANT SELECT ON ${hostileDatabase}.*</query>`),
  });
  admin = createClickHouse({ url: profiled.url, ...profiled.admin });
  reader = createClickHouse({
    url: profiled.url,
    ...profiled.readOnly,
    database: READ_ONLY_DATABASE,
    settings: { max_execution_time: QUERY_TIMEOUT },
  });
  await seed(database, 'shop');
  const insert = await seed(hostileDatabase, ODD);
  await insert('pull_events', [
    pullEvent({ uid: 'h1', minutesAgo: 15, cluster: 'edge-1', namespace: BACKSLASH, pod: 'b-1', team: 'web' }),
    pullEvent({ uid: 'h2', minutesAgo: 15, cluster: 'edge-1', namespace: INJECTION, pod: 'i-1', team: 'web' }),
  ]);
}, 120_000);

afterAll(async () => {
  await admin?.close();
  await reader?.close();
  await profiled?.stop();
});

interface Result {
  meta: { name: string; type: string }[];
  data: Record<string, unknown>[];
}

async function run(sql: string): Promise<Result> {
  const rs = await reader.query({ query: sql, format: 'JSON' });
  const json = (await rs.json()) as unknown as Result;
  return { meta: json.meta, data: json.data };
}

const base = (t: string) =>
  t.replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2').replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2');
const isNumeric = (t: string) => /^(U?Int\d+|Float\d+|Decimal)/.test(base(t));
const isTime = (t: string) => /^DateTime(64)?\b/.test(base(t));
const isText = (t: string) => base(t) === 'String';

/** Values of the dashboard's query variables for one selection (`$__all` or a list). */
async function resolveVariables(
  d: Dashboard,
  selection: Record<string, string[] | '$__all'>,
  t: TimeContext,
  db = database,
) {
  const vars: Values = { database: db, table_suffix: '' };
  const allValues: Record<string, string[]> = {};
  for (const v of d.templating.list.filter((x) => x.type === 'query')) {
    // A variable's own query sees the variables above it, as Grafana refreshes them in order.
    const res = await run(expand(v.query, vars, allValues, t));
    expect(
      res.meta.map((m) => isText(m.type)),
      `variable ${v.name}: one text column`,
    ).toEqual([true]);
    allValues[v.name] = res.data.map((r) => String(Object.values(r)[0]));
    const sel = selection[v.name] ?? '$__all';
    vars[v.name] = sel === '$__all' ? ['$__all'] : sel;
  }
  return { vars, allValues };
}

/** Runs every panel of a dashboard for one selection and checks the shape its panel type needs. */
async function runPanels(
  d: Dashboard,
  selection: Record<string, string[] | '$__all'>,
  intervalSeconds = 60,
  db = database,
) {
  const t = range(intervalSeconds);
  const { vars, allValues } = await resolveVariables(d, selection, t, db);
  const results = new Map<string, Result>();
  for (const p of d.panels) {
    const sql = expand(p.targets[0]!.rawSql, vars, allValues, t);
    const res = await run(sql).catch((err: unknown) => {
      throw new Error(`${d.uid} / ${p.title}: ${err instanceof Error ? err.message : String(err)}\n${sql}`);
    });
    const types = res.meta.map((m) => m.type);
    const what = `${d.uid} / ${p.title} (${types.join(', ')})`;
    if (p.type === 'stat') {
      expect(res.meta.length, what).toBe(1);
      expect(isNumeric(types[0]!), what).toBe(true);
      expect(res.data.length, what).toBe(1);
    } else if (p.type === 'timeseries') {
      // The plugin's timeseries format: a time column, numbers, and text columns that become labels.
      expect(isTime(types[0]!), what).toBe(true);
      expect(types.filter(isNumeric).length, what).toBeGreaterThan(0);
      expect(
        types.every((x, i) => i === 0 || isNumeric(x) || isText(x)),
        what,
      ).toBe(true);
      const times = res.data.map((r) => String(Object.values(r)[0]));
      expect(times, `${what}: ordered by time`).toEqual([...times].sort());
    } else if (p.type === 'table') {
      // Named columns: every column is an alias or a plain column, never an expression's text.
      expect(res.meta.length, what).toBeGreaterThan(1);
      for (const m of res.meta) expect(m.name, what).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(new Set(res.meta.map((m) => m.name)).size, what).toBe(res.meta.length);
    } else {
      throw new Error(`${what}: panel type ${p.type} is not checked`);
    }
    results.set(p.title, res);
  }
  return { results, allValues };
}

/** 64-bit integers come quoted or not, depending on the server's output_format_json_quote_64bit_integers. */
const rows = (r: Result) =>
  r.data.map((x) =>
    Object.fromEntries(
      Object.entries(x).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]),
    ),
  );
const num = (r: Result, row = 0) => Number(Object.values(r.data[row]!)[0]);
const col = (r: Result, name: string) => r.data.map((x) => x[name]);

// ---------------------------------------------------------------- structure

describe('infra/grafana: provisioning and dashboard JSON', () => {
  const provisioned = parse(
    readFileSync(new URL('provisioning/datasources/pullwatch-clickhouse.yaml', DIR), 'utf8'),
  ) as { apiVersion: number; datasources: { type: string; uid: string; jsonData: Record<string, unknown> }[] };

  it('provisions the official ClickHouse plugin over HTTP with a fixed uid', () => {
    expect(provisioned.apiVersion).toBe(1);
    expect(provisioned.datasources).toHaveLength(1);
    const ds = provisioned.datasources[0]!;
    expect(ds.type).toBe(PLUGIN);
    expect(ds.uid).toBe('pullwatch-clickhouse');
    expect(ds.jsonData).toMatchObject({ protocol: 'http', port: 8123, defaultDatabase: 'pullwatch' });
    const provider = parse(readFileSync(new URL('provisioning/dashboards/pullwatch.yaml', DIR), 'utf8')) as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(provider.providers[0]!.type).toBe('file');
  });

  it('has two dashboards with stable, unique uids, Grafana 11 schema and unique panel ids', () => {
    expect(dashboards.map((x) => x.d.uid)).toEqual(['pullwatch-drilldown', 'pullwatch-fleet']);
    for (const { file, d } of dashboards) {
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(39);
      expect(d.id, file).toBeNull();
      expect(d.uid, file).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(new Set(d.panels.map((p) => p.id)).size, file).toBe(d.panels.length);
      expect(new Set(d.panels.map((p) => p.title)).size, file).toBe(d.panels.length);
      for (const p of d.panels) {
        expect(p.targets, `${file} ${p.title}`).toHaveLength(1);
        expect(p.targets[0], `${file} ${p.title}`).toMatchObject({
          editorType: 'sql',
          queryType: p.type === 'timeseries' ? 'timeseries' : 'table',
          format: p.type === 'timeseries' ? 0 : 1,
        });
        // The plugin migrates queries without a 4.x pluginVersion as v3 ones.
        expect(Number(p.targets[0]!.pluginVersion.split('.')[0]), `${file} ${p.title}`).toBeGreaterThanOrEqual(4);
      }
    }
  });

  it(
    'references the data source only as {type, uid} through the datasource variable, never by a numeric id or ' +
      'a name',
    () => {
      for (const { file, d } of dashboards) {
        const dsVar = d.templating.list.find((v) => v.name === 'datasource')!;
        expect(dsVar, file).toMatchObject({ type: 'datasource', query: PLUGIN });
        // Its default is the provisioned data source.
        expect(dsVar.current.value, file).toBe('pullwatch-clickhouse');
        const seen: unknown[] = [];
        const walk = (node: unknown): void => {
          if (Array.isArray(node)) node.forEach(walk);
          else if (node && typeof node === 'object') {
            for (const [k, v] of Object.entries(node)) {
              if (k === 'datasource') seen.push(v);
              if (k === 'datasourceId' || k === 'datasourceUid') seen.push(`forbidden key ${k}`);
              walk(v);
            }
          }
        };
        walk(d.panels);
        walk(d.templating.list.filter((v) => v.type !== 'datasource'));
        expect(seen.length, file).toBeGreaterThan(0);
        for (const ref of seen) expect(ref, file).toEqual({ type: PLUGIN, uid: DS_VAR });
      }
    },
  );

  it('filters the drill-down by cluster, registry, team and namespace, the fleet overview by team', async () => {
    const query = (uid: string) =>
      byUid(uid)
        .templating.list.filter((v) => v.type === 'query')
        .map((v) => [v.name, v.multi, v.includeAll, v.current.value]);
    expect(query('pullwatch-drilldown')).toEqual([
      ['cluster', true, true, ['$__all']],
      ['registry', true, true, ['$__all']],
      ['team', true, true, ['$__all']],
      ['namespace', true, true, ['$__all']],
    ]);
    expect(query('pullwatch-fleet')).toEqual([['team', true, true, ['$__all']]]);
    // Every panel filters by team, through `$__conditionalAll` (nothing to add with All selected).
    for (const { file, d } of dashboards)
      for (const p of d.panels) {
        expect(p.targets[0]!.rawSql, `${file} ${p.title}`).toContain(TEAM_IN);
        expect(p.targets[0]!.rawSql, `${file} ${p.title}`).toContain(', $team)');
      }
    // `team` (0006) is on the event rows and Pod states, not on the per-minute and hourly aggregates most
    // panels read: a team selects the (cluster, namespace) pairs whose latest stored label in the range is it.
    const rs = await admin.query({
      query: `SELECT table FROM system.columns WHERE database = {db:String} AND name = 'team' ORDER BY table`,
      query_params: { db: database },
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ table: string }>()).map((x) => x.table)).toEqual([
      'pod_pull_state',
      'pull_events',
      'pull_failures',
      'pull_failures_mv',
    ]);
  });
  it(
    'puts every query variable into SQL through :singlequote only (bare only as $__conditionalAll’s second ' +
      'argument), and the constants are plain identifiers',
    () => {
      for (const { file, d } of dashboards) {
        const queryVars = new Set(d.templating.list.filter((v) => v.type === 'query').map((v) => v.name));
        const constants = new Set(d.templating.list.filter((v) => v.type === 'constant').map((v) => v.name));
        for (const v of d.templating.list.filter((x) => x.type === 'constant'))
          expect(v.query, `${file} constant ${v.name}`).toMatch(/^[A-Za-z0-9_]*$/);
        const sqls = [
          ...d.panels.map((p) => [p.title, p.targets[0]!.rawSql] as const),
          ...d.templating.list.filter((v) => v.type === 'query').map((v) => [`variable ${v.name}`, v.query] as const),
        ];
        for (const [what, sql] of sqls) {
          const calls = sql.split('$__conditionalAll(').length - 1;
          const bare = [...sql.matchAll(/, \$(?!__)(\w+)\)/g)].map((m) => m[1]!);
          expect(bare.length, `${file} ${what}: one bare variable per $__conditionalAll`).toBe(calls);
          for (const b of bare) expect(queryVars.has(b), `${file} ${what}: ${b}`).toBe(true);
          const rest = sql.replace(/, \$(?!__)(\w+)\)/g, ')');
          for (const m of rest.matchAll(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[/g)) {
            const [ref, braced, format, plain] = m;
            if (plain !== undefined) expect(plain, `${file} ${what}: ${ref}`).toMatch(/^__/);
            else if (braced !== undefined && constants.has(braced))
              expect(format, `${file} ${what}: ${ref}`).toBeUndefined();
            else {
              expect(queryVars.has(braced ?? ''), `${file} ${what}: ${ref}`).toBe(true);
              expect(format, `${file} ${what}: ${ref}`).toBe('singlequote');
            }
          }
        }
      }
    },
  );
});

// ---------------------------------------------------------------- the panels against ClickHouse

describe('infra/grafana: every panel runs against the real ClickHouse', () => {
  it('fleet overview: stats, trends, hotspots, incidents, stuck Pods and top images', async () => {
    const { results: r } = await runPanels(byUid('pullwatch-fleet'), {});
    expect(num(r.get('Failed pull attempts')!)).toBe(14);
    expect(num(r.get('Fleet failure rate')!)).toBeCloseTo(14 / 18, 10);
    expect(num(r.get('Pods with failed pulls')!)).toBe(4);
    expect(num(r.get('Failing registries')!)).toBe(3);
    expect(num(r.get('Stuck Pods')!)).toBe(1);
    expect(num(r.get('Open incidents')!)).toBe(1);

    const rate = r.get('Failure rate by registry')!;
    expect(rate.meta.map((m) => m.name)).toEqual(['time', 'registry', 'failure_rate']);
    expect([...new Set(col(rate, 'registry'))].sort()).toEqual(['docker.io', 'ghcr.io', 'quay.io']);
    const causes = r.get('Failed attempts by cause')!;
    expect(causes.data.reduce((n, x) => n + Number(x.failures), 0)).toBe(14);
    expect([...new Set(col(causes, 'cause'))].sort()).toEqual(['not_found', 'rate_limited', 'registry_unavailable']);

    expect(rows(r.get('Hotspots: registry × cluster')!)).toEqual([
      {
        registry: 'docker.io',
        cluster: 'prod-eu-west',
        failures: 7,
        successes: 3,
        failure_rate: 0.7,
        top_cause: 'rate_limited',
      },
      {
        registry: 'ghcr.io',
        cluster: 'prod-us-east',
        failures: 4,
        successes: 1,
        failure_rate: 0.8,
        top_cause: 'not_found',
      },
      {
        registry: 'quay.io',
        cluster: 'staging-eu',
        failures: 3,
        successes: 0,
        failure_rate: 1,
        top_cause: 'registry_unavailable',
      },
    ]);
    expect(
      r.get('Rate-limit hotspots by node')!.data.map((x) => [x.registry, x.cluster, x.node, Number(x.failures)]),
    ).toEqual([
      ['docker.io', 'prod-eu-west', 'n1', 5],
      ['docker.io', 'prod-eu-west', 'n2', 2],
    ]);
    expect(
      r.get('Incidents')!.data.map((x) => [x.status, x.scope, x.registry, x.cluster_list, Number(x.image_count)]),
    ).toEqual([
      ['open', 'cluster', 'docker.io', 'prod-eu-west', 1],
      ['resolved', 'image', 'ghcr.io', 'prod-us-east', 1],
    ]);
    const stuck = r.get('Stuck Pods, longest first')!;
    expect(stuck.data.map((x) => [x.cluster, x.namespace, x.pod, x.cause, x.attempts])).toEqual([
      ['prod-eu-west', 'shop', 'web-1', 'rate_limited', 7],
    ]);
    // first failure an hour before now, the range ends a minute after now
    expect(Number(stuck.data[0]!.failing_for)).toBe(61 * 60);
    expect(
      r.get('Top failing images')!.data.map((x) => [x.image, Number(x.failures), Number(x.clusters), Number(x.pods)]),
    ).toEqual([
      ['docker.io/library/nginx:1.27', 7, 1, 2],
      ['ghcr.io/acme/api:1.0', 4, 1, 1],
      ['quay.io/acme/tool:2', 3, 1, 1],
    ]);
  });

  it('drill-down, everything selected (All): the variables list every value, $__conditionalAll is 1=1', async () => {
    const { results: r, allValues } = await runPanels(byUid('pullwatch-drilldown'), {}, 300);
    expect(allValues).toEqual({
      cluster: ['prod-eu-west', 'prod-us-east', 'staging-eu'],
      registry: ['docker.io', 'ghcr.io', 'quay.io'],
      team: ['ops', 'pay', 'web'],
      namespace: ['payments', 'shop', 'tools'],
    });
    expect(num(r.get('Failed pull attempts')!)).toBe(14);
    expect(num(r.get('Stuck Pods')!)).toBe(1);
    // Per-minute rates over 5-minute buckets ($__interval_s = 300) add back up to the counts.
    const perMinute = r.get('Pull attempts per minute')!;
    expect(perMinute.meta.map((m) => m.name)).toEqual(['time', 'failed', 'pulled']);
    expect(perMinute.data.reduce((n, x) => n + (Number(x.failed) * 300) / 60, 0)).toBeCloseTo(14, 10);
    expect(perMinute.data.reduce((n, x) => n + (Number(x.pulled) * 300) / 60, 0)).toBeCloseTo(4, 10);
    for (const x of perMinute.data) expect(Date.parse(`${String(x.time).replace(' ', 'T')}Z`) % 300_000).toBe(0);
    expect(
      r.get('Pull time by registry')!.data.map((x) => [x.registry, Number(x.pulls), Number(x.p50_seconds)]),
    ).toEqual([
      ['docker.io', 3, 2],
      ['ghcr.io', 1, 4],
    ]);
    expect(r.get('Failing Pods')!.data.map((x) => x.pod)).toEqual(['job-1', 'web-1', 'api-1']);
    expect(r.get('Incidents in the selection')!.data.map((x) => x.registry)).toEqual(['docker.io', 'ghcr.io']);
  });

  it('drill-down, one cluster (the :singlequote form): the other variables and every panel narrow to it', async () => {
    const { results: r, allValues } = await runPanels(byUid('pullwatch-drilldown'), { cluster: ['prod-eu-west'] });
    expect(allValues.registry).toEqual(['docker.io']);
    expect(allValues.namespace).toEqual(['shop']);
    expect(num(r.get('Failed pull attempts')!)).toBe(7);
    expect(num(r.get('Failure rate')!)).toBeCloseTo(0.7, 10);
    expect(num(r.get('Pods with failed pulls')!)).toBe(2);
    expect(num(r.get('Stuck Pods')!)).toBe(1);
    expect([...new Set(col(r.get('Failure rate by cluster')!, 'cluster'))]).toEqual(['prod-eu-west']);
    expect(rows(r.get('Failures by namespace and cause')!)).toEqual([
      { cluster: 'prod-eu-west', namespace: 'shop', cause: 'rate_limited', failures: 7, pods: 2, images: 1 },
    ]);
    expect(r.get('Incidents in the selection')!.data.map((x) => x.cluster_list)).toEqual(['prod-eu-west']);
  });

  it('drill-down, two clusters and one registry, then one namespace', async () => {
    const d = byUid('pullwatch-drilldown');
    const two = await runPanels(d, { cluster: ['prod-eu-west', 'prod-us-east'], registry: ['ghcr.io'] });
    expect(two.allValues.registry).toEqual(['docker.io', 'ghcr.io']);
    expect(two.allValues.namespace).toEqual(['payments']);
    expect(num(two.results.get('Failed pull attempts')!)).toBe(4);
    expect(num(two.results.get('Failure rate')!)).toBeCloseTo(0.8, 10);
    expect(num(two.results.get('Stuck Pods')!)).toBe(0);
    expect(two.results.get('Top failing images')!.data.map((x) => [x.image, x.last_message])).toEqual([
      ['ghcr.io/acme/api:1.0', 'manifest unknown'],
    ]);
    expect(two.results.get('Incidents in the selection')!.data.map((x) => x.registry)).toEqual(['ghcr.io']);

    const ns = await runPanels(d, { namespace: ['tools'] });
    expect(num(ns.results.get('Failed pull attempts')!)).toBe(3);
    expect(ns.results.get('Failing Pods')!.data.map((x) => x.pod)).toEqual(['job-1']);
  });

  it('fleet overview, one team (web): the namespaces whose latest label in the range is web', async () => {
    const { results: r, allValues } = await runPanels(byUid('pullwatch-fleet'), { team: ['web'] });
    // web-old labelled prod-eu-west/shop before web did: it is nobody's team now.
    expect(allValues.team).toEqual(['ops', 'pay', 'web']);
    expect(num(r.get('Failed pull attempts')!)).toBe(7);
    expect(num(r.get('Fleet failure rate')!)).toBeCloseTo(7 / 10, 10);
    expect(num(r.get('Pods with failed pulls')!)).toBe(2);
    expect(num(r.get('Failing registries')!)).toBe(1);
    expect(num(r.get('Stuck Pods')!)).toBe(1);
    expect(num(r.get('Open incidents')!)).toBe(1);
    expect(rows(r.get('Hotspots: registry × cluster')!)).toEqual([
      {
        registry: 'docker.io',
        cluster: 'prod-eu-west',
        failures: 7,
        successes: 3,
        failure_rate: 0.7,
        top_cause: 'rate_limited',
      },
    ]);
    expect([...new Set(col(r.get('Failure rate by registry')!, 'registry'))]).toEqual(['docker.io']);
    expect(r.get('Incidents')!.data.map((x) => [x.status, x.registry, x.cluster_list])).toEqual([
      ['open', 'docker.io', 'prod-eu-west'],
    ]);
    expect(r.get('Stuck Pods, longest first')!.data.map((x) => x.pod)).toEqual(['web-1']);
    expect(r.get('Top failing images')!.data.map((x) => [x.image, Number(x.failures)])).toEqual([
      ['docker.io/library/nginx:1.27', 7],
    ]);
  });

  it('fleet overview, two teams (the multi-value form): pay and ops together', async () => {
    const { results: r } = await runPanels(byUid('pullwatch-fleet'), { team: ['pay', 'ops'] });
    expect(num(r.get('Failed pull attempts')!)).toBe(7);
    expect(num(r.get('Fleet failure rate')!)).toBeCloseTo(7 / 8, 10);
    expect(num(r.get('Pods with failed pulls')!)).toBe(2);
    expect(num(r.get('Failing registries')!)).toBe(2);
    // api-1 has failed for 5 minutes only; job-1 not for 40: neither is stuck.
    expect(num(r.get('Stuck Pods')!)).toBe(0);
    expect(num(r.get('Open incidents')!)).toBe(0);
    expect(r.get('Incidents')!.data.map((x) => [x.status, x.scope, x.registry, x.cluster_list])).toEqual([
      ['resolved', 'image', 'ghcr.io', 'prod-us-east'],
    ]);
    expect(r.get('Rate-limit hotspots by node')!.data).toEqual([]);
    expect(
      r.get('Top failing images')!.data.map((x) => [x.image, Number(x.failures), Number(x.clusters), Number(x.pods)]),
    ).toEqual([
      ['ghcr.io/acme/api:1.0', 4, 1, 1],
      ['quay.io/acme/tool:2', 3, 1, 1],
    ]);
  });

  it('a team nobody has now (web-old, relabelled) empties every panel of both dashboards', async () => {
    for (const { file, d } of dashboards) {
      const { results } = await runPanels(d, { team: ['web-old'] });
      for (const p of d.panels) {
        const res = results.get(p.title)!;
        if (p.type === 'stat') expect(num(res), `${file} ${p.title}`).toBe(0);
        else expect(res.data, `${file} ${p.title}`).toEqual([]);
      }
    }
  });

  it('drill-down, one team: the namespace options and every panel narrow to its namespaces', async () => {
    const d = byUid('pullwatch-drilldown');
    const { results: r, allValues } = await runPanels(d, { team: ['web'] });
    expect(allValues.team).toEqual(['ops', 'pay', 'web']);
    expect(allValues.namespace).toEqual(['shop']);
    expect(num(r.get('Failed pull attempts')!)).toBe(7);
    expect(num(r.get('Failure rate')!)).toBeCloseTo(0.7, 10);
    expect(num(r.get('Pods with failed pulls')!)).toBe(2);
    expect(num(r.get('Stuck Pods')!)).toBe(1);
    expect(rows(r.get('Failures by namespace and cause')!)).toEqual([
      { cluster: 'prod-eu-west', namespace: 'shop', cause: 'rate_limited', failures: 7, pods: 2, images: 1 },
    ]);
    expect(r.get('Failing Pods')!.data.map((x) => x.pod)).toEqual(['web-1']);
    expect(r.get('Pull time by registry')!.data.map((x) => [x.registry, Number(x.pulls)])).toEqual([['docker.io', 3]]);
    expect(r.get('Incidents in the selection')!.data.map((x) => x.registry)).toEqual(['docker.io']);
    // The team options narrow to the clusters and registries selected before them.
    const us = await runPanels(d, { cluster: ['prod-us-east'] });
    expect(us.allValues.team).toEqual(['pay']);
    const quay = await runPanels(d, { registry: ['quay.io'] });
    expect(quay.allValues.team).toEqual(['ops']);
  });

  it(
    "drill-down, a namespace with a quote and a space (it's a ns): every panel runs and returns exactly what " +
      'the same rows give under a plain name',
    async () => {
      const d = byUid('pullwatch-drilldown');
      const rename = (r: Result) => rows(r).map((x) => (x.namespace === ODD ? { ...x, namespace: 'shop' } : x));
      for (const [plain, odd] of [
        [['shop'], [ODD]],
        [
          ['shop', 'payments'],
          [ODD, 'payments'],
        ],
      ] as const) {
        const want = await runPanels(d, { namespace: [...plain] });
        const got = await runPanels(d, { namespace: [...odd] }, 60, hostileDatabase);
        for (const p of d.panels)
          expect(rename(got.results.get(p.title)!), `${p.title}: ${odd}`).toEqual(rows(want.results.get(p.title)!));
      }
      const { results: r, allValues } = await runPanels(d, { namespace: [ODD] }, 60, hostileDatabase);
      // Offered as an option like any other; a name with a backslash is not (no Grafana format can quote it
      // for ClickHouse, whose strings take backslash escapes), and is counted under All only.
      expect(allValues.namespace).toEqual([ODD, 'payments', 'tools', INJECTION]);
      expect(num(r.get('Failed pull attempts')!)).toBe(7);
      expect(num(r.get('Failure rate')!)).toBeCloseTo(0.7, 10);
      expect(num(r.get('Stuck Pods')!)).toBe(1);
      expect(rows(r.get('Failures by namespace and cause')!)).toEqual([
        { cluster: 'prod-eu-west', namespace: ODD, cause: 'rate_limited', failures: 7, pods: 2, images: 1 },
      ]);
      expect(r.get('Failing Pods')!.data.map((x) => [x.namespace, x.pod])).toEqual([[ODD, 'web-1']]);
      const all = await runPanels(d, {}, 60, hostileDatabase);
      expect(num(all.results.get('Failed pull attempts')!)).toBe(16);
    },
  );

  it('a namespace written to break out of its quotes selects only itself, on every panel', async () => {
    const d = byUid('pullwatch-drilldown');
    const { results } = await runPanels(d, { namespace: [INJECTION] }, 60, hostileDatabase);
    expect(num(results.get('Failed pull attempts')!)).toBe(1);
    expect(rows(results.get('Failures by namespace and cause')!)).toEqual([
      { cluster: 'edge-1', namespace: INJECTION, cause: 'rate_limited', failures: 1, pods: 1, images: 1 },
    ]);
    expect(results.get('Failing Pods')!.data).toEqual([]);
  });
});
