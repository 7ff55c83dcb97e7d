import { z } from 'zod';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The migrations' variables, as a zod shape: the analyzer reads the same ones, validated the same way. */
/** Which database (and cluster) pullwatch's tables are in: read by every service that reads or writes them. */
export const DatabaseEnvShape = {
  PULLWATCH_CLICKHOUSE_DATABASE: z.string().regex(IDENTIFIER, 'a ClickHouse identifier').default('pullwatch'),
  // Set when ClickHouse is a cluster: readers use the `_all` Distributed tables (migration 0004).
  PULLWATCH_CLICKHOUSE_CLUSTER: z.string().regex(IDENTIFIER, 'a ClickHouse identifier').optional(),
};

export const MigrateEnvShape = {
  ...DatabaseEnvShape,
  PULLWATCH_TTL_DAYS: z.coerce.number().int().min(1).default(90),
  // A sharded cluster without Keeper (no replication, no ON CLUSTER DDL): plain engines, migrations
  // applied to every shard of PULLWATCH_CLICKHOUSE_SHARDS in turn (docs/scaling.md).
  PULLWATCH_CLICKHOUSE_REPLICATED: z.enum(['true', 'false']).default('true'),
  PULLWATCH_CLICKHOUSE_SHARDS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url())),
};

const MigrateEnv = z.object(MigrateEnvShape);

/** What `migrate` needs: the database, the cluster (if any) and the retention. */
export interface MigrateConfig {
  database: string;
  cluster: string | undefined;
  ttlDays: number;
  /** false: a sharded cluster without replication or DDL queue. */
  replicated: boolean;
  /** Every shard's URL, when migrations run on each in turn. */
  shards: string[];
}

/** The migrations' settings from the environment (the same variables the analyzer and query API read). */
export function loadMigrateConfig(env: NodeJS.ProcessEnv = process.env): MigrateConfig {
  const r = MigrateEnv.safeParse(env);
  if (!r.success)
    throw new Error(
      `invalid migration settings: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return {
    database: r.data.PULLWATCH_CLICKHOUSE_DATABASE,
    cluster: r.data.PULLWATCH_CLICKHOUSE_CLUSTER,
    ttlDays: r.data.PULLWATCH_TTL_DAYS,
    replicated: r.data.PULLWATCH_CLICKHOUSE_REPLICATED === 'true',
    shards: r.data.PULLWATCH_CLICKHOUSE_SHARDS,
  };
}
