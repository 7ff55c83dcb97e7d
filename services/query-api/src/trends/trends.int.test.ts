import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse, FleetTables, migrate, MIGRATIONS_DIR } from '@pullwatch/clickhouse';
import { testEndpoints, uniqueName } from '../../../../test/support/endpoints.ts';
import { TrendQueries } from './queries.ts';

const admin = createClickHouse({ ...testEndpoints().clickhouse });
const databases: string[] = [];
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0); // a fixed day, well in the past

/** Failures and successes spread over three days, at odd minutes, across two registries and causes. */
function rows(seed: number) {
  return Array.from({ length: 400 }, (_, i) => {
    const t = new Date(T0 + ((i * 7919 + seed * 131) % (72 * 60)) * 60_000 + 17_000)
      .toISOString()
      .replace('T', ' ')
      .replace('Z', '');
    const failure = i % 3 !== 0;
    return {
      event_time: t,
      first_time: t,
      received_at: t,
      cluster: `c${i % 3}`,
      namespace: 'ns',
      pod: `p${i}`,
      container: 'c',
      node: 'n',
      outcome: failure ? 'failure' : 'success',
      event_kind: failure ? 'failed_pull' : 'pulled',
      occurrences: 1 + (i % 4),
      image: 'i',
      registry: i % 2 ? 'docker.io' : 'ghcr.io',
      provider: 'p',
      repository: 'r',
      tag: 't',
      digest: '',
      tag_kind: 'pinned',
      cause: failure ? (i % 5 ? 'rate_limited' : 'not_found') : '',
      subcause: '',
      attributed: 0,
      retryable: 1,
      hint: '',
      message: 'm',
      pull_duration_ms: 0,
      image_size_bytes: 0,
      image_pull_policy: '',
      has_pull_secrets: -1,
      event_uid: `u${seed}-${i}`,
      event_count: 1,
      kafka_partition: 0,
      kafka_offset: i,
    };
  });
}

async function insert(database: string, seed: number) {
  await admin.insert({
    table: `${database}.pull_events`,
    values: rows(seed),
    format: 'JSONEachRow',
    clickhouse_settings: { async_insert: 0 },
  });
}

/** The expected series, straight from the rows. */
async function truth(database: string, seconds: number, from: number, to: number, registry?: string) {
  const rs = await admin.query({
    query: `SELECT toUnixTimestamp(toStartOfInterval(event_time, INTERVAL {s:UInt32} SECOND)) * 1000 AS ts,
              sumIf(occurrences, outcome = 'failure') AS failures, sumIf(occurrences, outcome = 'success') AS successes
            FROM ${database}.pull_events WHERE event_time >= fromUnixTimestamp64Milli({from:Int64})
              AND event_time < fromUnixTimestamp64Milli({to:Int64}) ${registry ? 'AND registry = {r:String}' : ''}
            GROUP BY ts ORDER BY ts`,
    query_params: { s: seconds, from, to, r: registry },
    format: 'JSONEachRow',
  });
  return new Map(
    (await rs.json<{ ts: number; failures: number; successes: number }>()).map((r) => [
      new Date(Number(r.ts)).toISOString(),
      { failures: Number(r.failures), successes: Number(r.successes) },
    ]),
  );
}

async function check(
  database: string,
  q: { interval: '1h' | '1d' | '5m'; seconds: number; from: number; to: number; registry?: string },
) {
  const series = await new TrendQueries(admin, new FleetTables(database)).trends({
    from: new Date(q.from),
    to: new Date(q.to),
    interval: q.interval,
    registry: q.registry,
  });
  const expected = await truth(
    database,
    q.seconds,
    Math.floor(q.from / (q.seconds * 1000)) * q.seconds * 1000,
    q.to,
    q.registry,
  );
  const nonEmpty = series
    .filter((s) => s.failures || s.successes)
    .map((s) => [s.ts, { failures: s.failures, successes: s.successes }]);
  expect(new Map(nonEmpty as [string, { failures: number; successes: number }][])).toEqual(expected);
  expect(expected.size).toBeGreaterThan(0);
}

afterAll(async () => {
  for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await admin.close();
});

describe('trends over hours and days', () => {
  it(
    'on a new database reads whole hours from pull_stats_1h and the minutes around them, matching the rows ' +
      'exactly',
    async () => {
      const database = uniqueName('trends_new');
      databases.push(database);
      await migrate(admin, { database, ttlDays: 3650 });
      await insert(database, 1);
      const rs = await admin.query({
        query: `SELECT toUnixTimestamp(since) AS s FROM ${database}.pull_stats_1h_since`,
        format: 'JSONEachRow',
      });
      expect(Number((await rs.json<{ s: number }>())[0]!.s)).toBe(0); // complete from the beginning
      // Windows that start and end mid-hour, so both tables are read.
      await check(database, {
        interval: '1h',
        seconds: 3600,
        from: T0 + 90 * 60_000,
        to: T0 + 50 * HOUR + 25 * 60_000,
      });
      await check(database, { interval: '1d', seconds: 86400, from: T0, to: T0 + 71 * HOUR + 59 * 60_000 });
      await check(database, { interval: '1h', seconds: 3600, from: T0, to: T0 + 72 * HOUR, registry: 'ghcr.io' });
      // Minute intervals never touch the hourly table.
      await check(database, { interval: '5m', seconds: 300, from: T0 + 10 * HOUR, to: T0 + 20 * HOUR });
    },
  );

  it('on a database upgraded to it keeps reading the earlier data from pull_stats_1m', async () => {
    const database = uniqueName('trends_upgraded');
    databases.push(database);
    // Migrated up to 0004 with data in it, as an older pullwatch left it…
    const older = mkdtempSync(join(tmpdir(), 'pw-migrations-'));
    for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f < '0005'))
      cpSync(join(MIGRATIONS_DIR, f), join(older, f));
    await migrate(admin, { database, ttlDays: 3650 }, older);
    rmSync(older, { recursive: true, force: true });
    await insert(database, 2);
    // …then upgraded: the hourly table is empty for those hours, and marked complete only from later on.
    // (0005 and every later migration, such as 0006's workload columns, 0007's codecs and ALIAS columns, 0008
    // and 0009's flags, 0010's projection, 0011's hourly Pods, 0012's roll-up from the minutes, 0013's topic ID.)
    const later = readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d{4}_.*\.sql$/.test(f) && f >= '0005')
      .sort()
      .map((f) => Number(f.slice(0, 4)));
    expect(later).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect((await migrate(admin, { database, ttlDays: 3650 })).applied).toEqual(later);
    const rs = await admin.query({
      query:
        `SELECT toUnixTimestamp(since) * 1000 AS s, (SELECT count() FROM ${database}.pull_stats_1h) AS ` +
        `hourly FROM ${database}.pull_stats_1h_since`,
      format: 'JSONEachRow',
    });
    const { s, hourly } = (await rs.json<{ s: number; hourly: number }>())[0]!;
    expect(Number(s)).toBeGreaterThan(Date.now());
    expect(Number(hourly)).toBe(0);
    await insert(database, 3); // after the upgrade: in both tables
    await check(database, { interval: '1h', seconds: 3600, from: T0, to: T0 + 72 * HOUR });
    await check(database, { interval: '1d', seconds: 86400, from: T0, to: T0 + 72 * HOUR, registry: 'docker.io' });
  });
});
