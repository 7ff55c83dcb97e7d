import type { ClickHouseClient } from '@clickhouse/client';

export interface SeedHistoryOptions {
  database: string;
  /** Failure rows over the last 30 days; a tenth as many successful pulls are added. */
  failures: number;
  clusters: number;
  /** Called after each chunk of rows, with the failure rows written so far. */
  progress?: (written: number, total: number) => void;
}

const CHUNK = 2_000_000;

/**
 * One landing-table chunk generated inside ClickHouse: through `pull_events`, so the materialized views
 * fill the aggregates exactly as the analyzer's inserts do. The column order is migration 0007's.
 */
function pullEventsSql(database: string, clusters: number, from: number, count: number, failure: boolean): string {
  const cause = failure
    ? "['rate_limited', 'not_found', 'registry_unavailable', 'unauthorized', 'tls_error'][number % 5 + 1]"
    : "''";
  return `INSERT INTO ${database}.pull_events
    SELECT now64(3) - toIntervalSecond(number * 7919 % (30 * 86400)) AS event_time, event_time AS first_time,
      event_time AS received_at,
      concat('c', toString(number % ${clusters})) AS cluster, concat('ns-', toString(number % 20)) AS namespace,
      concat('app-', toString(number % 50), '-7d9f8b6c5-', ['x2k9p', 'b4m7q', 'zq4wm', 'lk8vq'][number % 4 + 1])
        AS pod, 'app' AS container,
      concat('node-', toString(number % 2000)) AS node, '${failure ? 'failure' : 'success'}' AS outcome,
      '${failure ? 'failed_pull' : 'pulled'}' AS event_kind, 1 + number % 3 AS occurrences,
      concat(registry, '/team/app-', toString(number % 500), ':1') AS image,
      ['docker.io', 'ghcr.io', 'quay.io', 'registry.k8s.io', 'gcr.io', 'mcr.microsoft.com',
       'registry.corp:5000', '1234.dkr.ecr.eu-west-1.amazonaws.com'][number % 8 + 1] AS registry,
      'self_hosted' AS provider, 'team/app' AS repository, '1' AS tag, '' AS digest,
      if(number % 10 = 0, 'latest', 'pinned') AS tag_kind,
      ${cause} AS cause, '' AS subcause, 0, 1, '' AS hint, '' AS message, 0, 0,
      if(number % 4 = 0, 'Always', 'IfNotPresent') AS image_pull_policy,
      toInt8(number % 3) - 1 AS has_pull_secrets, toString(number) AS event_uid, 1, 0, number, '' AS kafka_topic_id,
      'Deployment' AS workload_kind, concat('app-', toString(number % 50)) AS workload_name,
      false AS workload_inferred, concat('team-', toString(number % 12)) AS team, 0 AS time_clamped
    FROM numbers(${from}, ${count})`;
}

/**
 * A month of fleet history for load tests and benches, generated inside ClickHouse (10 million rows
 * take seconds, not a client's memory): failures and successes over 30 days, 20,000 Pod state rows, 2,000
 * resolved incidents; the minute aggregates merged, as a month-old table would be.
 */
export async function seedHistory(ch: ClickHouseClient, o: SeedHistoryOptions): Promise<void> {
  const { database, failures, clusters } = o;
  const settings = { async_insert: 0, max_insert_threads: '2' } as const;
  for (let i = 0; i < failures; i += CHUNK) {
    const n = Math.min(CHUNK, failures - i);
    await ch.command({ query: pullEventsSql(database, clusters, i, n, true), clickhouse_settings: settings });
    o.progress?.(i + n, failures);
  }
  const successes = Math.ceil(failures / 10);
  for (let i = 0; i < successes; i += CHUNK)
    await ch.command({
      query: pullEventsSql(database, clusters, failures + i, Math.min(CHUNK, successes - i), false),
      clickhouse_settings: settings,
    });
  await ch.command({
    query:
      `INSERT INTO ${database}.pod_pull_state SELECT concat('c', toString(number % ${clusters})), ` +
      `concat('ns-', toString(number % 20)), concat('app-', toString(number % 50), '-7d9f8b6c5-x2k9p'), 'app', ` +
      `'img', '', 'ghcr.io', 'ghcr', if(number % 3 = 0, 'recovered', 'stuck'), 'not_found', '', 'check the ` +
      `tag', '', now64(3) - toIntervalMinute(30 + number % 600), now64(3), 5, 4, 80, if(number % 3 = 0, ` +
      `now64(3), NULL), if(number % 3 = 0, (30 + number % 600) * 60000, NULL), '', -1, 'pinned', now64(3), ` +
      `'Deployment', 'app', false, concat('team-', toString(number % 12)) FROM numbers(20000)`,
  });
  await ch.command({
    query:
      `INSERT INTO ${database}.incidents SELECT toString(number), 'quay.io', 'registry_unavailable', ` +
      `'fleet', ['c1', 'c2'], ['quay.io/a:1'], 100, now64(3) - toIntervalHour(number % 700), now64(3) - ` +
      `toIntervalHour(number % 700), NULL, 'resolved', now64(3) FROM numbers(2000)`,
  });
  await ch.command({ query: `OPTIMIZE TABLE ${database}.pull_stats_1m FINAL` });
}
