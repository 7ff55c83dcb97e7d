import { describe, expect, it } from 'vitest';
import { loadMigrations } from './migrations.ts';

describe('migrations for a sharded cluster without Keeper (replicated: false)', () => {
  const all = loadMigrations({ database: 'pw', ttlDays: 30, cluster: 'fleet', replicated: false });
  const sql = all.flatMap((m) => m.statements).join('\n');

  it('renders plain engines without ON CLUSTER, and still creates the _all Distributed tables', () => {
    expect(sql).not.toContain('ON CLUSTER');
    expect(sql).not.toContain('Replicated');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS pw.pull_events \n(');
    const engines = all
      .flatMap((m) => m.statements)
      .map((s) => /^CREATE TABLE IF NOT EXISTS pw\.(\w+)[\s\S]*?\bENGINE = (\w+)/.exec(s))
      .filter((m) => m !== null && !m[1]!.endsWith('_all'))
      .map((m) => `${m![1]}: ${m![2]}`);
    expect(engines).toEqual([
      'raw_events: MergeTree',
      'pull_events: MergeTree',
      'pull_failures: MergeTree',
      'pull_successes: MergeTree',
      'pull_stats_1m: AggregatingMergeTree',
      'pod_pull_state: ReplacingMergeTree',
      'incidents: ReplacingMergeTree',
      'pull_stats_1h: AggregatingMergeTree',
      'pull_stats_1h_since: MergeTree',
      'pull_stats_1h_pods_since: MergeTree',
    ]);
    // One Distributed `_all` table per table, sharded by Pod (incidents by id); the gap is where ON CLUSTER was.
    expect(all.find((m) => m.name === 'distributed')!.statements).toEqual([
      'CREATE TABLE IF NOT EXISTS pw.raw_events_all  AS pw.raw_events\n' +
        'ENGINE = Distributed(fleet, pw, raw_events, cityHash64(cluster, namespace, object_name))',
      'CREATE TABLE IF NOT EXISTS pw.pull_events_all  AS pw.pull_events\n' +
        'ENGINE = Distributed(fleet, pw, pull_events, cityHash64(cluster, namespace, pod))',
      'CREATE TABLE IF NOT EXISTS pw.pull_failures_all  AS pw.pull_failures\n' +
        'ENGINE = Distributed(fleet, pw, pull_failures, cityHash64(cluster, namespace, pod))',
      'CREATE TABLE IF NOT EXISTS pw.pull_successes_all  AS pw.pull_successes\n' +
        'ENGINE = Distributed(fleet, pw, pull_successes, cityHash64(cluster, namespace, pod))',
      'CREATE TABLE IF NOT EXISTS pw.pull_stats_1m_all  AS pw.pull_stats_1m\n' +
        'ENGINE = Distributed(fleet, pw, pull_stats_1m)',
      'CREATE TABLE IF NOT EXISTS pw.pod_pull_state_all  AS pw.pod_pull_state\n' +
        'ENGINE = Distributed(fleet, pw, pod_pull_state, cityHash64(cluster, namespace, pod))',
      'CREATE TABLE IF NOT EXISTS pw.incidents_all  AS pw.incidents\n' +
        'ENGINE = Distributed(fleet, pw, incidents, cityHash64(id))',
    ]);
  });
});
