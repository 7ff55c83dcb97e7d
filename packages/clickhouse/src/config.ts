import { z } from 'zod';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const MigrateEnv = z.object({
  PULLWATCH_CLICKHOUSE_DATABASE: z.string().regex(IDENTIFIER, 'a ClickHouse identifier').default('pullwatch'),
  PULLWATCH_CLICKHOUSE_CLUSTER: z.string().regex(IDENTIFIER, 'a ClickHouse identifier').optional(),
  PULLWATCH_TTL_DAYS: z.coerce.number().int().min(1).default(90),
});

/** What `migrate` needs: the database, the cluster (if any) and the retention. */
export interface MigrateConfig {
  database: string;
  cluster: string | undefined;
  ttlDays: number;
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
  };
}
