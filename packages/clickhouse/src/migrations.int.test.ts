import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { until } from '../../../test/support/until.ts';
import { createClickHouse } from './client.ts';
import { loadMigrations, MIGRATIONS_DIR, migrate } from './migrations.ts';

/** The envelope of the raw row the upgrade tests store before migrating: what its ALIAS columns read after 0007. */
const RAW_PAYLOAD = JSON.stringify({
  schema: 'pullwatch.k8s/v1',
  kind: 'event',
  cluster: 'eu',
  source: 'watch',
  receivedAt: '2026-11-24T10:00:01.000Z',
  identity: { uid: 'u1', count: 3, resourceVersion: '42', key: 'eu/u1/3' },
  event: {
    metadata: { uid: 'u1', name: 'web-1.1', namespace: 'shop', resourceVersion: '42' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop' },
    reason: 'Failed',
    message: 'Failed to pull image "quay.io/a:1": 503',
    count: 3,
  },
});

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
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
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
        'pull_stats_1h_pods_since',
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
      'CREATE TABLE IF NOT EXISTS pw.pull_events_all ON CLUSTER fleet AS pw.pull_events\nENGINE = ' +
        'Distributed(fleet, pw, pull_events, cityHash64(cluster, namespace, pod))',
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
      'CREATE TABLE IF NOT EXISTS pw.pull_stats_1h_all ON CLUSTER fleet AS pw.pull_stats_1h\nENGINE = ' +
        'Distributed(fleet, pw, pull_stats_1h)',
    );
    expect(
      loadMigrations({ database: 'pw', ttlDays: 30 })
        .find((x) => x.name === 'stats_1h')!
        .statements.join('\n'),
    ).not.toContain('_all');
    // 0007: on a cluster the Distributed tables are made again from the migrated tables (their ALIAS columns).
    const storage = (cluster?: string) =>
      loadMigrations({ database: 'pw', ttlDays: 30, cluster }).find((x) => x.name === 'storage')!.statements;
    expect(storage('fleet').filter((st) => st.includes('_all'))).toEqual([
      'DROP TABLE IF EXISTS pw.raw_events_all ON CLUSTER fleet SYNC',
      'CREATE TABLE IF NOT EXISTS pw.raw_events_all ON CLUSTER fleet AS pw.raw_events\nENGINE = ' +
        'Distributed(fleet, pw, raw_events, cityHash64(cluster, namespace, object_name))',
      'DROP TABLE IF EXISTS pw.pull_events_all ON CLUSTER fleet SYNC',
      'CREATE TABLE IF NOT EXISTS pw.pull_events_all ON CLUSTER fleet AS pw.pull_events\nENGINE = ' +
        'Distributed(fleet, pw, pull_events, cityHash64(cluster, namespace, pod))',
    ]);
    expect(storage().filter((st) => st.includes('_all'))).toEqual([]);
    expect(storage().every((st) => st.startsWith('ALTER TABLE pw.'))).toBe(true);
    // 0006: the local tables and the view everywhere, their Distributed `_all` tables on a cluster only.
    const workloads = (cluster?: string) =>
      loadMigrations({ database: 'pw', ttlDays: 30, ...(cluster ? { cluster } : {}) })
        .find((x) => x.name === 'workloads')!
        .statements.map((st) => /^ALTER TABLE (\S+)/.exec(st)?.[1]);
    expect(workloads()).toEqual(['pw.pull_events', 'pw.pull_failures', 'pw.pull_failures_mv', 'pw.pod_pull_state']);
    expect(workloads('fleet')).toEqual([
      'pw.pull_events',
      'pw.pull_failures',
      'pw.pull_failures_mv',
      'pw.pod_pull_state',
      'pw.pull_events_all',
      'pw.pull_failures_all',
      'pw.pod_pull_state_all',
    ]);
    expect(() => loadMigrations({ database: 'x; DROP', ttlDays: 30 })).toThrow(/invalid database/);
  });

  it('two runs at once both succeed and apply each migration exactly once', async () => {
    const db = uniqueName('migrate_race');
    const other = createClickHouse({ ...testEndpoints().clickhouse });
    try {
      const [a, b] = await Promise.all([
        migrate(client, { database: db, ttlDays: 90 }),
        migrate(other, { database: db, ttlDays: 90 }),
      ]);
      const all = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
      const sorted = (v: number[]) => [...v].sort((x, y) => x - y);
      // Every version applied by exactly one of them, and known to the other as already applied.
      expect(sorted([...a.applied, ...b.applied])).toEqual(all);
      expect(sorted([...a.alreadyApplied, ...b.alreadyApplied])).toEqual(all);
      const rs = await client.query({
        query: `SELECT version, count() AS n FROM ${db}.schema_migrations GROUP BY version ORDER BY version`,
        format: 'JSONEachRow',
      });
      expect((await rs.json<{ version: number; n: number | string }>()).map((r) => [r.version, Number(r.n)])).toEqual(
        all.map((v) => [v, 1]),
      );
      const claims = await client.query({
        query: "SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE 'schema_migration_claim%'",
        query_params: { db },
        format: 'JSONEachRow',
      });
      expect(await claims.json()).toEqual([]);
    } finally {
      await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await other.close();
    }
  });

  it('0010: the newest-first failure listing reads the time-ordered projection, the same rows, rows stored before it included', async () => {
    const db = uniqueName('migrate_by_time');
    const dir = mkdtempSync(join(tmpdir(), 'pw-migrations-'));
    try {
      for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => /^000\d_.*\.sql$/.test(f)))
        copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
      await migrate(client, { database: db, ttlDays: 90 }, dir);
      // 60,000 failures over the last 3 days (this month's or last month's partition, which 0010 builds the
      // projection for) and 1,000 from 70 days ago (older: read from the table's own order).
      const failures = (count: number, sql: string) =>
        client.command({
          query:
            `INSERT INTO ${db}.pull_events (event_time, cluster, namespace, pod, outcome, occurrences, registry, ` +
            `cause, event_uid, event_count) SELECT ${sql}, concat('c', toString(number % 7)), 'ns', ` +
            `concat('p', toString(number)), 'failure', 1, ['quay.io', 'ghcr.io'][number % 2 + 1], ` +
            `['not_found', 'rate_limited', 'unauthorized'][number % 3 + 1], toString(number), 1 + number % 2 ` +
            `FROM numbers(${count})`,
          clickhouse_settings: { async_insert: 0 },
        });
      await failures(60_000, "now64(3, 'UTC') - toIntervalSecond(number * 7919 % (3 * 86400))");
      await failures(1_000, "now64(3, 'UTC') - toIntervalDay(70) - toIntervalSecond(number)");
      expect((await migrate(client, { database: db, ttlDays: 90 })).applied).toEqual([10, 11, 12, 13]);
      await until(async () => {
        const rs = await client.query({
          query: `SELECT count() AS n FROM system.mutations WHERE database = {db:String} AND NOT is_done`,
          query_params: { db },
          format: 'JSONEachRow',
        });
        return Number((await rs.json<{ n: number | string }>())[0]?.n) === 0;
      }, 'the projection built for existing parts');
      // The query API's listing (services/query-api: failures), a day's window and 90 days.
      const listing = (days: number) =>
        `SELECT event_time, cluster, pod, registry, cause, event_uid, event_count FROM ${db}.pull_failures ` +
        `WHERE event_time >= now64(3, 'UTC') - toIntervalDay(${days}) AND event_time < now64(3, 'UTC') ` +
        'ORDER BY event_time DESC, event_uid DESC, event_count DESC LIMIT 101';
      const read = async (query: string, projections: 0 | 1) => {
        const rs = await client.query({
          query,
          format: 'JSONEachRow',
          clickhouse_settings: { optimize_use_projections: projections },
        });
        const rows = await rs.json<Record<string, unknown>>();
        const summary = JSON.parse(String(rs.response_headers['x-clickhouse-summary'])) as { read_rows: string };
        return { rows, readRows: Number(summary.read_rows) };
      };
      const plan = await client.query({ query: `EXPLAIN indexes = 1 ${listing(1)}`, format: 'TabSeparatedRaw' });
      const explained = await plan.text();
      expect(explained).toContain('ReadFromMergeTree (by_time)');
      expect(explained).toContain('Read type: InReverseOrder');
      for (const days of [1, 90]) {
        const withIt = await read(listing(days), 1);
        const without = await read(listing(days), 0);
        expect(withIt.rows).toHaveLength(101);
        expect(withIt.rows).toEqual(without.rows);
        // Without it, every row of the window's partitions; with it, the granules holding the page.
        expect(without.readRows).toBeGreaterThanOrEqual(20_000);
        expect(withIt.readRows).toBeLessThan(without.readRows / 2);
      }
      // The oldest page of a 90-day window comes from the part the projection was not built for.
      const oldest = `SELECT count() AS n FROM ${db}.pull_failures WHERE event_time < now64(3, 'UTC') - toIntervalDay(60)`;
      expect((await read(oldest, 1)).rows).toEqual([{ n: 1000 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    }
  });

  it('0012: the hourly counts roll up the minutes (the same sums and Pods); a retried insert counts once', async () => {
    const db = uniqueName('migrate_rollup');
    try {
      await migrate(client, { database: db, ttlDays: 90 });
      // 3,000 pulls over 3 hours, 40 Pods of 4 namespaces, failures and successes, written as the analyzer
      // writes them: one token per block, the second block sent twice (a retry after an unknown outcome).
      const block = (from: number, token: string) =>
        client.command({
          query:
            `INSERT INTO ${db}.pull_events (event_time, cluster, namespace, pod, outcome, occurrences, registry, ` +
            `provider, cause, event_uid, event_count) SELECT toDateTime64('2026-11-24 09:00:00', 3, 'UTC') + ` +
            `toIntervalSecond(number * 7), concat('c', toString(number % 3)), concat('ns', toString(number % 4)), ` +
            `concat('p', toString(number % 40)), ['failure', 'success', 'failure'][number % 3 + 1], 1 + number % 2, ` +
            `['quay.io', 'ghcr.io'][number % 2 + 1], 'quay', if(number % 3 = 1, '', ['not_found', 'rate_limited'][number % 2 + 1]), ` +
            `toString(number), 1 FROM numbers(${from}, 1500)`,
          clickhouse_settings: {
            async_insert: 0,
            insert_deduplicate: 1,
            deduplicate_blocks_in_dependent_materialized_views: 1,
            insert_deduplication_token: token,
          },
        });
      await block(0, 'rollup:0-1499');
      await block(1500, 'rollup:1500-2999');
      await block(1500, 'rollup:1500-2999');
      const rows = async (sql: string) => {
        const rs = await client.query({ query: sql, format: 'JSONEachRow' });
        return rs.json<Record<string, unknown>>();
      };
      const byHour = (table: string, time: string) =>
        rows(
          `SELECT toStartOfHour(${time}) AS hour, registry, cluster, cause, namespace, provider, sum(failures) AS f, ` +
            `sum(successes) AS s, uniqCombinedMerge(pods) AS pods FROM ${db}.${table} ` +
            'GROUP BY hour, registry, cluster, cause, namespace, provider ORDER BY hour, registry, cluster, cause, namespace',
        );
      const hourly = await byHour('pull_stats_1h', 'hour');
      expect(hourly).toEqual(await byHour('pull_stats_1m', 'minute'));
      // Exact against the rows themselves: each pull once, the retried block included once.
      expect(
        await rows(
          `SELECT sum(failures) AS f, sum(successes) AS s, uniqCombinedMerge(pods) AS pods FROM ${db}.pull_stats_1h`,
        ),
      ).toEqual(
        await rows(
          `SELECT sumIf(occurrences, outcome = 'failure') AS f, sumIf(occurrences, outcome = 'success') AS s, ` +
            `uniqCombined(concat(cluster, '/', namespace, '/', pod)) AS pods FROM ${db}.pull_events`,
        ),
      );
      expect(await rows(`SELECT count() AS n, sum(occurrences) AS o FROM ${db}.pull_events`)).toEqual([
        { n: 3000, o: 4500 },
      ]);
      expect(hourly.length).toBeGreaterThan(3);
    } finally {
      await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    }
  });

  // Every upgrade path: a database at version k (0001..k applied) with data in it, migrated to the latest.
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{4}_.*\.sql$/.test(f))
    .sort();
  const columns = async (db: string) => {
    const rs = await client.query({
      query:
        'SELECT table, name, type, default_kind FROM system.columns WHERE database = {db:String} AND table NOT ' +
        "LIKE 'schema_migration%' ORDER BY table, position",
      query_params: { db },
      format: 'JSONEachRow',
    });
    return rs.json();
  };
  for (let k = 1; k < files.length; k++) {
    it(`upgrades a database at version ${k} with data in it to the latest, keeping the data`, async () => {
      const fresh = uniqueName('migrate_fresh');
      const db = uniqueName(`migrate_from_${k}`);
      const dir = mkdtempSync(join(tmpdir(), 'pw-migrations-'));
      try {
        for (const f of files.slice(0, k)) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
        expect((await migrate(client, { database: db, ttlDays: 90 }, dir)).applied).toEqual(
          files.slice(0, k).map((f) => Number(f.slice(0, 4))),
        );
        await client.insert({
          table: `${db}.pull_events`,
          format: 'JSONEachRow',
          clickhouse_settings: { async_insert: 0 },
          values: [
            {
              event_time: '2026-11-24 10:00:00.000',
              cluster: 'eu',
              outcome: 'failure',
              event_kind: 'failed_pull',
              occurrences: 3,
              registry: 'quay.io',
              cause: 'registry_unavailable',
              event_uid: 'u1',
              event_count: 3,
            },
            {
              event_time: '2026-11-24 10:01:00.000',
              cluster: 'eu',
              outcome: 'success',
              occurrences: 1,
              registry: 'quay.io',
              event_uid: 'u2',
              event_count: 1,
            },
          ],
        });
        await client.insert({
          table: `${db}.raw_events`,
          format: 'JSONEachRow',
          clickhouse_settings: { async_insert: 0 },
          values: [
            {
              event_time: '2026-11-24 10:00:00.000',
              cluster: 'eu',
              kind: 'event',
              reason: 'Failed',
              message: 'Failed to pull image "quay.io/a:1": 503',
              event_uid: 'u1',
              event_count: 3,
              resource_version: '42',
              identity: 'eu/u1/3',
              payload: RAW_PAYLOAD,
              kafka_offset: 1,
            },
          ],
        });

        const up = await migrate(client, { database: db, ttlDays: 90 });
        expect(up.applied).toEqual(files.slice(k).map((f) => Number(f.slice(0, 4))));
        // The schema is exactly a fresh database's.
        await migrate(client, { database: fresh, ttlDays: 90 });
        expect(await columns(db)).toEqual(await columns(fresh));
        const one = async (sql: string) => {
          const rs = await client.query({ query: sql, format: 'JSONEachRow' });
          return (await rs.json<Record<string, unknown>>())[0];
        };
        expect(await one(`SELECT count() AS n, sum(occurrences) AS o FROM ${db}.pull_failures`)).toEqual({
          n: 1,
          o: 3,
        });
        expect(await one(`SELECT sum(occurrences) AS o FROM ${db}.pull_successes`)).toEqual({ o: 1 });
        expect(await one(`SELECT sum(failures) AS f, sum(successes) AS s FROM ${db}.pull_stats_1m`)).toEqual({
          f: 3,
          s: 1,
        });
        // A raw row stored before 0007 reads the same: its columns that became ALIAS come from its payload.
        expect(
          await one(
            `SELECT count() AS n, any(reason) AS reason, any(message) AS message, any(event_uid) AS event_uid, ` +
              `any(resource_version) AS rv, any(identity) AS identity FROM ${db}.raw_events`,
          ),
        ).toEqual({
          n: 1,
          reason: 'Failed',
          message: 'Failed to pull image "quay.io/a:1": 503',
          event_uid: 'u1',
          rv: '42',
          identity: 'eu/u1/3',
        });
        expect(await one(`SELECT identity FROM ${db}.pull_events WHERE event_uid = 'u1'`)).toEqual({
          identity: 'eu/u1/3',
        });
        if (k < 5) {
          // Data from before 0005 is not in the hourly table, which says so: complete only from a later hour.
          expect(await one(`SELECT count() AS n FROM ${db}.pull_stats_1h`)).toEqual({ n: 0 });
          expect(await one(`SELECT since > now() AS later FROM ${db}.pull_stats_1h_since`)).toEqual({ later: 1 });
        } else {
          expect(await one(`SELECT sum(failures) AS f, sum(successes) AS s FROM ${db}.pull_stats_1h`)).toEqual({
            f: 3,
            s: 1,
          });
          expect(await one(`SELECT since AS since FROM ${db}.pull_stats_1h_since`)).toEqual({
            since: '1970-01-01 00:00:00',
          });
        }
        // Hourly namespaces and Pods (0011) only from after the upgrade to it: the rows above are read from
        // minutes. A database made at 0011 had no rows then: complete from the beginning.
        expect(await one(`SELECT since > now() AS later FROM ${db}.pull_stats_1h_pods_since`)).toEqual({
          later: k < 11 ? 1 : 0,
        });
        // Rows from before 0006 have no workload and an unknown team; new failures carry theirs into pull_failures.
        expect(
          await one(`SELECT workload_kind, workload_name, workload_inferred, team FROM ${db}.pull_failures`),
        ).toEqual({ workload_kind: '', workload_name: '', workload_inferred: false, team: '' });
        await client.insert({
          table: `${db}.pull_events`,
          format: 'JSONEachRow',
          clickhouse_settings: { async_insert: 0 },
          values: [
            {
              event_time: '2026-11-24 10:02:00.000',
              cluster: 'eu',
              pod: 'checkout-7d4b9c8f5d-x7k2p',
              outcome: 'failure',
              occurrences: 2,
              event_uid: 'u3',
              workload_kind: 'Deployment',
              workload_name: 'checkout',
              workload_inferred: true,
              team: 'payments',
            },
          ],
        });
        expect(
          await one(
            `SELECT pod, occurrences, workload_kind, workload_name, workload_inferred, team ` +
              `FROM ${db}.pull_failures WHERE event_uid = 'u3'`,
          ),
        ).toEqual({
          pod: 'checkout-7d4b9c8f5d-x7k2p',
          occurrences: 2,
          workload_kind: 'Deployment',
          workload_name: 'checkout',
          workload_inferred: true,
          team: 'payments',
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
        await client.command({ query: `DROP DATABASE IF EXISTS ${fresh}` });
      }
    });
  }
});
