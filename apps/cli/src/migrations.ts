import {
  createClickHouse,
  type MigrateConfig,
  migrate,
  migrateShards,
  type MigrateResult,
} from '@pullwatch/clickhouse';
import type { EngineEndpoints } from '@pullwatch/engines';

/**
 * The migrations where the settings say: on the connected server (one server, or a cluster with a DDL
 * queue, `ON CLUSTER`), or on every shard of PULLWATCH_CLICKHOUSE_SHARDS in turn (a sharded cluster
 * without Keeper, PULLWATCH_CLICKHOUSE_REPLICATED=false).
 */
export async function applyMigrations(
  clickhouse: EngineEndpoints['clickhouse'],
  cfg: MigrateConfig,
): Promise<(MigrateResult & { url: string })[]> {
  const opts = { database: cfg.database, ttlDays: cfg.ttlDays, cluster: cfg.cluster, replicated: cfg.replicated };
  const urls = cfg.shards.length ? cfg.shards : [clickhouse.url];
  const shards = urls.map((url) => ({ url, client: createClickHouse({ ...clickhouse, url }) }));
  try {
    if (shards.length === 1) return [{ url: urls[0]!, ...(await migrate(shards[0]!.client, opts)) }];
    return await migrateShards(shards, opts);
  } finally {
    await Promise.all(shards.map((s) => s.client.close()));
  }
}

/** One line per server: what was applied. */
export function describeMigrations(results: (MigrateResult & { url: string })[], database: string): string {
  return results
    .map((r) => {
      const applied = r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date';
      const already = r.alreadyApplied.length ? ` (already applied: ${r.alreadyApplied.join(', ')})` : '';
      return `${database} at ${r.url}: ${applied}${already}`;
    })
    .join('\n');
}
