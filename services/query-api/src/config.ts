import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { defaultRulesPath, loadRules, type Rule } from './alerts/rules.ts';
import { parseWebhooks, type Webhook } from './alerts/notify.ts';
import type { EgressSettings } from './core/quota.ts';
import { loadEgressSettings } from './diagnosis/egress-config.ts';
import { type LimitsConfig, loadLimits } from './limits/config.ts';
import { loadTeams, type Teams } from './reports/teams.ts';

const EnvSchema = z.object({
  PULLWATCH_API_HOST: z.string().min(1).default('127.0.0.1'),
  PULLWATCH_API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PULLWATCH_API_TOKENS: z.string().optional(),
  PULLWATCH_API_TOKENS_FILE: z.string().optional(),
  PULLWATCH_CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a ClickHouse identifier')
    .default('pullwatch'),
  // Set when ClickHouse is a cluster: the API then reads the `_all` Distributed tables (migration 0004).
  PULLWATCH_CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a ClickHouse identifier')
    .optional(),
  PULLWATCH_API_MAX_RANGE_DAYS: z.coerce.number().int().min(1).default(90),
  PULLWATCH_ALERT_RULES: z.string().min(1).optional(),
  PULLWATCH_ALERT_WEBHOOKS: z.string().optional(),
  PULLWATCH_ALERT_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(30),
  // Who shares which egress address for Docker Hub's per-IP pull quota (diagnosis/egress-config.ts).
  PULLWATCH_DOCKERHUB_EGRESS_FILE: z.string().min(1).optional(),
  // namespace → team (optionally per cluster) for /v1/reports/failures (reports/teams.ts).
  PULLWATCH_TEAMS_FILE: z.string().min(1).optional(),
  // A ClickHouse user allowed only to read, for the API's queries (PULLWATCH_CLICKHOUSE_USER otherwise).
  PULLWATCH_CLICKHOUSE_RO_USER: z.string().trim().min(1).optional(),
  PULLWATCH_CLICKHOUSE_RO_PASSWORD: z.string().optional(),
});

export interface QueryApiConfig {
  host: string;
  port: number;
  tokens: string[];
  database: string;
  clickhouseCluster: string | undefined;
  maxRangeDays: number;
  alerts: { rules: Rule[]; webhooks: Webhook[]; intervalMs: number };
  dockerHubEgress: EgressSettings;
  /** Query classes, their pools and ClickHouse limits (limits/config.ts). */
  limits: LimitsConfig;
  teams: Teams;
  /** The read-only ClickHouse user the API queries as, when one is configured. */
  readOnlyUser: { user: string; password: string } | null;
}

export function loadQueryApiConfig(env: NodeJS.ProcessEnv = process.env): QueryApiConfig {
  const r = EnvSchema.safeParse(env);
  if (!r.success)
    throw new Error(
      `invalid query API settings: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const e = r.data;
  const tokens = [...(e.PULLWATCH_API_TOKENS?.split(',') ?? [])];
  if (e.PULLWATCH_API_TOKENS_FILE) {
    try {
      tokens.push(...readFileSync(e.PULLWATCH_API_TOKENS_FILE, 'utf8').split('\n'));
    } catch (err) {
      throw new Error(
        `PULLWATCH_API_TOKENS_FILE: cannot ` +
          `read ${e.PULLWATCH_API_TOKENS_FILE}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (e.PULLWATCH_CLICKHOUSE_RO_PASSWORD && !e.PULLWATCH_CLICKHOUSE_RO_USER)
    throw new Error(
      'invalid query API settings: PULLWATCH_CLICKHOUSE_RO_PASSWORD is set without PULLWATCH_CLICKHOUSE_RO_USER',
    );
  const clean = tokens.map((t) => t.trim()).filter(Boolean);
  if (!clean.length)
    throw new Error(
      'the query API needs at least one token: set PULLWATCH_API_TOKENS (comma list) or PULLWATCH_API_TOKENS_FILE',
    );
  return {
    host: e.PULLWATCH_API_HOST,
    port: e.PULLWATCH_API_PORT,
    tokens: clean,
    database: e.PULLWATCH_CLICKHOUSE_DATABASE,
    clickhouseCluster: e.PULLWATCH_CLICKHOUSE_CLUSTER,
    maxRangeDays: e.PULLWATCH_API_MAX_RANGE_DAYS,
    alerts: {
      rules: loadRules(e.PULLWATCH_ALERT_RULES ?? defaultRulesPath),
      webhooks: parseWebhooks(e.PULLWATCH_ALERT_WEBHOOKS),
      intervalMs: e.PULLWATCH_ALERT_INTERVAL_SECONDS * 1000,
    },
    dockerHubEgress: loadEgressSettings(e.PULLWATCH_DOCKERHUB_EGRESS_FILE),
    limits: loadLimits(env),
    teams: loadTeams(e.PULLWATCH_TEAMS_FILE),
    readOnlyUser: e.PULLWATCH_CLICKHOUSE_RO_USER
      ? { user: e.PULLWATCH_CLICKHOUSE_RO_USER, password: e.PULLWATCH_CLICKHOUSE_RO_PASSWORD ?? '' }
      : null,
  };
}
