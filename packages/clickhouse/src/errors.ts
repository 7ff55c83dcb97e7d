import { ClickHouseError, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';

/**
 * ClickHouse could not be reached or did not answer in time: worth retrying (HTTP 503 in the query API).
 */
export class ClickHouseUnavailableError extends Error {
  override readonly name = 'ClickHouseUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** ClickHouse answered and refused the query (a bug or a schema problem: HTTP 500 in the query API). */
export class ClickHouseQueryError extends Error {
  override readonly name = 'ClickHouseQueryError';
  /** ClickHouse's error code and name (`60`, `UNKNOWN_TABLE`); empty when the error is not the server's. */
  readonly code: string;
  readonly type: string;
  constructor(message: string, details: { code: string; type: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.code = details.code;
    this.type = details.type;
  }
}

/**
 * The HTTPS connection failed because the server's certificate is not trusted (or not for its host):
 * retrying cannot help; `setting` names the variable to fix.
 */
export class ClickHouseTlsError extends Error {
  override readonly name = 'ClickHouseTlsError';
  constructor(
    message: string,
    readonly code: string,
    readonly setting: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Node's codes for a server certificate that does not chain to a CA we trust (or is out of date).
const UNTRUSTED_CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** A certificate failure as a ClickHouseTlsError naming the setting, or null for any other failure. */
export function clickHouseTlsError(err: unknown): ClickHouseTlsError | null {
  if (err instanceof ClickHouseTlsError) return err;
  const code = systemCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code !== undefined && UNTRUSTED_CERT_CODES.has(code))
    return new ClickHouseTlsError(
      `ClickHouse HTTPS: the server's certificate is not trusted (${code}: ${message}); ` +
        'check PULLWATCH_CLICKHOUSE_CA_FILE (the CA that signed it)',
      code,
      'PULLWATCH_CLICKHOUSE_CA_FILE',
      { cause: err },
    );
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return new ClickHouseTlsError(
      `ClickHouse HTTPS: the server's certificate is not for this host (${message}); check PULLWATCH_CLICKHOUSE_URL`,
      code,
      'PULLWATCH_CLICKHOUSE_URL',
      { cause: err },
    );
  return null;
}

// Socket-level failures (Node's system error codes): ClickHouse is not there, or the path to it broke.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
]);

// Server errors that say "not now" rather than "wrong query".
const TRANSIENT_SERVER_ERRORS = new Set([
  'TOO_MANY_SIMULTANEOUS_QUERIES',
  'TIMEOUT_EXCEEDED',
  'SOCKET_TIMEOUT',
  'NETWORK_ERROR',
  'ALL_CONNECTION_TRIES_FAILED',
  'ALL_REPLICAS_ARE_STALE',
  'NO_AVAILABLE_REPLICA',
  // "The server is shutting down": a supervisor starts it again; the query itself was fine.
  'ABORTED',
]);
const ABORTED_CODE = '236';

function systemCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What a failed ClickHouse call means, decided by the error's class and codes (never by its text):
 * the server's own errors are query errors unless their type is transient; socket errors, and a
 * deadline of ours that ran out (`timedOut`), mean unavailable. Anything else is a query error.
 */
export function toClickHouseError(
  err: unknown,
  timedOut = false,
): ClickHouseUnavailableError | ClickHouseQueryError | ClickHouseTlsError {
  if (
    err instanceof ClickHouseUnavailableError ||
    err instanceof ClickHouseQueryError ||
    err instanceof ClickHouseTlsError
  )
    return err;
  const tls = clickHouseTlsError(err);
  if (tls) return tls;
  const message = err instanceof Error ? err.message : String(err);
  if (timedOut) return new ClickHouseUnavailableError(`ClickHouse did not answer in time: ${message}`, { cause: err });
  if (err instanceof ClickHouseError) {
    const type = err.type ?? '';
    if (TRANSIENT_SERVER_ERRORS.has(type) || err.code === ABORTED_CODE)
      return new ClickHouseUnavailableError(`ClickHouse is overloaded or unreachable (${type})`, { cause: err });
    return new ClickHouseQueryError(message, { code: err.code, type }, { cause: err });
  }
  const code = systemCode(err);
  if (code !== undefined && NETWORK_CODES.has(code))
    return new ClickHouseUnavailableError(`ClickHouse is unreachable (${code})`, { cause: err });
  return new ClickHouseQueryError(message, { code: '', type: '' }, { cause: err });
}

/**
 * A SELECT returning its rows (JSONEachRow), failing only with ClickHouseUnavailableError or
 * ClickHouseQueryError. `timeoutMs` is a deadline of its own (shorter than the client's request
 * timeout), so running out of time is known by state, not by the client's message.
 */
export async function queryRows<T>(
  client: ClickHouseClient,
  q: {
    query: string;
    query_params?: Record<string, unknown>;
    clickhouse_settings?: ClickHouseSettings;
    timeoutMs?: number;
  },
): Promise<T[]> {
  const deadline = q.timeoutMs === undefined ? undefined : AbortSignal.timeout(q.timeoutMs);
  try {
    const rs = await client.query({
      query: q.query,
      format: 'JSONEachRow',
      ...(q.query_params ? { query_params: q.query_params } : {}),
      ...(q.clickhouse_settings ? { clickhouse_settings: q.clickhouse_settings } : {}),
      ...(deadline ? { abort_signal: deadline } : {}),
    });
    return await rs.json<T>();
  } catch (err) {
    throw toClickHouseError(err, deadline?.aborted === true);
  }
}
