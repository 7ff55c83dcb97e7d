import { z } from 'zod';
import { MigrateEnvShape } from '@pullwatch/clickhouse';
import { TopicsEnvShape, topicsConfig, type TopicsConfig } from '@pullwatch/kafka';

const int = (min: number) => z.coerce.number().int().min(min);

const EnvSchema = z.object({
  // The topics and their partitions, shared with the collector (whichever starts first creates them).
  ...TopicsEnvShape,
  PULLWATCH_ANALYZER_GROUP: z.string().min(1).default('pullwatch-analyzer'),
  // Database, cluster, shards and retention: the migrations' own settings.
  ...MigrateEnvShape,
  PULLWATCH_STUCK_AFTER_SECONDS: int(1).default(600),
  // Event counts, container images and Pod causes not used for this long are forgotten (within twice it).
  PULLWATCH_ANALYZER_STATE_TTL_HOURS: int(1).default(48),
  PULLWATCH_INCIDENT_FLEET_MIN_CLUSTERS: int(2).default(2),
  PULLWATCH_INCIDENT_FLEET_WINDOW_SECONDS: int(1).default(600),
  PULLWATCH_INCIDENT_QUIET_SECONDS: int(1).default(900),
  PULLWATCH_INCIDENT_INTERVAL_SECONDS: int(1).default(15),
  PULLWATCH_INCIDENT_LOOKBACK_HOURS: int(1).default(24),
  // A crashed instance holds its partitions until its session expires; shorter means faster takeover.
  PULLWATCH_ANALYZER_SESSION_TIMEOUT_MS: int(6000).default(30_000),
  // One ClickHouse insert holds at most this many rows, from the partitions consumed at the same
  // time (bigger inserts cost ClickHouse far less per row); a partition's slice is one offset commit…
  PULLWATCH_ANALYZER_BATCH_MAX_ROWS: int(1).default(50_000),
  // …fetched at most this many bytes per partition at a time…
  PULLWATCH_ANALYZER_BATCH_MAX_BYTES: int(1024).default(4 * 1024 * 1024),
  // …a fetch waiting for at least this many bytes…
  PULLWATCH_ANALYZER_BATCH_MIN_BYTES: int(1).default(1024 * 1024),
  // …or at most this long (the bound in time, also for a slice waiting to join an insert).
  PULLWATCH_ANALYZER_BATCH_MAX_WAIT_MS: int(10).default(1000),
  // Partitions whose batches are processed, and written together, at the same time.
  PULLWATCH_ANALYZER_PARTITIONS_CONCURRENTLY: int(1).default(12),
  // /metrics, /healthz and /readyz; without a port the analyzer serves no HTTP.
  PULLWATCH_ANALYZER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PULLWATCH_ANALYZER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
});

export interface AnalyzerConfig {
  topics: TopicsConfig;
  groupId: string;
  database: string;
  clickhouseCluster: string | undefined;
  /** false: a sharded cluster without replication or DDL queue (see PULLWATCH_CLICKHOUSE_REPLICATED). */
  clickhouseReplicated: boolean;
  /** Every shard's URL, to apply the migrations to each (empty: only the connected server). */
  clickhouseShards: string[];
  ttlDays: number;
  stuckAfterMs: number;
  /** In-memory state not used for this long is forgotten (open Pod states excepted). */
  stateTtlMs: number;
  sessionTimeoutMs: number;
  batch: { maxRows: number; maxBytes: number; minBytes: number; maxWaitMs: number; partitionsConcurrently: number };
  /** Where `/metrics`, `/healthz` and `/readyz` are served; null: nowhere. */
  http: { host: string; port: number } | null;
  incidents: {
    fleetMinClusters: number;
    fleetWindowMs: number;
    quietMs: number;
    intervalMs: number;
    lookbackHours: number;
  };
}

export function loadAnalyzerConfig(env: NodeJS.ProcessEnv = process.env): AnalyzerConfig {
  const r = EnvSchema.safeParse(env);
  if (!r.success)
    throw new Error(
      `invalid analyzer settings: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const e = r.data;
  return {
    topics: topicsConfig(e),
    groupId: e.PULLWATCH_ANALYZER_GROUP,
    database: e.PULLWATCH_CLICKHOUSE_DATABASE,
    clickhouseCluster: e.PULLWATCH_CLICKHOUSE_CLUSTER,
    clickhouseReplicated: e.PULLWATCH_CLICKHOUSE_REPLICATED === 'true',
    clickhouseShards: e.PULLWATCH_CLICKHOUSE_SHARDS,
    ttlDays: e.PULLWATCH_TTL_DAYS,
    stuckAfterMs: e.PULLWATCH_STUCK_AFTER_SECONDS * 1000,
    stateTtlMs: e.PULLWATCH_ANALYZER_STATE_TTL_HOURS * 3_600_000,
    sessionTimeoutMs: e.PULLWATCH_ANALYZER_SESSION_TIMEOUT_MS,
    batch: {
      maxRows: e.PULLWATCH_ANALYZER_BATCH_MAX_ROWS,
      maxBytes: e.PULLWATCH_ANALYZER_BATCH_MAX_BYTES,
      minBytes: e.PULLWATCH_ANALYZER_BATCH_MIN_BYTES,
      maxWaitMs: e.PULLWATCH_ANALYZER_BATCH_MAX_WAIT_MS,
      partitionsConcurrently: e.PULLWATCH_ANALYZER_PARTITIONS_CONCURRENTLY,
    },
    http:
      e.PULLWATCH_ANALYZER_METRICS_PORT === undefined
        ? null
        : { host: e.PULLWATCH_ANALYZER_METRICS_HOST, port: e.PULLWATCH_ANALYZER_METRICS_PORT },
    incidents: {
      fleetMinClusters: e.PULLWATCH_INCIDENT_FLEET_MIN_CLUSTERS,
      fleetWindowMs: e.PULLWATCH_INCIDENT_FLEET_WINDOW_SECONDS * 1000,
      quietMs: e.PULLWATCH_INCIDENT_QUIET_SECONDS * 1000,
      intervalMs: e.PULLWATCH_INCIDENT_INTERVAL_SECONDS * 1000,
      lookbackHours: e.PULLWATCH_INCIDENT_LOOKBACK_HOURS,
    },
  };
}
