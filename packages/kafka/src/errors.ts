import { MultipleErrors, TimeoutError } from '@platformatic/kafka';

/**
 * Kafka failures as pullwatch acts on them: retryable ones (the broker or a partition leader is
 * away, a request timed out) clear up by themselves, so callers push back and try again; permanent
 * ones (a message over the broker's limit, no authorization, an invalid topic) never do, and
 * retrying them only repeats the failure.
 */
export abstract class KafkaError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    /** The broker's error name (e.g. NOT_LEADER_OR_FOLLOWER), or the client's code. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Broker unavailable, not the leader, a request or the produce timed out: try again later. */
export class KafkaRetryableError extends KafkaError {
  readonly retryable = true;
}

/** The produce did not complete within its timeout (the broker may still write it; idempotence keeps it single). */
export class KafkaTimeoutError extends KafkaRetryableError {}

/** Retrying cannot help. */
export abstract class KafkaPermanentError extends KafkaError {
  readonly retryable = false;
}

/** A message or a batch over the broker's or topic's size limit. */
export class KafkaMessageTooLargeError extends KafkaPermanentError {}
/** The client is not allowed to do this (ACLs, SASL). */
export class KafkaAuthorizationError extends KafkaPermanentError {}
/**
 * The broker refused who we said we are (SASL): wrong user name or password, or a mechanism it does not
 * offer. `setting` names the variable to fix.
 */
export class KafkaAuthenticationError extends KafkaAuthorizationError {
  constructor(
    message: string,
    reason: string,
    readonly setting: string,
    options?: { cause?: unknown },
  ) {
    super(message, reason, options);
  }
}
/**
 * The TLS connection failed: the broker's certificate is not trusted (or not for this host), the broker
 * does not speak TLS, or it refused our client certificate. `setting` names the variable to fix.
 */
export class KafkaTlsError extends KafkaPermanentError {
  constructor(
    message: string,
    reason: string,
    readonly setting: string,
    options?: { cause?: unknown },
  ) {
    super(message, reason, options);
  }
}
/** The topic name or configuration is invalid, or the request was malformed. */
export class KafkaInvalidRequestError extends KafkaPermanentError {}

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const AUTHORIZATION = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
]);
const INVALID = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_REQUIRED_ACKS',
  'INVALID_REQUEST',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'UNSUPPORTED_VERSION',
  'POLICY_VIOLATION',
]);

/** Node's codes for a broker certificate that does not chain to a CA we trust (or is out of date). */
const UNTRUSTED = new Set([
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
/** TLS alerts from a broker that refused our client certificate (or its absence). */
const CLIENT_CERT = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
]);

/** Secure-connection failures, each naming the setting to fix; null when the failure is another kind. */
function securityError(err: unknown, found: string[], message: string): KafkaError | null {
  const has = (r: string) => found.includes(r);
  const untrusted = found.find((r) => UNTRUSTED.has(r));
  if (untrusted)
    return new KafkaTlsError(
      `Kafka TLS: the broker's certificate is not trusted (${untrusted}); check PULLWATCH_KAFKA_SSL_CA_FILE ` +
        `(the CA that signed the brokers' certificates): ${message}`,
      untrusted,
      'PULLWATCH_KAFKA_SSL_CA_FILE',
      { cause: err },
    );
  if (has('ERR_TLS_CERT_ALTNAME_INVALID'))
    return new KafkaTlsError(
      `Kafka TLS: the broker's certificate is not for the host connected to; check PULLWATCH_KAFKA_BROKERS (the ` +
        `names in the certificate): ${message}`,
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'PULLWATCH_KAFKA_BROKERS',
      { cause: err },
    );
  const clientCert = found.find((r) => CLIENT_CERT.has(r));
  if (clientCert)
    return new KafkaTlsError(
      `Kafka TLS: the broker refused our client certificate (${clientCert}); check ` +
        `PULLWATCH_KAFKA_SSL_CERT_FILE and PULLWATCH_KAFKA_SSL_KEY_FILE: ${message}`,
      clientCert,
      'PULLWATCH_KAFKA_SSL_CERT_FILE',
      { cause: err },
    );
  // The library's "TLS handshake failed": a UserError caused by the connection reset during the
  // handshake (it raises it only with TLS on); the port is not a TLS listener.
  if (someError(err, (e) => codeOf(e) === 'PLT_KFK_USER' && codeOf(e.cause) === 'ECONNRESET'))
    return new KafkaTlsError(
      `Kafka TLS: the handshake failed, the broker's listener may not be TLS; check PULLWATCH_KAFKA_SSL and ` +
        `PULLWATCH_KAFKA_BROKERS: ${message}`,
      'TLS_HANDSHAKE_FAILED',
      'PULLWATCH_KAFKA_SSL',
      { cause: err },
    );
  if (has('UNSUPPORTED_SASL_MECHANISM'))
    return new KafkaAuthenticationError(
      `Kafka SASL: the broker does not offer this mechanism; check PULLWATCH_KAFKA_SASL_MECHANISM: ${message}`,
      'UNSUPPORTED_SASL_MECHANISM',
      'PULLWATCH_KAFKA_SASL_MECHANISM',
      { cause: err },
    );
  if (has('SASL_AUTHENTICATION_FAILED') || has('PLT_KFK_AUTHENTICATION'))
    return new KafkaAuthenticationError(
      `Kafka SASL authentication failed; check PULLWATCH_KAFKA_SASL_USERNAME and ` +
        `PULLWATCH_KAFKA_SASL_PASSWORD: ${message}`,
      has('SASL_AUTHENTICATION_FAILED') ? 'SASL_AUTHENTICATION_FAILED' : 'PLT_KFK_AUTHENTICATION',
      'PULLWATCH_KAFKA_SASL_PASSWORD',
      { cause: err },
    );
  return null;
}

const codeOf = (e: unknown): unknown => (e instanceof Error ? (e as Error & { code?: unknown }).code : undefined);

/** Whether the error, one of its nested errors or one of their causes matches. */
function someError(err: unknown, match: (e: Error) => boolean, depth = 0): boolean {
  if (depth > 8 || !(err instanceof Error)) return false;
  if (match(err)) return true;
  const inner = (err as Error & { errors?: unknown[] }).errors;
  if (Array.isArray(inner) && inner.some((i) => someError(i, match, depth + 1))) return true;
  return someError(err.cause, match, depth + 1);
}

/** The messages of an error and its causes, outermost first (what a log line needs to explain it). */
function chain(err: unknown): string {
  const out: string[] = [];
  let e: unknown = err;
  for (let i = 0; e instanceof Error && i < 8; i++) {
    if (!out.includes(e.message)) out.push(e.message);
    const inner = (e as Error & { errors?: unknown[] }).errors;
    e = e.cause ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return out.join(': ');
}

/** The broker error names inside a client error (its nested errors and causes). */
function reasons(err: unknown, into: string[] = [], depth = 0): string[] {
  if (depth > 8 || !(err instanceof Error)) return into;
  const e = err as Error & { apiId?: unknown; code?: unknown; errors?: unknown[] };
  if (typeof e.apiId === 'string') into.push(e.apiId);
  else if (typeof e.code === 'string') into.push(e.code);
  if (MultipleErrors.isMultipleErrors(err) || Array.isArray(e.errors))
    for (const inner of (err as MultipleErrors).errors ?? []) reasons(inner, into, depth + 1);
  if (e.cause) reasons(e.cause, into, depth + 1);
  return into;
}

/** The client library's error as one of ours, decided by the broker's error codes, never by message text. */
export function classifyKafkaError(err: unknown): KafkaError {
  if (err instanceof KafkaError) return err;
  const found = reasons(err);
  const message = err instanceof Error ? err.message : String(err);
  const secure = securityError(err, found, chain(err));
  if (secure) return secure;
  const pick = (set: Set<string>) => found.find((r) => set.has(r));
  const tooLarge = pick(TOO_LARGE);
  if (tooLarge) return new KafkaMessageTooLargeError(message, tooLarge, { cause: err });
  const denied = pick(AUTHORIZATION) ?? found.find((r) => r === 'PLT_KFK_AUTHENTICATION');
  if (denied) return new KafkaAuthorizationError(message, denied, { cause: err });
  const invalid = pick(INVALID) ?? found.find((r) => r === 'PLT_KFK_USER');
  if (invalid) return new KafkaInvalidRequestError(message, invalid, { cause: err });
  const reason = found.find((r) => !r.startsWith('PLT_KFK_')) ?? found[0] ?? 'UNKNOWN';
  if (err instanceof TimeoutError || reason === 'REQUEST_TIMED_OUT')
    return new KafkaTimeoutError(message, reason, { cause: err });
  return new KafkaRetryableError(message, reason, { cause: err });
}
