/**
 * Typed errors of load isolation, and ClickHouse's limit errors mapped by their numeric code (never by
 * message). Kept to what the query API needs; when packages/clickhouse exports typed errors, `chCode`
 * is the one place to read them from.
 */
import type { QueryClass } from './config.ts';

/** Refused before ClickHouse was asked: 429 with Retry-After. */
export class TooManyRequestsError extends Error {
  constructor(
    readonly scope: 'token' | 'class',
    readonly queryClass: QueryClass,
    readonly retryAfterSeconds: number,
  ) {
    super(
      scope === 'token'
        ? `too many ${queryClass} requests at once for this token; retry after ${retryAfterSeconds} s`
        : `the API is running as many ${queryClass} queries as it allows; retry after ${retryAfterSeconds} s`,
    );
  }
}

/** A ClickHouse limit stopped the query: 504 for time, 503 for memory and rows read. */
export class QueryLimitError extends Error {
  constructor(
    readonly status: 503 | 504,
    readonly code: 'query_timeout' | 'query_memory_limit' | 'query_too_many_rows',
    readonly limit: 'max_execution_time' | 'max_memory_usage' | 'max_rows_to_read',
    message: string,
  ) {
    super(message);
  }
}

/** ClickHouse error codes (src/Common/ErrorCodes.cpp). */
export const CH = { TOO_MANY_ROWS: 158, TIMEOUT_EXCEEDED: 159, TOO_SLOW: 160, MEMORY_LIMIT_EXCEEDED: 241 } as const;

/** The numeric ClickHouse error code of an error from @clickhouse/client (a string there), or null. */
export function chCode(err: unknown): number | null {
  // The typed ClickHouse errors (packages/clickhouse) keep the server's error as their cause.
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** The limit error a ClickHouse error stands for, or null when it is no limit. */
export function limitError(err: unknown): QueryLimitError | null {
  switch (chCode(err)) {
    case CH.TIMEOUT_EXCEEDED:
    case CH.TOO_SLOW:
      return new QueryLimitError(
        504,
        'query_timeout',
        'max_execution_time',
        'the query ran longer than its max_execution_time and was stopped; narrow the window or the filters',
      );
    case CH.MEMORY_LIMIT_EXCEEDED:
      return new QueryLimitError(
        503,
        'query_memory_limit',
        'max_memory_usage',
        'the query needed more memory than its max_memory_usage and was stopped; narrow the window or group by less',
      );
    case CH.TOO_MANY_ROWS:
      return new QueryLimitError(
        503,
        'query_too_many_rows',
        'max_rows_to_read',
        'the query would read more rows than its max_rows_to_read and was stopped; narrow the window or the filters',
      );
    default:
      return null;
  }
}
