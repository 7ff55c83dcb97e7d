import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client';

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
 * several processes at once: each migration is claimed first (`CREATE TABLE {db}.schema_migration_claim_N`,
 * which exactly one of them can do), so it is applied and recorded once; the others wait until it is
 * recorded and count it as already applied. A run that fails drops its claim; one that dies leaves it, and
 * the others give up after `claimWaitMs` naming the claim to drop. Concurrent runs must reach the same
 * server (on a cluster: run migrate against one node).
 */
export async function migrate(
  client: ClickHouseClient,
  opts: MigrationOptions & { claimWaitMs?: number },
  dir = MIGRATIONS_DIR,
): Promise<MigrateResult> {
  const migrations = loadMigrations(opts, dir);
  const db = opts.database;
  const ddlQueue = opts.cluster !== undefined && opts.replicated !== false;
  const onCluster = ddlQueue ? `ON CLUSTER ${opts.cluster}` : '';
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${opts.database} ${onCluster}` });
  await client.command({
    query:
      `CREATE TABLE IF NOT EXISTS ${opts.database}.schema_migrations ${onCluster} (version UInt32, name ` +
      `String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ` +
      `ENGINE = ${
        ddlQueue
          ? "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
          : 'ReplacingMergeTree'
      } ORDER BY version`,
  });
  const recorded = async () => {
    const rs = await client.query({
      query: `SELECT DISTINCT version FROM ${db}.schema_migrations`,
      format: 'JSONEachRow',
    });
    return new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
  };
  let done = await recorded();
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    if (!done.has(m.version)) {
      const claim = `${db}.schema_migration_claim_${m.version}`;
      if (await claimed(client, claim)) {
        try {
          done = await recorded(); // another run may have applied it between our read and our claim
          if (!done.has(m.version)) {
            for (const statement of m.statements) await client.command({ query: statement });
            await client.insert({
              table: `${db}.schema_migrations`,
              values: [{ version: m.version, name: m.name }],
              format: 'JSONEachRow',
            });
            result.applied.push(m.version);
            continue;
          }
        } finally {
          await client.command({ query: `DROP TABLE IF EXISTS ${claim} SYNC` });
        }
      } else {
        // Another run holds the claim: wait for its record (or, if it failed and dropped the claim, retry).
        const deadline = Date.now() + (opts.claimWaitMs ?? 600_000);
        for (;;) {
          done = await recorded();
          if (done.has(m.version)) break;
          if (!(await exists(client, claim))) return mergeResults(result, await migrate(client, opts, dir));
          if (Date.now() > deadline)
            throw new Error(
              `migration ${m.version} (${m.name}) is claimed by another run that has not finished; if none is ` +
                `running, DROP TABLE ${claim}`,
            );
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    result.alreadyApplied.push(m.version);
  }
  return result;
}

function mergeResults(a: MigrateResult, b: MigrateResult): MigrateResult {
  return {
    applied: [...a.applied, ...b.applied],
    alreadyApplied: b.alreadyApplied.filter((v) => !a.applied.includes(v)),
  };
}

/** Creates the claim table; false when it exists already (another run holds the claim). */
async function claimed(client: ClickHouseClient, table: string): Promise<boolean> {
  try {
    await client.command({ query: `CREATE TABLE ${table} (x UInt8) ENGINE = Memory` });
    return true;
  } catch (err) {
    if (err instanceof ClickHouseError && err.type === 'TABLE_ALREADY_EXISTS') return false;
    throw err;
  }
}

async function exists(client: ClickHouseClient, table: string): Promise<boolean> {
  const [database, name] = table.split('.') as [string, string];
  const rs = await client.query({
    query: 'SELECT count() AS n FROM system.tables WHERE database = {d:String} AND name = {t:String}',
    query_params: { d: database, t: name },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: number | string }>();
  return Number(row?.n) > 0;
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
