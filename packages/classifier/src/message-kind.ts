// What a kubelet image event says happened, independent of why.

export const MESSAGE_KINDS = [
  'failed_pull',
  'inspect_failed',
  'never_pull',
  'status',
  'backoff',
  'pulling',
  'pulled',
  'already_present',
  'other',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

const STATUS_RE = /^\s*Error: (?:ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull)\s*$/;

/**
 * client-go's event aggregation (tools/record/events_cache.go): more than 10 similar Events of one
 * object in 10 minutes become one whose message is this prefix and the latest message.
 */
export const AGGREGATED_PREFIX = '(combined from similar events): ';

/** The message without client-go's aggregation prefix (the Event it merged says the same thing). */
export function withoutAggregation(message: string): string {
  return message.startsWith(AGGREGATED_PREFIX) ? message.slice(AGGREGATED_PREFIX.length) : message;
}

/**
 * What the Event reports. The reason decides where it is unambiguous: every `Pulled` Event is a success,
 * whatever its wording (`Successfully pulled image`, `already present on machine`, and KEP-2535's `… and
 * can be accessed by the pod` in 1.35); for the rest the kubelet's message does.
 */
export function messageKind(message: string, reason?: string | null): MessageKind {
  message = withoutAggregation(message);
  if (reason === 'Pulled') return message.includes('already present on machine') ? 'already_present' : 'pulled';
  if (message.includes('is not present with pull policy of Never')) return 'never_pull';
  if (message.includes('Failed to pull image "')) return 'failed_pull';
  // KEP-2535 (1.33+): the kubelet could not write its pull record before pulling; `Error: failed to …`
  // is the same failure as the container's Failed Event.
  if (message.includes('ailed to record image pull intent')) return 'failed_pull';
  if (message.includes('Failed to apply default image tag') || message.includes('Failed to inspect image "'))
    return 'inspect_failed';
  if (message.length < 40 && STATUS_RE.test(message)) return 'status';
  if (message.includes('Back-off pulling image "')) return 'backoff';
  if (message.includes('Successfully pulled image "')) return 'pulled';
  if (message.includes('Pulling image "')) return 'pulling';
  if (message.includes('already present on machine')) return 'already_present';
  return 'other';
}

export interface PulledImage {
  image: string;
  /** Time the pull took, without waiting in the kubelet's queue; null when the message omits it. */
  durationMs: number | null;
  /** Time including the wait for earlier pulls (kubelet ≥ 1.28). */
  durationIncludingWaitingMs: number | null;
  sizeBytes: number | null;
}

const PULLED_RE = new RegExp(
  'Successfully pulled image "([^"]*)"(?: in ([0-9.]+[a-zµμ]+(?:[0-9.]+[a-zµμ]+)*))?' +
    String.raw`(?: \(([0-9.]+[a-zµμ]+(?:[0-9.]+[a-zµμ]+)*) including waiting\))?` +
    String.raw`(?:\. Image size: (\d+) bytes)?`,
);
const DURATION_PART_RE = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go `time.Duration` string (`1m2.5s`, `850ms`) in milliseconds; null when it is not one. */
export function parseGoDuration(text: string): number | null {
  let total = 0;
  let consumed = 0;
  DURATION_PART_RE.lastIndex = 0;
  for (let m = DURATION_PART_RE.exec(text); m; m = DURATION_PART_RE.exec(text)) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    consumed = m.index + m[0].length;
  }
  return consumed === text.length && consumed > 0 && Number.isFinite(total) ? total : null;
}

/**
 * Parses `Successfully pulled image "…" in 1.2s (1.2s including waiting). Image size: 123 bytes.` and older
 * forms.
 */
export function parsePulled(message: string): PulledImage | null {
  const m = PULLED_RE.exec(message);
  if (!m) return null;
  return {
    image: m[1] ?? '',
    durationMs: m[2] ? parseGoDuration(m[2]) : null,
    durationIncludingWaitingMs: m[3] ? parseGoDuration(m[3]) : null,
    sizeBytes: m[4] ? Number(m[4]) : null,
  };
}
