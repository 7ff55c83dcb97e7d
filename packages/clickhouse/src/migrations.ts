import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../migrations');

export interface MigrationOptions {
  database: string;
  /** Retention of event data, in days. */
  ttlDays: number;
  /** A ClickHouse cluster name: tables become Replicated* and DDL runs ON CLUSTER. */
  cluster?: string | undefined;
  /**
   * With a cluster: false for shards without Keeper (no replication, no DDL queue): plain engines, no
   * `ON CLUSTER`, the `_all` Distributed tables still created; run it on every shard (`migrateShards`).
   * Default true.
   */
  replicated?: boolean | undefined;
}

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Reads `NNNN_name.sql` files in order and fills in the placeholders described at the top of 0001. */
export function loadMigrations(opts: MigrationOptions, dir = MIGRATIONS_DIR): Migration[] {
  if (!IDENT.test(opts.database)) throw new Error(`invalid database name '${opts.database}'`);
  if (opts.cluster !== undefined && !IDENT.test(opts.cluster))
    throw new Error(`invalid cluster name '${opts.cluster}'`);
  if (!Number.isInteger(opts.ttlDays) || opts.ttlDays < 1)
    throw new Error(`ttlDays must be a whole number of days ≥ 1, got ${opts.ttlDays}`);
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      statements: splitStatements(render(readFileSync(join(dir, file), 'utf8'), opts)).flatMap((s) =>
        clusterOnly(s, opts),
      ),
    }));
}

function render(sql: string, o: MigrationOptions): string {
  const ddlQueue = o.cluster !== undefined && o.replicated !== false;
  const replicated = (engine: string, args = '') =>
    ddlQueue
      ? `Replicated${engine}('/clickhouse/tables/{shard}/{database}/{table}', '{replica}'${args ? `, ${args}` : ''})`
      : `${engine}${args ? `(${args})` : ''}`;
  return sql
    .replace(/^\s*--.*$/gm, '')
    .replaceAll('{db}', o.database)
    .replaceAll('{on_cluster}', ddlQueue ? `ON CLUSTER ${o.cluster}` : '')
    .replaceAll('{ttl_days}', String(o.ttlDays))
    .replaceAll('{MergeTree}', replicated('MergeTree'))
    .replaceAll('{AggregatingMergeTree}', replicated('AggregatingMergeTree'))
    .replace(/\{ReplacingMergeTree\((\w*)\)\}/g, (_m, v: string) => replicated('ReplacingMergeTree', v))
    .replaceAll('{cluster}', o.cluster ?? '');
}

const CLUSTER_ONLY = '{cluster_only}';

/** Statements marked `{cluster_only}` (the Distributed tables) exist only on a cluster. */
function clusterOnly(statement: string, o: MigrationOptions): string[] {
  if (!statement.startsWith(CLUSTER_ONLY)) return [statement];
  return o.cluster ? [statement.slice(CLUSTER_ONLY.length).trim()] : [];
}

function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface MigrateResult {
  applied: number[];
  alreadyApplied: number[];
}

/**
 * Applies the migrations not yet recorded in `{db}.schema_migrations`, in order. Safe to run from
 * several processes at once: every statement is idempotent (IF NOT EXISTS).
 */
export async function migrate(
  client: ClickHouseClient,
  opts: MigrationOptions,
  dir = MIGRATIONS_DIR,
): Promise<MigrateResult> {
  const migrations = loadMigrations(opts, dir);
  const ddlQueue = opts.cluster !== undefined && opts.replicated !== false;
  const onCluster = ddlQueue ? `ON CLUSTER ${opts.cluster}` : '';
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${opts.database} ${onCluster}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${opts.database}.schema_migrations ${onCluster} (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ${ddlQueue ? "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" : 'ReplacingMergeTree'} ORDER BY version`,
  });
  const rs = await client.query({
    query: `SELECT DISTINCT version FROM ${opts.database}.schema_migrations`,
    format: 'JSONEachRow',
  });
  const done = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    if (done.has(m.version)) {
      result.alreadyApplied.push(m.version);
      continue;
    }
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({
      table: `${opts.database}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    });
    result.applied.push(m.version);
  }
  return result;
}

/**
 * A sharded cluster without a DDL queue (`replicated: false`): the same migrations on every shard in
 * turn (each keeps its own schema_migrations), as a cluster without Keeper needs. Stops at the first
 * shard that fails, naming it; a rerun picks up where it stopped (every statement is idempotent).
 */
export async function migrateShards(
  shards: { url: string; client: ClickHouseClient }[],
  opts: MigrationOptions,
  dir = MIGRATIONS_DIR,
): Promise<(MigrateResult & { url: string })[]> {
  const results: (MigrateResult & { url: string })[] = [];
  for (const { url, client } of shards) {
    try {
      results.push({ url, ...(await migrate(client, opts, dir)) });
    } catch (err) {
      throw new Error(`migrations on shard ${url}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }
  return results;
}
