import { z } from 'zod';

/** The query classes: each has its own in-process pool and its own ClickHouse limits and priority. */
export const QUERY_CLASSES = ['dashboard', 'report', 'alerts'] as const;
export type QueryClass = (typeof QUERY_CLASSES)[number];

export interface ClassLimits {
  /** Requests of this class running at once (in this process). */
  concurrency: number;
  /** Requests that may wait for a slot; more are refused 429. */
  queue: number;
  /** How long a request waits for a slot before 429. */
  queueTimeoutMs: number;
  /** Requests of this class one token may run at once; more are refused 429. */
  perToken: number;
  /** ClickHouse settings on every query of the class. */
  settings: {
    max_execution_time: number;
    max_memory_usage: number;
    max_rows_to_read: number;
    /** Lower runs first (0 = no priority, so classes use 1 and up). */
    priority: number;
    /** 0 = ClickHouse's default (all cores). */
    max_threads: number;
  };
}

export interface LimitsConfig {
  classes: Record<QueryClass, ClassLimits>;
  /** Windows longer than this make a dashboard route a report (30-day trends, 30-day hotspots). */
  reportAfterMs: number;
  retryAfterSeconds: number;
}

const int = (min: number) => z.coerce.number().int().min(min);
const GIB = 1024 ** 3;

/**
 * Environment (all optional): PULLWATCH_API_<CLASS>_<SETTING>, CLASS one of DASHBOARD, REPORT, ALERTS
 * and SETTING one of CONCURRENCY, QUEUE, QUEUE_TIMEOUT_MS, PER_TOKEN, MAX_EXECUTION_SECONDS,
 * MAX_MEMORY_BYTES, MAX_ROWS_TO_READ, PRIORITY, MAX_THREADS; and PULLWATCH_API_REPORT_AFTER_HOURS,
 * PULLWATCH_API_RETRY_AFTER_SECONDS.
 */
const DEFAULTS: Record<QueryClass, ClassLimits> = {
  dashboard: {
    concurrency: 8,
    queue: 64,
    queueTimeoutMs: 5_000,
    perToken: 16,
    settings: {
      max_execution_time: 10,
      max_memory_usage: 2 * GIB,
      max_rows_to_read: 200_000_000,
      priority: 1,
      max_threads: 0,
    },
  },
  report: {
    // One report at a time on one thread: on a 2-core server the other core stays with dashboards.
    concurrency: 1,
    // Reports wait their turn rather than being refused: a polite client sent back every Retry-After
    // (2 s) mostly met a full pool again (16 of them got 14 reports in 45 s). A queue in arrival order
    // serves each in turn; PER_TOKEN bounds one token's share of it; 30 s stays under the usual 60 s
    // proxy and client timeouts.
    queue: 32,
    queueTimeoutMs: 30_000,
    perToken: 2,
    settings: {
      max_execution_time: 25,
      max_memory_usage: 4 * GIB,
      max_rows_to_read: 2_000_000_000,
      priority: 10,
      max_threads: 1,
    },
  },
  alerts: {
    concurrency: 2,
    queue: 16,
    queueTimeoutMs: 20_000,
    perToken: 2,
    settings: {
      max_execution_time: 20,
      max_memory_usage: 2 * GIB,
      max_rows_to_read: 500_000_000,
      priority: 1,
      max_threads: 0,
    },
  },
};

const classSchema = (prefix: string, d: ClassLimits) =>
  z
    .object({
      [`${prefix}_CONCURRENCY`]: int(1).default(d.concurrency),
      [`${prefix}_QUEUE`]: int(0).default(d.queue),
      [`${prefix}_QUEUE_TIMEOUT_MS`]: int(0).default(d.queueTimeoutMs),
      [`${prefix}_PER_TOKEN`]: int(1).default(d.perToken),
      [`${prefix}_MAX_EXECUTION_SECONDS`]: z.coerce.number().positive().default(d.settings.max_execution_time),
      [`${prefix}_MAX_MEMORY_BYTES`]: int(1_000_000).default(d.settings.max_memory_usage),
      [`${prefix}_MAX_ROWS_TO_READ`]: int(1).default(d.settings.max_rows_to_read),
      [`${prefix}_PRIORITY`]: int(1).default(d.settings.priority),
      [`${prefix}_MAX_THREADS`]: int(0).default(d.settings.max_threads),
    })
    .transform(
      (e): ClassLimits => ({
        concurrency: e[`${prefix}_CONCURRENCY`] as number,
        queue: e[`${prefix}_QUEUE`] as number,
        queueTimeoutMs: e[`${prefix}_QUEUE_TIMEOUT_MS`] as number,
        perToken: e[`${prefix}_PER_TOKEN`] as number,
        settings: {
          max_execution_time: e[`${prefix}_MAX_EXECUTION_SECONDS`] as number,
          max_memory_usage: e[`${prefix}_MAX_MEMORY_BYTES`] as number,
          max_rows_to_read: e[`${prefix}_MAX_ROWS_TO_READ`] as number,
          priority: e[`${prefix}_PRIORITY`] as number,
          max_threads: e[`${prefix}_MAX_THREADS`] as number,
        },
      }),
    );

const GlobalSchema = z.object({
  // Longer than the dashboard's longest range (7 days), so its panels never queue behind reports.
  PULLWATCH_API_REPORT_AFTER_HOURS: z.coerce.number().positive().default(192),
  PULLWATCH_API_RETRY_AFTER_SECONDS: int(1).default(2),
});

/** The limits from the environment, validated; every setting has a default sized for a small box. */
export function loadLimits(env: NodeJS.ProcessEnv): LimitsConfig {
  const issues: string[] = [];
  const parse = <T>(schema: z.ZodType<T>): T | undefined => {
    const r = schema.safeParse(env);
    if (r.success) return r.data;
    issues.push(...r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    return undefined;
  };
  const g = parse(GlobalSchema);
  const classes = Object.fromEntries(
    QUERY_CLASSES.map((c) => [c, parse(classSchema(`PULLWATCH_API_${c.toUpperCase()}`, DEFAULTS[c]))]),
  ) as Record<QueryClass, ClassLimits>;
  if (issues.length || !g) throw new Error(`invalid query API limits: ${issues.join('; ')}`);
  return {
    classes,
    reportAfterMs: g.PULLWATCH_API_REPORT_AFTER_HOURS * 3_600_000,
    retryAfterSeconds: g.PULLWATCH_API_RETRY_AFTER_SECONDS,
  };
}

export const DEFAULT_LIMITS: LimitsConfig = loadLimits({});
