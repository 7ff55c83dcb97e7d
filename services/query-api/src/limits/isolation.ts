import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import type { LimitsConfig, QueryClass } from './config.ts';
import { TooManyRequestsError } from './errors.ts';
import { KeyedLimit, Pool } from './pool.ts';

const current = new AsyncLocalStorage<QueryClass>();

/** The ClickHouse settings of a class: its limits, its priority, and throw (never a partial answer) on overflow. */
export function classSettings(limits: LimitsConfig, c: QueryClass) {
  const s = limits.classes[c].settings;
  return {
    max_execution_time: s.max_execution_time,
    timeout_overflow_mode: 'throw',
    max_memory_usage: String(s.max_memory_usage),
    max_rows_to_read: String(s.max_rows_to_read),
    read_overflow_mode: 'throw',
    priority: String(s.priority),
    ...(s.max_threads ? { max_threads: s.max_threads } : {}),
    // Finds a class's queries in system.query_log (and lets tests tell them apart).
    log_comment: `pullwatch-api:${c}`,
  } as const;
}

/**
 * A client whose every query carries the limits of the running request's class (dashboard when no
 * request set one), or of `fixed` (the alert evaluator's client). The query's own settings win.
 */
export function limitedClickHouse(
  ch: ClickHouseClient,
  limits: LimitsConfig,
  fixed?: QueryClass,
  /** With `fixed`: each query also takes a slot of that class's pool (the evaluator's own share). */
  pools?: Isolation,
): ClickHouseClient {
  const wrapped = Object.create(ch) as ClickHouseClient;
  const query = ch.query.bind(ch) as (p: Parameters<ClickHouseClient['query']>[0]) => Promise<unknown>;
  const run = (p: Parameters<ClickHouseClient['query']>[0]) =>
    query({
      ...p,
      clickhouse_settings: {
        ...classSettings(limits, fixed ?? current.getStore() ?? 'dashboard'),
        ...p.clickhouse_settings,
      },
    });
  (wrapped as { query: unknown }).query = (p: Parameters<ClickHouseClient['query']>[0]) =>
    fixed && pools ? pools.run(fixed, `internal:${fixed}`, () => run(p)) : run(p);
  return wrapped;
}

/** The in-process pools: one per class, and per token within each class. */
export class Isolation {
  private readonly pools: Record<QueryClass, Pool>;
  private readonly perToken: Record<QueryClass, KeyedLimit>;
  readonly refused: Record<QueryClass, number> = { dashboard: 0, report: 0, alerts: 0 };

  constructor(readonly limits: LimitsConfig) {
    const l = limits.classes;
    this.pools = {
      dashboard: new Pool(l.dashboard.concurrency, l.dashboard.queue, l.dashboard.queueTimeoutMs),
      report: new Pool(l.report.concurrency, l.report.queue, l.report.queueTimeoutMs),
      alerts: new Pool(l.alerts.concurrency, l.alerts.queue, l.alerts.queueTimeoutMs),
    };
    this.perToken = {
      dashboard: new KeyedLimit(l.dashboard.perToken),
      report: new KeyedLimit(l.report.perToken),
      alerts: new KeyedLimit(l.alerts.perToken),
    };
  }

  active(c: QueryClass): number {
    return this.pools[c].active;
  }

  queued(c: QueryClass): number {
    return this.pools[c].queued;
  }

  /** Runs `fn` in a slot of class `c` (its queries carry the class's settings), or throws TooManyRequestsError. */
  async run<T>(c: QueryClass, token: string, fn: () => Promise<T>): Promise<T> {
    const retry = this.limits.retryAfterSeconds;
    if (!this.perToken[c].tryAcquire(token)) {
      this.refused[c] += 1;
      throw new TooManyRequestsError('token', c, retry);
    }
    try {
      if (!(await this.pools[c].acquire())) {
        this.refused[c] += 1;
        throw new TooManyRequestsError('class', c, retry);
      }
      try {
        return await current.run(c, fn);
      } finally {
        this.pools[c].release();
      }
    } finally {
      this.perToken[c].release(token);
    }
  }
}
