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

/** The broker error names inside a client error (its nested errors and causes). */
function reasons(err: unknown, into: string[] = [], depth = 0): string[] {
  if (depth > 8 || !(err instanceof Error)) return into;
  const e = err as Error & { apiId?: unknown; code?: unknown; errors?: unknown[] };
  if (typeof e.apiId === 'string') into.push(e.apiId);
  else if (typeof e.code === 'string') into.push(e.code);
  if (MultipleErrors.isMultipleErrors(err))
    for (const inner of (err as MultipleErrors).errors) reasons(inner, into, depth + 1);
  if (e.cause) reasons(e.cause, into, depth + 1);
  return into;
}

/** The client library's error as one of ours, decided by the broker's error codes, never by message text. */
export function classifyKafkaError(err: unknown): KafkaError {
  if (err instanceof KafkaError) return err;
  const found = reasons(err);
  const message = err instanceof Error ? err.message : String(err);
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
