import { type ClickHouseClient, type FleetTables, queryRows } from '@pullwatch/clickhouse';

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

/** A count as a number: ClickHouse sends 64-bit integers as strings, and a missing one is 0. */
export const n = (v: unknown) => Number(v ?? 0);

/** Whether ClickHouse answers a query (GET /readyz). */
export async function ping(ch: ClickHouseClient): Promise<boolean> {
  const r = await readRows<{ ok: number }>(ch, 'SELECT 1 AS ok', {});
  return n(r[0]?.ok) === 1;
}

/** The reads of one route family: the fleet's tables (`_all` on a ClickHouse cluster), through readRows. */
export abstract class FleetReader {
  constructor(
    protected readonly ch: ClickHouseClient,
    /** Tables to read the whole fleet from (`_all` on a ClickHouse cluster). */
    protected readonly t: FleetTables,
  ) {}

  protected rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    return readRows<T>(this.ch, query, params);
  }
}
