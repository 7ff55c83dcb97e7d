import { readFileSync } from 'node:fs';
import { DatabaseEnvShape } from '@pullwatch/clickhouse';
import { z } from 'zod';
import { defaultRulesPath, loadRules, type Rule } from './alerts/rules.ts';
import { parseWebhooks, type Webhook } from './alerts/notify.ts';
import type { EgressSettings } from './core/quota.ts';
import { loadEgressSettings } from './diagnosis/egress-config.ts';
import { type LimitsConfig, loadLimits } from './limits/config.ts';
import type { Teams } from './core/teams.ts';
import { loadTeams } from './teams/file.ts';

const EnvSchema = z.object({
  PULLWATCH_API_HOST: z.string().min(1).default('127.0.0.1'),
  PULLWATCH_API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PULLWATCH_API_TOKENS: z.string().optional(),
  PULLWATCH_API_TOKENS_FILE: z.string().optional(),
  ...DatabaseEnvShape,
  PULLWATCH_API_MAX_RANGE_DAYS: z.coerce.number().int().min(1).default(90),
  // Groups one /v1/reports/failures answer may hold (bounded in SQL); past it 422 report_too_large.
  PULLWATCH_REPORT_MAX_GROUPS: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  PULLWATCH_ALERT_RULES: z.string().min(1).optional(),
  PULLWATCH_ALERT_WEBHOOKS: z.string().optional(),
  PULLWATCH_ALERT_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(30),
  // Who shares which egress address for Docker Hub's per-IP pull quota (diagnosis/egress-config.ts).
  PULLWATCH_DOCKERHUB_EGRESS_FILE: z.string().min(1).optional(),
  // namespace → team (optionally per cluster) for /v1/reports/failures (teams/file.ts).
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
  /** Groups a report may have (PULLWATCH_REPORT_MAX_GROUPS). */
  reportMaxGroups: number;
  alerts: { rules: Rule[]; webhooks: Webhook[]; intervalMs: number };
  dockerHubEgress: EgressSettings;
  /** Query classes, their pools and ClickHouse limits (limits/config.ts). */
  limits: LimitsConfig;
  teams: Teams;
  /** The read-only ClickHouse user the API queries as, when one is configured. */
  readOnlyUser: { user: string; password: string } | null;
}

/** The shortest token a tokens file may hold: anything shorter is guessable. */
export const MIN_TOKEN_CHARS = 16;

/**
 * The tokens of a tokens file: one a line, surrounding spaces ignored, blank lines and `#` comments
 * skipped. A token shorter than MIN_TOKEN_CHARS is refused (by line number: the token is a secret).
 */
export function parseTokensFile(text: string, source: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    if (line.length < MIN_TOKEN_CHARS)
      throw new Error(
        `${source}: line ${i + 1}: a token must have at least ${MIN_TOKEN_CHARS} characters (it has ${line.length})`,
      );
    out.push(line);
  });
  return out;
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
    let text: string;
    try {
      text = readFileSync(e.PULLWATCH_API_TOKENS_FILE, 'utf8');
    } catch (err) {
      throw new Error(
        `PULLWATCH_API_TOKENS_FILE: cannot ` +
          `read ${e.PULLWATCH_API_TOKENS_FILE}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    tokens.push(...parseTokensFile(text, `PULLWATCH_API_TOKENS_FILE ${e.PULLWATCH_API_TOKENS_FILE}`));
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
    reportMaxGroups: e.PULLWATCH_REPORT_MAX_GROUPS,
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
