import { afterAll, describe, expect, it } from 'vitest';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { createClickHouse } from './client.ts';
import { loadMigrations, migrate } from './migrations.ts';

describe('migrate', () => {
  const database = uniqueName('migrate_it');
  const client = createClickHouse({ ...testEndpoints().clickhouse });
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it('applies every migration once and is idempotent', async () => {
    const all = loadMigrations({ database, ttlDays: 90 }).map((m) => m.version);
    const first = await migrate(client, { database, ttlDays: 90 });
    expect(first.applied).toEqual(all);
    expect(all).toEqual([1, 2, 3, 4, 5]);
    const second = await migrate(client, { database, ttlDays: 90 });
    expect(second).toEqual({ applied: [], alreadyApplied: all });
    const rs = await client.query({
      query: 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name',
      query_params: { db: database },
      format: 'JSONEachRow',
    });
    const tables = (await rs.json<{ name: string }>()).map((r) => r.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'raw_events',
        'pull_events',
        'pull_failures',
        'pull_successes',
        'pull_stats_1m',
        'pull_stats_1h',
        'pull_stats_1h_since',
        'pod_pull_state',
        'incidents',
        'schema_migrations',
      ]),
    );
    // The Distributed `_all` tables exist only on a cluster.
    expect(tables.filter((t) => t.endsWith('_all'))).toEqual([]);
  });

  it('renders Replicated engines ON CLUSTER for a cluster', () => {
    const [m] = loadMigrations({ database: 'pw', ttlDays: 30, cluster: 'fleet' });
    const sql = m!.statements.join('\n');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS pw.pull_events ON CLUSTER fleet');
    expect(sql).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')");
    expect(sql).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', updated_at)",
    );
    expect(sql).toContain('INTERVAL 30 DAY');
    const distributed = loadMigrations({ database: 'pw', ttlDays: 30, cluster: 'fleet' }).find(
      (x) => x.name === 'distributed',
    )!.statements;
    expect(distributed).toHaveLength(7);
    expect(distributed).toContain(
      'CREATE TABLE IF NOT EXISTS pw.pull_events_all ON CLUSTER fleet AS pw.pull_events\nENGINE = Distributed(fleet, pw, pull_events, cityHash64(cluster, namespace, pod))',
    );
    expect(distributed.join('\n')).toContain('ENGINE = Distributed(fleet, pw, incidents, cityHash64(id))');
    expect(loadMigrations({ database: 'pw', ttlDays: 30 }).find((x) => x.name === 'distributed')!.statements).toEqual(
      [],
    );
    const hourly = loadMigrations({ database: 'pw', ttlDays: 30, cluster: 'fleet' }).find(
      (x) => x.name === 'stats_1h',
    )!.statements;
    expect(hourly.join('\n')).toContain(
      "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')",
    );
    expect(hourly).toContain(
      'CREATE TABLE IF NOT EXISTS pw.pull_stats_1h_all ON CLUSTER fleet AS pw.pull_stats_1h\nENGINE = Distributed(fleet, pw, pull_stats_1h)',
    );
    expect(
      loadMigrations({ database: 'pw', ttlDays: 30 })
        .find((x) => x.name === 'stats_1h')!
        .statements.join('\n'),
    ).not.toContain('_all');
    expect(() => loadMigrations({ database: 'x; DROP', ttlDays: 30 })).toThrow(/invalid database/);
  });
});
