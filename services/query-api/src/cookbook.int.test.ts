import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureDatabase } from '../../../test/support/fixture-database.ts';

/** The ```sql blocks of docs/sql.md, by their `-- name:` line. */
function cookbook(): Map<string, string> {
  const md = readFileSync(new URL('../../../docs/sql.md', import.meta.url), 'utf8');
  const out = new Map<string, string>();
  for (const m of md.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const name = /-- name: (\w+)/.exec(m[1]!)?.[1];
    if (name) out.set(name, m[1]!);
  }
  return out;
}

const db = new FixtureDatabase('cookbook');
const { admin, database } = db;
const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString().replace('T', ' ').replace('Z', '');

function row(o: Partial<Record<string, unknown>> & { uid: string }) {
  return {
    event_time: ago(30),
    first_time: ago(31),
    received_at: ago(30),
    cluster: 'prod-eu-west',
    namespace: 'shop',
    pod: 'web-1',
    container: 'web',
    node: 'n1',
    outcome: 'failure',
    event_kind: 'failed_pull',
    occurrences: 1,
    image: 'docker.io/library/nginx:latest',
    registry: 'docker.io',
    provider: 'docker_hub',
    repository: 'library/nginx',
    tag: 'latest',
    digest: '',
    tag_kind: 'latest',
    cause: 'rate_limited',
    subcause: 'registry',
    attributed: 0,
    retryable: 1,
    hint: '',
    message: 'm',
    pull_duration_ms: 0,
    image_size_bytes: 0,
    image_pull_policy: 'Always',
    has_pull_secrets: -1,
    event_uid: o.uid,
    event_count: 1,
    kafka_partition: 0,
    kafka_offset: 0,
    ...o,
  };
}

async function run(name: string): Promise<Record<string, unknown>[]> {
  const sql = cookbook().get(name);
  if (!sql) throw new Error(`docs/sql.md has no query named ${name}`);
  const rs = await admin.query({ query: sql.replaceAll('{db}', database), format: 'JSONEachRow' });
  return rs.json();
}

// The Deployment `web` of team payments, from the collector's Pod watch (migration 0006).
const web = { workload_kind: 'Deployment', workload_name: 'web', workload_inferred: false, team: 'payments' };

beforeAll(async () => {
  await db.migrate();
  await db.insert('pull_events', [
    row({ uid: 'a', occurrences: 5, node: 'n1', ...web }),
    row({ uid: 'b', occurrences: 2, node: 'n2', pod: 'web-2', ...web }),
    row({
      uid: 'c',
      occurrences: 4,
      cluster: 'prod-us-east',
      node: 'u1',
      pod: 'api-1',
      image: 'ghcr.io/acme/api:1.0',
      registry: 'ghcr.io',
      provider: 'ghcr',
      tag: '1.0',
      tag_kind: 'pinned',
      cause: 'not_found',
      subcause: '',
      workload_kind: 'StatefulSet',
      workload_name: 'api',
      workload_inferred: true,
    }),
    row({ uid: 'd', outcome: 'success', event_kind: 'pulled', occurrences: 3, cause: '', pod: 'web-3' }),
  ]);
  const state = (pod: string, cause: string, ttr: number) => ({
    cluster: 'c',
    namespace: 'n',
    pod,
    container: 'x',
    image: 'i',
    node: '',
    registry: 'docker.io',
    provider: 'docker_hub',
    status: 'recovered',
    cause,
    subcause: '',
    hint: '',
    message: '',
    first_failure: ago(60),
    last_failure: ago(50),
    attempts: 3,
    backoff_stage: 2,
    backoff_seconds: 20,
    recovered_at: ago(40),
    time_to_recover_ms: ttr,
    image_pull_policy: '',
    has_pull_secrets: -1,
    tag_kind: 'pinned',
    updated_at: ago(40),
  });
  await db.insert('pod_pull_state', [
    state('p1', 'rate_limited', 10_000),
    state('p2', 'rate_limited', 30_000),
    state('p3', 'rate_limited', 50_000),
    {
      ...state('web-7', 'not_found', 0),
      cluster: 'prod-eu-west',
      namespace: 'shop',
      status: 'stuck',
      first_failure: ago(45),
      last_failure: ago(2),
      attempts: 14,
      recovered_at: null,
      time_to_recover_ms: null,
      updated_at: ago(2),
      ...web,
    },
  ]);
  await db.insert('incidents', [
    {
      id: 'i1',
      registry: 'docker.io',
      cause: 'rate_limited',
      scope: 'cluster',
      clusters: ['prod-eu-west'],
      images: [],
      failures: 7,
      start: ago(40),
      last_seen: ago(30),
      end: null,
      status: 'open',
      updated_at: ago(30),
    },
  ]);
});

afterAll(async () => {
  await db.drop();
});

describe('docs/sql.md cookbook, on real ClickHouse', () => {
  it('has the queries SREs were promised', () => {
    expect([...cookbook().keys()]).toEqual([
      'top_failing_registries',
      'rate_limits_by_cluster_and_node',
      'time_to_recover',
      'latest_tag_usage',
      'incidents_timeline',
      'one_pod_history',
      'docker_hub_quota_by_cluster',
      'recovery_by_registry',
      'fleet_pulled_repositories',
      'weekly_fleet_report',
      'weekly_causes_by_registry',
      'failures_by_team_and_workload',
      'stuck_pods_by_workload',
    ]);
  });

  it('top failing registries', async () => {
    expect(
      (await run('top_failing_registries')).map((r) => [
        r.registry,
        Number(r.failures),
        Number(r.successes),
        Number(r.failure_rate),
      ]),
    ).toEqual([
      ['docker.io', 7, 3, 0.7],
      ['ghcr.io', 4, 0, 1],
    ]);
  });

  it('rate limits by cluster and node', async () => {
    expect((await run('rate_limits_by_cluster_and_node')).map((r) => [r.cluster, r.node, Number(r.failures)])).toEqual([
      ['prod-eu-west', 'n1', 5],
      ['prod-eu-west', 'n2', 2],
    ]);
  });

  it('time to recover p50/p95', async () => {
    const [r] = await run('time_to_recover');
    expect(r).toMatchObject({ cause: 'rate_limited' });
    expect(Number(r!.recovered_pods)).toBe(3);
    expect(Number(r!.p50_seconds)).toBe(30);
    expect(Number(r!.p95_seconds)).toBeCloseTo(48, 0);
  });

  it('latest tag usage, incidents timeline, one Pod', async () => {
    expect((await run('latest_tag_usage')).map((r) => [r.image, r.tag_kind, Number(r.pods)])).toEqual([
      ['docker.io/library/nginx:latest', 'latest', 3],
    ]);
    expect((await run('incidents_timeline')).map((r) => [r.status, r.scope, Number(r.failures)])).toEqual([
      ['open', 'cluster', 7],
    ]);
    expect((await run('one_pod_history')).map((r) => Number(r.occurrences))).toEqual([5]);
  });

  it('Docker Hub quota, recovery per registry, the repositories the fleet pulled', async () => {
    expect(
      (await run('docker_hub_quota_by_cluster')).map((r) => [
        r.cluster,
        Number(r.used),
        Number(r.remaining),
        Number(r.last_hour),
        Number(r.rate_limited_failures),
      ]),
    ).toEqual([['prod-eu-west', 3, 97, 3, 7]]);
    // Still stuck: web-7 (failing for 45 minutes, its last failure 2 minutes ago).
    expect(
      (await run('recovery_by_registry')).map((r) => [
        r.registry,
        Number(r.recovered),
        Number(r.p50_seconds),
        Number(r.p90_seconds),
        Number(r.max_seconds),
        Number(r.still_stuck),
      ]),
    ).toEqual([['docker.io', 3, 30, 46, 50, 1]]);
    expect(
      (await run('fleet_pulled_repositories')).map((r) => [r.registry, r.repository, r.tag, Number(r.pulls)]),
    ).toEqual([['docker.io', 'library/nginx', 'latest', 3]]);
  });

  it('weekly fleet report, per cluster and namespace and per registry and cause', async () => {
    expect(
      (await run('weekly_fleet_report')).map((r) => [
        r.cluster,
        r.namespace,
        Number(r.failures),
        Number(r.successes),
        Number(r.failure_rate),
        Number(r.failing_pods),
      ]),
    ).toEqual([
      ['prod-eu-west', 'shop', 7, 3, 0.7, 2],
      ['prod-us-east', 'shop', 4, 0, 1, 1],
    ]);
    expect((await run('weekly_causes_by_registry')).map((r) => [r.registry, r.cause, Number(r.failures)])).toEqual([
      ['docker.io', 'rate_limited', 7],
      ['ghcr.io', 'not_found', 4],
    ]);
  });

  it('failures by team and workload, stuck Pods by workload', async () => {
    expect(
      (await run('failures_by_team_and_workload')).map((r) => [
        r.team,
        r.workload_kind,
        r.workload_name,
        r.inferred,
        Number(r.failures),
        Number(r.pods),
      ]),
    ).toEqual([
      ['payments', 'Deployment', 'web', false, 7, 2],
      [null, 'StatefulSet', 'api', true, 4, 1],
    ]);
    expect(
      (await run('stuck_pods_by_workload')).map((r) => [
        r.cluster,
        r.namespace,
        r.workload_kind,
        r.workload_name,
        r.team,
        Number(r.pods),
        Number(r.attempts),
      ]),
    ).toEqual([['prod-eu-west', 'shop', 'Deployment', 'web', 'payments', 1, 14]]);
  });
});
