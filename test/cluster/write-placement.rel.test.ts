import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseClient, createClickHouse, migrateShards } from '@pullwatch/clickhouse';
import { CLUSTER_NAME } from '@pullwatch/engines';
import { uniqueName } from '../support/endpoints.ts';
import { crash, testCluster, until } from './harness.ts';

// Why the analyzer writes event rows to the local tables of one shard and its Pod states through
// _all with insert_distributed_sync=1 (docs/scaling.md): two facts of the engine, shown on the real one.
const cluster = testCluster();
const [url1, url2] = cluster.endpoints().clickhouse.shards!;
const database = uniqueName('placement');
let one: ClickHouseClient;
let two: ClickHouseClient;

const count = async (client: ClickHouseClient, table: string) => {
  const rs = await client.query({ query: `SELECT count() AS n FROM ${database}.${table}`, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]!.n);
};
const insert = (client: ClickHouseClient, table: string, sql: string, settings: Record<string, string | number>) =>
  client.command({ query: `INSERT INTO ${database}.${table} ${sql}`, clickhouse_settings: settings });

beforeAll(async () => {
  one = createClickHouse({ url: url1!, user: 'default', password: '' });
  two = createClickHouse({ url: url2!, user: 'default', password: '' });
  await migrateShards(
    [
      { url: url1!, client: one },
      { url: url2!, client: two },
    ],
    { database, ttlDays: 30, cluster: CLUSTER_NAME, replicated: false },
  );
});

afterAll(async () => {
  for (const c of [one, two]) await c.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  await Promise.all([one.close(), two.close()]);
});

/** 100 Pod states of Pods named `<prefix>-<n>` (distinct Pods, so ReplacingMergeTree keeps them all). */
const rows = (
  prefix: string,
) => `(pod, cluster, namespace, container, image, status, first_failure, last_failure, updated_at)
  SELECT concat('${prefix}-', toString(number)), 'eu', 'shop', 'web', 'nginx', 'failing', now64(3), now64(3),
    now64(3) FROM numbers(100)`;

describe('where the analyzer writes on a sharded cluster', () => {
  it('a retried block is dropped only by the shard that stored it: retries must go to the same shard', async () => {
    // (message is an ALIAS of the stored payload since 0007: the row carries the payload.)
    const raw = `(event_time, received_at, cluster, namespace, object_name, payload, kafka_partition, kafka_offset)
      SELECT now64(3), now64(3), 'eu', 'shop', concat('web-', toString(number)), '{}', 0, number FROM numbers(50)`;
    const settings = { insert_deduplicate: 1, insert_deduplication_token: 'batch-7:raw', async_insert: 0 };
    await insert(one, 'raw_events', raw, settings);
    await insert(one, 'raw_events', raw, settings); // the retry, same shard: dropped
    expect(await count(one, 'raw_events_all')).toBe(50);
    await insert(two, 'raw_events', raw, settings); // the same retry through another shard: stored again
    expect(await count(one, 'raw_events_all')).toBe(100);
  });

  it('a Distributed insert is acknowledged with a shard down unless it is a foreground insert', async () => {
    const shard2 = cluster.shards[1]!;
    await crash(shard2);
    try {
      // Default (background) insert: acknowledged, yet half the rows are only queued on shard 1's disk.
      await insert(one, 'pod_pull_state_all', rows('a'), { async_insert: 0 });
      expect(await count(one, 'pod_pull_state')).toBeLessThan(100);
      // The analyzer's setting: refused while a shard is down, so its offsets are not committed.
      await expect(
        insert(one, 'pod_pull_state_all', rows('b'), { async_insert: 0, insert_distributed_sync: 1 }),
      ).rejects.toThrow(/ALL_CONNECTION_TRIES_FAILED|NETWORK_ERROR|Connection refused|Connection reset by peer/);
    } finally {
      await shard2.up(() => undefined);
    }
    // Queued rows reach the shard once it is back (the send pool the cluster config enables).
    await until(
      'the queued rows to reach shard 2',
      () => count(one, 'pod_pull_state_all'),
      (n) => n === 100,
      60_000,
    );
    await insert(one, 'pod_pull_state_all', rows('c'), { async_insert: 0, insert_distributed_sync: 1 });
    expect(await count(one, 'pod_pull_state_all')).toBe(200);
  });
});
