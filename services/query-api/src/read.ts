import { type ClickHouseClient, queryRows } from '@pullwatch/clickhouse';

/**
 * How long a route's query may take before the API answers 503 (below the client's 30 s request
 * timeout, so running out of time is ours to know, not a message to parse).
 */
export const QUERY_DEADLINE_MS = 25_000;

/**
 * The query API's one way to read ClickHouse: read-only on every request (the API can never write,
 * whatever user it connects as), with the deadline, failing with ClickHouseUnavailableError or
 * ClickHouseQueryError (the status code follows the class).
 */
export function readRows<T>(ch: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  return queryRows<T>(ch, {
    query,
    query_params: params,
    clickhouse_settings: { readonly: '1' },
    timeoutMs: QUERY_DEADLINE_MS,
  });
}
