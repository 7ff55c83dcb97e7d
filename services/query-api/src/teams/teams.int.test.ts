import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureDatabase } from '../../../../test/support/fixture-database.ts';
import type { QueryApi } from '../query-api.ts';
import {
  fixtureClock,
  type PodStateFixture,
  podStateRow,
  type PullEventFixture,
  pullEventRow,
} from '../test-support/rows.ts';
import { startTestApi } from '../test-support/api.ts';

// The `team` filter of the dashboard's routes and GET /v1/teams, on the real ClickHouse. A namespace's
// team: the mapping file's (a cluster's entry first), else the latest team label stored on its pulls in
// the window, else none.
const db = new FixtureDatabase('teams_it');
const { database } = db;
const NOW = new Date('2026-11-24T12:00:00Z');
const clock = fixtureClock(NOW);
const { at, iso } = clock;
const TOKEN = 'teams-token';
const WEB = 'docker.io/acme/web:1';
const JOB = 'docker.io/acme/job:1';
const PG = 'ghcr.io/acme/pg:1';
const API = 'quay.io/acme/api:1';

const ev = (o: PullEventFixture) => pullEventRow(clock, { policy: 'IfNotPresent', ...o });
const state = (o: PodStateFixture) => podStateRow(clock, o);

function incident(id: string, registry: string, clusters: string[], images: string[]) {
  return {
    id,
    registry,
    cause: 'rate_limited',
    scope: 'cluster',
    clusters,
    images,
    failures: 1,
    start: at(40),
    last_seen: at(5),
    end: null,
    status: 'open',
    updated_at: at(5),
  };
}

let api: QueryApi;
async function get<T = Record<string, unknown>>(path: string): Promise<T> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  await db.migrate();
  const insert = (table: string, values: Record<string, unknown>[]) => db.insert(table, values);
  // web: eu/shop by its label, us/shop by the file's us entry. data: eu/db by the file (its label, ops, loses).
  // pay: us/pay, labelled pay-old 50 minutes ago and pay 10 minutes ago. eu/tmp: no team.
  await insert('pull_events', [
    ev({
      cluster: 'eu',
      namespace: 'shop',
      pod: 'web-1',
      image: WEB,
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 5,
      minAgo: 30,
      uid: 'a',
      team: 'web',
    }),
    ev({
      cluster: 'eu',
      namespace: 'shop',
      pod: 'web-1',
      image: WEB,
      outcome: 'success',
      occurrences: 2,
      minAgo: 25,
      uid: 'b',
      team: 'web',
    }),
    ev({
      cluster: 'us',
      namespace: 'shop',
      pod: 'web-2',
      image: WEB,
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 3,
      minAgo: 20,
      uid: 'c',
      tagKind: 'latest',
      policy: 'Always',
    }),
    ev({
      cluster: 'eu',
      namespace: 'db',
      pod: 'pg-0',
      image: PG,
      outcome: 'failure',
      cause: 'not_found',
      occurrences: 4,
      minAgo: 15,
      uid: 'd',
      team: 'ops',
    }),
    ev({
      cluster: 'us',
      namespace: 'pay',
      pod: 'api-1',
      image: API,
      outcome: 'failure',
      cause: 'registry_unavailable',
      occurrences: 6,
      minAgo: 50,
      uid: 'e',
      team: 'pay-old',
    }),
    ev({
      cluster: 'us',
      namespace: 'pay',
      pod: 'api-1',
      image: API,
      outcome: 'success',
      occurrences: 1,
      minAgo: 10,
      uid: 'f',
      team: 'pay',
    }),
    ev({
      cluster: 'eu',
      namespace: 'tmp',
      pod: 'job-1',
      image: JOB,
      outcome: 'failure',
      cause: 'rate_limited',
      occurrences: 8,
      minAgo: 5,
      uid: 'g',
      tagKind: 'latest',
      policy: 'Always',
    }),
  ]);
  await insert('pod_pull_state', [
    state({ cluster: 'eu', namespace: 'shop', pod: 'web-1', image: WEB, cause: 'rate_limited', first: 60, last: 2 }),
    state({
      cluster: 'us',
      namespace: 'pay',
      pod: 'api-1',
      image: API,
      cause: 'registry_unavailable',
      first: 50,
      last: 3,
    }),
    state({ cluster: 'eu', namespace: 'tmp', pod: 'job-1', image: JOB, cause: 'rate_limited', first: 30, last: 1 }),
    state({
      cluster: 'us',
      namespace: 'shop',
      pod: 'web-2',
      image: WEB,
      cause: 'rate_limited',
      first: 20,
      last: 15,
      recovered: 12,
    }),
  ]);
  await insert('incidents', [
    incident('i-web', 'docker.io', ['eu', 'us'], [WEB]), // web's Pods failed on it in both clusters
    incident('i-tmp', 'docker.io', ['eu'], [JOB]), // only eu/tmp, which has no team
    incident('i-pg-us', 'ghcr.io', ['us'], [PG]), // pg failed in eu, not in us: nobody's
    incident('i-pg-eu', 'ghcr.io', ['eu'], [PG]), // data's
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'teams-it-'));
  writeFileSync(join(dir, 'teams.yaml'), 'namespaces:\n  db: data\nclusters:\n  us:\n    shop: web\n');
  api = await startTestApi(
    'teams-test',
    {
      PULLWATCH_API_TOKENS: TOKEN,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_TEAMS_FILE: join(dir, 'teams.yaml'),
    },
    () => NOW,
  );
});

afterAll(async () => {
  await api?.stop();
  await db.drop();
});

type Registries = { registries: { registry: string; failures: number; successes: number; clusters: number }[] };
const registries = async (query: string) =>
  (await get<Registries>(`/v1/registries?${query}`)).registries.map((r) => [
    r.registry,
    r.failures,
    r.successes,
    r.clusters,
  ]);

describe('the team filter', () => {
  it('lists the teams: the file’s, else the latest stored label, with their clusters', async () => {
    expect(await get('/v1/teams')).toEqual({
      from: '2026-11-23T12:00:00.000Z',
      to: NOW.toISOString(),
      teams: [
        { team: 'data', clusters: ['eu'], namespaces: 1 },
        { team: 'pay', clusters: ['us'], namespaces: 1 },
        { team: 'web', clusters: ['eu', 'us'], namespaces: 2 },
      ],
    });
    expect((await get<{ teams: unknown[] }>('/v1/teams?cluster=us')).teams).toEqual([
      { team: 'pay', clusters: ['us'], namespaces: 1 },
      { team: 'web', clusters: ['us'], namespaces: 1 },
    ]);
    // Half an hour ago: us/pay was labelled pay-old (pay since 10 minutes ago), eu/db had no pulls yet.
    const early = await get<{ teams: { team: string }[] }>(`/v1/teams?to=${iso(30)}`);
    expect(early.teams.map((t) => t.team)).toEqual(['pay-old', 'web']);
  });

  it('filters registries to the team’s namespaces, exactly; an unknown team gets nothing', async () => {
    expect(await registries('')).toEqual([
      ['docker.io', 16, 2, 2],
      ['quay.io', 6, 1, 1],
      ['ghcr.io', 4, 0, 1],
    ]);
    expect(await registries('team=web')).toEqual([['docker.io', 8, 2, 2]]);
    expect(await registries('team=web&cluster=us')).toEqual([['docker.io', 3, 0, 1]]);
    expect(await registries('team=data')).toEqual([['ghcr.io', 4, 0, 1]]);
    expect(await registries('team=pay')).toEqual([['quay.io', 6, 1, 1]]);
    // ops labelled eu/db, but the file gives it to data; pay-old is no longer us/pay's latest label.
    expect(await registries('team=ops')).toEqual([]);
    expect(await registries('team=pay-old')).toEqual([]);
    expect(await registries(`team=pay-old&to=${iso(30)}`)).toEqual([['quay.io', 6, 0, 1]]);
    for (const nobody of ['nobody', "' OR 1=1 --", '{teamPairs:String}', 'ü🙂'])
      expect(await registries(`team=${encodeURIComponent(nobody)}`), nobody).toEqual([]);
  });

  it('filters trends (from the minutes: the hourly table has no namespace), hotspots and failures', async () => {
    type Trends = { series: { failures: number; successes: number }[] };
    const sums = async (query: string) => {
      const t = await get<Trends>(`/v1/trends?interval=1h&${query}`);
      return [
        t.series.length,
        t.series.reduce((n, b) => n + b.failures, 0),
        t.series.reduce((n, b) => n + b.successes, 0),
      ];
    };
    expect(await sums('')).toEqual([24, 26, 3]);
    expect(await sums('team=web')).toEqual([24, 8, 2]);
    expect(await sums('team=pay&registry=quay.io')).toEqual([24, 6, 1]);
    expect(await sums('team=nobody')).toEqual([24, 0, 0]);

    type Hotspots = { hotspots: { registry: string; cluster: string; failures: number }[] };
    const hot = async (query: string) =>
      (await get<Hotspots>(`/v1/hotspots/rate-limit?${query}`)).hotspots.map((h) => [h.cluster, h.failures]);
    expect(await hot('')).toEqual([
      ['eu', 13],
      ['us', 3],
    ]);
    expect(await hot('team=web')).toEqual([
      ['eu', 5],
      ['us', 3],
    ]);
    expect(await hot('team=data')).toEqual([]);

    type Failures = { failures: { namespace: string; occurrences: number; team: string | null }[] };
    const failures = async (query: string) =>
      (await get<Failures>(`/v1/failures?${query}`)).failures.map((f) => [f.namespace, f.occurrences, f.team]);
    // `team` on items stays the stored label; the filter also takes the file's namespaces.
    expect(await failures('team=web')).toEqual([
      ['shop', 3, null],
      ['shop', 5, 'web'],
    ]);
    expect(await failures('team=data')).toEqual([['db', 4, 'ops']]);
    expect(await failures('team=nobody')).toEqual([]);
  });

  it('filters incidents to those the team’s Pods failed in (a cluster and an image of theirs)', async () => {
    type Incidents = { incidents: { id: string }[] };
    const ids = async (query: string) =>
      (await get<Incidents>(`/v1/incidents?${query}`)).incidents.map((i) => i.id).sort();
    expect(await ids('')).toEqual(['i-pg-eu', 'i-pg-us', 'i-tmp', 'i-web']);
    expect(await ids('team=web')).toEqual(['i-web']);
    expect(await ids('team=data')).toEqual(['i-pg-eu']);
    expect(await ids('team=pay')).toEqual([]);
    expect(await ids('team=nobody')).toEqual([]);
  });

  it('filters stuck Pods, time to recover and risks', async () => {
    type Stuck = { pods: { cluster: string; pod: string }[] };
    const stuck = async (query: string) =>
      (await get<Stuck>(`/v1/pods/stuck?${query}`)).pods.map((p) => `${p.cluster}/${p.pod}`);
    expect(await stuck('')).toEqual(['eu/web-1', 'us/api-1', 'eu/job-1']);
    expect(await stuck('team=web')).toEqual(['eu/web-1']);
    expect(await stuck('team=pay')).toEqual(['us/api-1']);
    expect(await stuck('team=nobody')).toEqual([]);

    type Recovery = {
      groups: { cause: string; count: number; stillStuck: number }[];
      incidents: { cause: string; open: number }[];
    };
    const recovery = async (query: string) => {
      const r = await get<Recovery>(`/v1/recovery?${query}`);
      return [r.groups.map((g) => [g.cause, g.count, g.stillStuck]), r.incidents.map((i) => [i.cause, i.open])];
    };
    expect(await recovery('')).toEqual([
      [
        ['rate_limited', 1, 2],
        ['registry_unavailable', 0, 1],
      ],
      [['rate_limited', 4]],
    ]);
    expect(await recovery('team=web')).toEqual([[['rate_limited', 1, 1]], [['rate_limited', 1]]]);
    expect(await recovery('team=pay')).toEqual([[['registry_unavailable', 0, 1]], []]);
    expect(await recovery('team=nobody')).toEqual([[], []]);

    type Risks = {
      mutableTags: { image: string; pods: number }[];
      alwaysPullFromRateLimitedRegistries: { image: string; pods: number }[];
    };
    const risks = async (query: string) => {
      const r = await get<Risks>(`/v1/risks?${query}`);
      return [
        r.mutableTags.map((m) => [m.image, m.pods]),
        r.alwaysPullFromRateLimitedRegistries.map((m) => [m.image, m.pods]),
      ];
    };
    expect(await risks('')).toEqual([
      [
        [JOB, 1],
        [WEB, 1],
      ],
      [
        [JOB, 1],
        [WEB, 1],
      ],
    ]);
    expect(await risks('team=web')).toEqual([[[WEB, 1]], [[WEB, 1]]]);
    expect(await risks('team=data')).toEqual([[], []]);
  });

  it('resolves teams the same way in /v1/reports/failures (grouping and filter)', async () => {
    type Report = {
      groups: { key: { team?: string | null; namespace?: string }; failures: number; successes: number }[];
      totals: { failures: number; successes: number };
    };
    const byTeam = await get<Report>('/v1/reports/failures?groupBy=team');
    expect(byTeam.groups.map((g) => [g.key.team, g.failures, g.successes])).toEqual([
      ['web', 8, 2],
      [null, 8, 0],
      ['pay', 6, 1],
      ['data', 4, 0],
    ]);
    const web = await get<Report>('/v1/reports/failures?groupBy=cluster,namespace&team=web');
    expect(web.groups.map((g) => [g.key.namespace, g.failures, g.successes])).toEqual([
      ['shop', 5, 2],
      ['shop', 3, 0],
    ]);
    expect(web.totals).toMatchObject({ failures: 8, successes: 2 });
    expect((await get<Report>('/v1/reports/failures?team=ops')).totals).toMatchObject({ failures: 0, successes: 0 });
  });

  it('documents the team parameter and GET /v1/teams in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string }[]; responses: Record<string, unknown> } }>;
    };
    const withTeam = Object.entries(doc.paths)
      .filter(([, item]) => item.get.parameters.some((p) => p.name === 'team'))
      .map(([path]) => path)
      .sort();
    expect(withTeam).toEqual([
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
    expect(doc.paths['/v1/teams']!.get.parameters.map((p) => p.name)).toEqual(['from', 'to', 'cluster']);
    expect(JSON.stringify(doc.paths['/v1/teams']!.get.responses['200'])).toContain('"namespaces"');
  });
});
