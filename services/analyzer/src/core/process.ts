import {
  classify,
  isConcreteCause,
  MESSAGE_KINDS,
  messageKind,
  parsePulled,
  parseReference,
  type Classification,
  type ImageReference,
  type MessageKind,
} from '@pullwatch/classifier';
import {
  containerOf,
  inferWorkloadFromPodName,
  kubeletBackoff,
  MAX_IMAGE_CHARS,
  normalizeEvent,
  RECOVERY_REASONS,
  truncate,
  type Envelope,
  type EventEnvelope,
  type NormalizedEvent,
} from '@pullwatch/event-schema';
import { type AnalyzerState, type CauseMemory, containerKey, podKey } from './state.ts';
import type { PodStateRow, PullEventRow, RawEventRow } from './table-formats.ts';

export interface Position {
  partition: number;
  offset: number;
  /** The topic's ID (`topicId` of @pullwatch/kafka); '' when not known. */
  topicId?: string;
}

export { AnalyzerState, type AnalyzerStateOptions, type CauseMemory } from './state.ts';

/**
 * The event times stored as they are: from `maxAgeMs` before `nowMs` to `maxAheadMs` after it. Outside
 * it (an honest replay of an old dump, a node with a wrong clock, a hostile sender) the received time is
 * stored instead and the row flagged `time_clamped`, so one insert spans no more monthly partitions than
 * the retention does.
 */
export interface TimeWindow {
  nowMs: number;
  /** The retention: older rows would only be dropped by the table's TTL. */
  maxAgeMs: number;
  maxAheadMs: number;
}

/** More than an hour ahead of the analyzer's clock is a wrong clock, not an Event from the future. */
export const MAX_AHEAD_MS = 3_600_000;

export function timeWindow(nowMs: number, retentionDays: number): TimeWindow {
  return { nowMs, maxAgeMs: retentionDays * 86_400_000, maxAheadMs: MAX_AHEAD_MS };
}

const inWindow = (ms: number, w: TimeWindow) => ms >= w.nowMs - w.maxAgeMs && ms <= w.nowMs + w.maxAheadMs;

/**
 * `ms` if it is inside the window, else the received time (the analyzer's clock when that is outside
 * it too); `clamped` says which.
 */
export function clampTime(ms: number, receivedMs: number, w: TimeWindow | undefined): { ms: number; clamped: boolean } {
  if (!w || inWindow(ms, w)) return { ms, clamped: false };
  return { ms: inWindow(receivedMs, w) ? receivedMs : w.nowMs, clamped: true };
}

export interface ProcessOptions {
  /** A Pod failing for longer than this is `stuck`. */
  stuckAfterMs: number;
  /** Event times outside it are clamped (see TimeWindow); absent: stored as they are. */
  window?: TimeWindow;
  receivedAt?: number;
  /** The envelope as received (JSON text), kept in raw_events; serialised again only when absent. */
  payload?: string;
}

export interface Processed {
  raw: RawEventRow;
  pull: PullEventRow | null;
  podState: PodStateRow | null;
}

// Messages that repeat word for word across Pods and attempts, so their classification is worth
// remembering; a success names its duration and size, different every time.
const REPEATING_KINDS: ReadonlySet<MessageKind> = new Set(MESSAGE_KINDS.filter((k) => k !== 'pulled' && k !== 'other'));

const FAILURE_KINDS: ReadonlySet<MessageKind> = new Set<MessageKind>(['failed_pull', 'inspect_failed', 'never_pull']);

export function tagKind(image: string): string {
  const r = parseReference(image);
  return tagKindOf(r.ok ? r.reference : null);
}

/** The tag kind of an already parsed reference (null: the image did not parse). */
function tagKindOf(ref: ImageReference | null): string {
  if (!ref) return 'invalid';
  if (ref.digest) return 'digest';
  // parseReference keeps the tag as written; no tag means Docker's implicit `latest`.
  if (!ref.tag) return 'missing';
  return ref.tag === 'latest' ? 'latest' : 'pinned';
}

const toMs = (t: string | null | undefined, fallback: number) => {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : fallback;
};

/**
 * One envelope → its rows and the state change it causes. Pure apart from `state`. The stages, in
 * order: read the Event, classify it, count its growth, attribute a cause, then the pull row, the
 * Pod's next state and the raw row.
 */
export function processEnvelope(env: Envelope, pos: Position, state: AnalyzerState, opts: ProcessOptions): Processed {
  const receivedMs = toMs(env.receivedAt, opts.receivedAt ?? Date.now());
  if (env.kind === 'pod-waiting') return processWaiting(env, pos, state, opts, receivedMs);

  const seen = readEvent(env, receivedMs, opts.window);
  const classified = classifyEvent(env, seen, state);
  const delta = countGrowth(state, env.cluster, seen.n);
  const cause = attributeCause(state, classified, seen.kind);
  const outcome = outcomeOf(seen.kind);
  const pull =
    seen.kind !== 'other' || RECOVERY_REASONS.has(seen.n.reason)
      ? pullRow(env, pos, seen, classified, cause, outcome, delta, receivedMs)
      : null;
  const podState = nextPodState(env, state, seen, classified, cause, outcome, delta, opts);
  if (podState) state.setPod(classified.podKey, podState);
  return { raw: rawRow(env, pos, seen, receivedMs, opts), pull, podState };
}

/** Stage 1: the Event's times, container and kind (the classifier's messageKind, the one source of it). */
interface SeenEvent {
  n: NormalizedEvent;
  timeMs: number;
  firstMs: number;
  container: string;
  /** cluster/namespace/pod/container: the image is added once known. */
  podKeyBase: string;
  kind: MessageKind;
  /** 1: timeMs (or firstMs) is the received time, the Event's own was outside the window. */
  clamped: number;
}

function readEvent(env: EventEnvelope, receivedMs: number, window: TimeWindow | undefined): SeenEvent {
  const n = normalizeEvent(env.event);
  const time = clampTime(toMs(n.lastTime, receivedMs), receivedMs, window);
  // A first time outside the window is the (clamped) last time: the Event's span is unknown.
  const first = clampTime(toMs(n.firstTime, time.ms), time.ms, window);
  const container = containerOf(n.object.fieldPath) ?? '';
  return {
    n,
    timeMs: time.ms,
    firstMs: first.clamped ? time.ms : first.ms,
    clamped: time.clamped || first.clamped ? 1 : 0,
    container,
    podKeyBase: containerKey(env.cluster, n.object.namespace, n.object.name, container),
    kind: messageKind(n.message, n.reason),
  };
}

/** Stage 2: cause and image (status events name none: the image last seen for the container). */
interface ClassifiedEvent {
  c: Classification;
  image: string;
  podKey: string;
  /** The tag kind of the image ('' without one). */
  tagKind: string;
}

function classifyEvent(env: EventEnvelope, seen: SeenEvent, state: AnalyzerState): ClassifiedEvent {
  const input = {
    message: seen.n.message,
    reason: seen.n.reason,
    image: env.pod?.image ?? state.image(seen.podKeyBase) ?? null,
  };
  const c = REPEATING_KINDS.has(seen.kind) ? state.classify(input) : classify(input);
  // An image read from the message is bounded by it (MAX_MESSAGE_CHARS); stored no longer than one from a Pod spec.
  const image = truncate(c.image ?? '', MAX_IMAGE_CHARS);
  if (image) state.setImage(seen.podKeyBase, image);
  // classify() parsed c.image already: its reference, or null when it did not parse.
  return { c, image, podKey: podKey(seen.podKeyBase, image), tagKind: image ? tagKindOf(c.reference) : '' };
}

/** Stage 3: the occurrences this observation adds (an aggregated Event's growth; a replay adds none). */
function countGrowth(state: AnalyzerState, cluster: string, n: NormalizedEvent): number {
  const previous = state.count(cluster, n.uid);
  if (n.count > previous) state.setCount(cluster, n.uid, n.count);
  return Math.max(0, n.count - previous);
}

/** Stage 4: `no_cause` takes the last concrete cause of the same Pod, container and image. */
interface AttributedCause extends CauseMemory {
  attributed: number;
}

function attributeCause(state: AnalyzerState, e: ClassifiedEvent, kind: MessageKind): AttributedCause {
  const own = { cause: e.c.cause as string, subcause: e.c.subcause ?? '', hint: e.c.hint };
  if (own.cause === 'no_cause') {
    const last = state.cause(e.podKey);
    return last ? { ...last, attributed: 1 } : { ...own, attributed: 0 };
  }
  if (FAILURE_KINDS.has(kind) && isConcreteCause(own.cause)) state.setCause(e.podKey, own);
  return { ...own, attributed: 0 };
}

function outcomeOf(kind: MessageKind): PullEventRow['outcome'] {
  if (FAILURE_KINDS.has(kind)) return 'failure';
  if (kind === 'pulled') return 'success';
  if (kind === 'already_present') return 'present';
  return 'state';
}

/** Stage 5: the pull_events row. */
function pullRow(
  env: EventEnvelope,
  pos: Position,
  seen: SeenEvent,
  e: ClassifiedEvent,
  cause: AttributedCause,
  outcome: PullEventRow['outcome'],
  delta: number,
  receivedMs: number,
): PullEventRow {
  const { n, timeMs, firstMs, container } = seen;
  const pulled = seen.kind === 'pulled' ? parsePulled(n.message) : null;
  const ref = e.c.reference;
  const withCause = outcome === 'failure' || outcome === 'state';
  return {
    event_time: timeMs,
    first_time: Math.min(firstMs, timeMs),
    received_at: receivedMs,
    cluster: env.cluster,
    namespace: n.object.namespace,
    pod: n.object.name,
    container,
    node: nodeOf(env, n),
    outcome,
    event_kind: seen.kind,
    occurrences: delta,
    image: e.image,
    registry: e.c.registry ?? '',
    provider: e.c.provider ?? '',
    repository: ref?.repository ?? '',
    tag: ref?.tag ?? '',
    digest: ref?.digest ?? '',
    tag_kind: e.tagKind,
    cause: withCause ? cause.cause : '',
    subcause: withCause ? cause.subcause : '',
    attributed: cause.attributed,
    retryable: e.c.retryable ? 1 : 0,
    hint: withCause ? cause.hint : '',
    message: n.message,
    pull_duration_ms: Math.round(pulled?.durationMs ?? 0),
    image_size_bytes: Math.round(pulled?.sizeBytes ?? 0),
    image_pull_policy: env.pod?.imagePullPolicy ?? '',
    has_pull_secrets: pullSecretsOf(env),
    event_uid: n.uid,
    event_count: n.count,
    kafka_partition: pos.partition,
    kafka_offset: pos.offset,
    kafka_topic_id: pos.topicId ?? '',
    ...workloadColumns(env, n.object.name),
    time_clamped: seen.clamped,
  };
}

type WorkloadColumns = Pick<PullEventRow, 'workload_kind' | 'workload_name' | 'workload_inferred' | 'team'>;

/**
 * The workload and team columns: the collector's (from the Pod's owners and its Namespace; a null
 * workload is a Pod known to have none), else what
 * the Pod's state already knew from an earlier envelope, else the workload inferred from the Pod's
 * name. Team '' is unknown: it is never inferred.
 */
export function workloadColumns(env: Envelope, pod: string, previous?: WorkloadColumns): WorkloadColumns {
  const known = previous?.workload_kind && !previous.workload_inferred ? previous : undefined;
  // null from the collector: the Pod is known to have no controller.
  const w =
    env.workload !== undefined
      ? env.workload
      : known
        ? { kind: known.workload_kind, name: known.workload_name, inferred: false }
        : inferWorkloadFromPodName(pod);
  return {
    workload_kind: w?.kind ?? '',
    workload_name: w?.name ?? '',
    workload_inferred: w?.inferred ?? false,
    team: env.team ?? previous?.team ?? '',
  };
}

const nodeOf = (env: EventEnvelope, n: NormalizedEvent) => n.node ?? env.pod?.node ?? '';
const pullSecretsOf = (env: EventEnvelope) =>
  env.pod?.hasPullSecrets === true ? 1 : env.pod?.hasPullSecrets === false ? 0 : -1;

/** Stage 6: failures open or grow the Pod's state; a pull or a container start afterwards closes it. */
function nextPodState(
  env: EventEnvelope,
  state: AnalyzerState,
  seen: SeenEvent,
  e: ClassifiedEvent,
  cause: AttributedCause,
  outcome: PullEventRow['outcome'],
  delta: number,
  opts: ProcessOptions,
): PodStateRow | null {
  const { n, timeMs, firstMs, kind } = seen;
  const st = state.pod(e.podKey);
  const open = st && st.status !== 'recovered' ? st : undefined;
  if (outcome === 'failure' && delta > 0) {
    const attempts = (open?.attempts ?? 0) + delta;
    const firstFailure = open?.first_failure ?? firstMs;
    const { stage, seconds } = kubeletBackoff(attempts);
    return {
      cluster: env.cluster,
      namespace: n.object.namespace,
      pod: n.object.name,
      container: seen.container,
      image: e.image,
      node: nodeOf(env, n),
      registry: e.c.registry ?? '',
      provider: e.c.provider ?? '',
      status: timeMs - firstFailure >= opts.stuckAfterMs ? 'stuck' : 'failing',
      cause: cause.cause,
      subcause: cause.subcause,
      hint: cause.hint,
      message: n.message,
      first_failure: firstFailure,
      last_failure: timeMs,
      attempts,
      backoff_stage: stage,
      backoff_seconds: seconds,
      recovered_at: null,
      time_to_recover_ms: null,
      image_pull_policy: env.pod?.imagePullPolicy ?? '',
      has_pull_secrets: pullSecretsOf(env),
      tag_kind: e.tagKind,
      updated_at: timeMs,
      ...workloadColumns(env, n.object.name, open),
    };
  }
  if (open && (outcome === 'success' || outcome === 'present' || RECOVERY_REASONS.has(n.reason)))
    return {
      ...open,
      ...workloadColumns(env, open.pod, open),
      status: 'recovered',
      recovered_at: timeMs,
      time_to_recover_ms: Math.max(0, timeMs - open.first_failure),
      updated_at: timeMs,
    };
  if (
    open?.status === 'failing' &&
    (kind === 'status' || kind === 'backoff') &&
    timeMs - open.first_failure >= opts.stuckAfterMs
  )
    return {
      ...open,
      ...workloadColumns(env, open.pod, open),
      status: 'stuck',
      updated_at: Math.max(timeMs, open.updated_at),
    };
  return null;
}

/** Stage 7: the raw_events row (every envelope, whatever it says). */
function rawRow(
  env: EventEnvelope,
  pos: Position,
  seen: SeenEvent,
  receivedMs: number,
  opts: ProcessOptions,
): RawEventRow {
  const { n } = seen;
  return {
    event_time: seen.timeMs,
    received_at: receivedMs,
    cluster: env.cluster,
    source: env.source,
    kind: env.kind,
    namespace: n.namespace,
    object_kind: n.object.kind,
    object_name: n.object.name,
    reason: n.reason,
    type: n.type,
    event_count: n.count,
    payload: opts.payload ?? JSON.stringify(env),
    kafka_partition: pos.partition,
    kafka_offset: pos.offset,
    kafka_topic_id: pos.topicId ?? '',
    message_truncated: env.messageTruncated ? 1 : 0,
    time_clamped: seen.clamped,
  };
}

function processWaiting(
  env: Extract<Envelope, { kind: 'pod-waiting' }>,
  pos: Position,
  state: AnalyzerState,
  opts: ProcessOptions,
  receivedMs: number,
): Processed {
  const w = env.podWaiting;
  const time = clampTime(toMs(w.observedAt, receivedMs), receivedMs, opts.window);
  const timeMs = time.ms;
  const ofContainer = containerKey(env.cluster, w.namespace, w.pod, w.container);
  const key = podKey(ofContainer, w.image);
  state.setImage(ofContainer, w.image);
  const c = state.classify({ message: w.message ?? `Error: ${w.reason}`, reason: w.reason, image: w.image });
  const known = state.cause(key);
  const cause = isConcreteCause(c.cause) ? c.cause : (known?.cause ?? c.cause);
  if (isConcreteCause(c.cause)) state.setCause(key, { cause: c.cause, subcause: c.subcause ?? '', hint: c.hint });
  const st = state.pod(key);
  let podState: PodStateRow | null = null;
  // Pod status says it is failing even when its Events expired or were rate-limited: keep a state
  // for it, but count no attempts (only Events count attempts).
  if (!st || st.status === 'recovered') {
    podState = {
      cluster: env.cluster,
      namespace: w.namespace,
      pod: w.pod,
      container: w.container,
      image: w.image,
      node: w.node ?? '',
      registry: c.registry ?? '',
      provider: c.provider ?? '',
      status: 'failing',
      cause,
      subcause: c.subcause ?? known?.subcause ?? '',
      hint: known?.hint ?? c.hint,
      message: w.message ?? w.reason,
      first_failure: timeMs,
      last_failure: timeMs,
      attempts: 0,
      backoff_stage: 0,
      backoff_seconds: 0,
      recovered_at: null,
      time_to_recover_ms: null,
      image_pull_policy: w.imagePullPolicy ?? '',
      has_pull_secrets: w.hasPullSecrets ? 1 : 0,
      tag_kind: tagKind(w.image),
      updated_at: timeMs,
      ...workloadColumns(env, w.pod),
    };
  } else if (st.first_failure + opts.stuckAfterMs <= timeMs && st.status === 'failing') {
    podState = {
      ...st,
      ...workloadColumns(env, w.pod, st),
      status: 'stuck',
      image_pull_policy: w.imagePullPolicy ?? st.image_pull_policy,
      has_pull_secrets: w.hasPullSecrets ? 1 : 0,
      updated_at: timeMs,
    };
  }
  if (podState) state.setPod(key, podState);
  const raw: RawEventRow = {
    event_time: timeMs,
    received_at: receivedMs,
    cluster: env.cluster,
    source: env.source,
    kind: env.kind,
    namespace: w.namespace,
    object_kind: 'Pod',
    object_name: w.pod,
    reason: w.reason,
    type: 'Warning',
    event_count: 0,
    payload: opts.payload ?? JSON.stringify(env),
    kafka_partition: pos.partition,
    kafka_offset: pos.offset,
    kafka_topic_id: pos.topicId ?? '',
    message_truncated: env.messageTruncated ? 1 : 0,
    time_clamped: time.clamped ? 1 : 0,
  };
  return { raw, pull: null, podState };
}
