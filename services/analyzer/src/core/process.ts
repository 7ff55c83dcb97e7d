import {
  classify,
  messageKind,
  parsePulled,
  parseReference,
  type Classification,
  type ImageReference,
} from '@pullwatch/classifier';
import { containerOf, normalizeEvent, type Envelope } from '@pullwatch/event-schema';
import type { PodStateRow, PullEventRow, RawEventRow } from './rows.ts';

export interface Position {
  partition: number;
  offset: number;
}

interface CauseMemory {
  cause: string;
  subcause: string;
  hint: string;
}

/**
 * What the analyzer remembers between messages: the last count seen per Event (so aggregated
 * Events add only their growth), the last concrete cause per Pod/container/image (to attribute
 * `no_cause` messages), each one's pull state, and the image last seen per Pod/container
 * (status events name none). Keyed per cluster; restorable from ClickHouse after a restart.
 */
export class AnalyzerState {
  readonly lastCount = new Map<string, number>();
  readonly lastCause = new Map<string, CauseMemory>();
  readonly pods = new Map<string, PodStateRow>();
  readonly imageOf = new Map<string, string>();

  clear(): void {
    this.lastCount.clear();
    this.lastCause.clear();
    this.pods.clear();
    this.imageOf.clear();
  }
}

export interface ProcessOptions {
  /** A Pod failing for longer than this is `stuck`. */
  stuckAfterMs: number;
  receivedAt?: number;
  /** The envelope as received (JSON text), kept in raw_events; serialised again only when absent. */
  payload?: string;
}

export interface Processed {
  raw: RawEventRow;
  pull: PullEventRow | null;
  podState: PodStateRow | null;
}

const FAILURE_KINDS = new Set(['failed_pull', 'inspect_failed', 'never_pull']);

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

function kindOf(reason: string, message: string): string {
  if (reason === 'InspectFailed') return 'inspect_failed';
  if (reason === 'ErrImageNeverPull') return 'never_pull';
  return messageKind(message);
}

/** kubelet's back-off after `attempts` failures: 5 s doubling, capped at 300 s. */
export function backoffFor(attempts: number): { stage: number; seconds: number } {
  const stage = Math.max(0, Math.min(6, attempts - 1));
  return { stage, seconds: Math.min(300, 5 * 2 ** stage) };
}

/** One envelope → its rows and the state change it causes. Pure apart from `state`. */
export function processEnvelope(env: Envelope, pos: Position, state: AnalyzerState, opts: ProcessOptions): Processed {
  const receivedMs = toMs(env.receivedAt, opts.receivedAt ?? Date.now());
  if (env.kind === 'pod-waiting') return processWaiting(env, pos, state, opts, receivedMs);

  const n = normalizeEvent(env.event);
  const timeMs = toMs(n.lastTime, receivedMs);
  const firstMs = toMs(n.firstTime, timeMs);
  const container = containerOf(n.object.fieldPath) ?? '';
  const podKeyBase = `${env.cluster}/${n.object.namespace}/${n.object.name}/${container}`;
  const kind = kindOf(n.reason, n.message);
  const c: Classification = classify({
    message: n.message,
    reason: n.reason,
    image: env.pod?.image ?? state.imageOf.get(podKeyBase) ?? null,
  });
  const image = c.image ?? '';
  if (image) state.imageOf.set(podKeyBase, image);
  const podKey = `${podKeyBase}/${image}`;

  const idKey = `${env.cluster}/${n.uid}`;
  const previous = state.lastCount.get(idKey) ?? 0;
  const delta = Math.max(0, n.count - previous);
  if (n.count > previous) state.lastCount.set(idKey, n.count);

  let cause = c.cause as string;
  let subcause = c.subcause ?? '';
  let hint = c.hint;
  let attributed = 0;
  if (cause === 'no_cause') {
    const last = state.lastCause.get(podKey);
    if (last) {
      ({ cause, subcause, hint } = last);
      attributed = 1;
    }
  } else if (FAILURE_KINDS.has(kind) && cause !== 'unknown') {
    state.lastCause.set(podKey, { cause, subcause, hint });
  }

  const pulled = kind === 'pulled' ? parsePulled(n.message) : null;
  const outcome: PullEventRow['outcome'] = FAILURE_KINDS.has(kind)
    ? 'failure'
    : kind === 'pulled'
      ? 'success'
      : kind === 'already_present'
        ? 'present'
        : 'state';
  const isPullEvent = kind !== 'other' || n.reason === 'Started';
  const ref = c.reference;
  const policy = env.pod?.imagePullPolicy ?? '';
  const secrets = env.pod?.hasPullSecrets === true ? 1 : env.pod?.hasPullSecrets === false ? 0 : -1;
  const node = n.node ?? env.pod?.node ?? '';
  // classify() parsed c.image already: its reference, or null when it did not parse.
  const tk = image ? tagKindOf(ref) : '';

  const pull: PullEventRow | null = isPullEvent
    ? {
        event_time: timeMs,
        first_time: Math.min(firstMs, timeMs),
        received_at: receivedMs,
        cluster: env.cluster,
        namespace: n.object.namespace,
        pod: n.object.name,
        container,
        node,
        outcome,
        event_kind: kind,
        occurrences: delta,
        image,
        registry: c.registry ?? '',
        provider: c.provider ?? '',
        repository: ref?.repository ?? '',
        tag: ref?.tag ?? '',
        digest: ref?.digest ?? '',
        tag_kind: tk,
        cause: outcome === 'failure' || outcome === 'state' ? cause : '',
        subcause: outcome === 'failure' || outcome === 'state' ? subcause : '',
        attributed,
        retryable: c.retryable ? 1 : 0,
        hint: outcome === 'failure' || outcome === 'state' ? hint : '',
        message: n.message,
        pull_duration_ms: Math.round(pulled?.durationMs ?? 0),
        image_size_bytes: Math.round(pulled?.sizeBytes ?? 0),
        image_pull_policy: policy,
        has_pull_secrets: secrets,
        event_uid: n.uid,
        event_count: n.count,
        identity: env.identity.key,
        kafka_partition: pos.partition,
        kafka_offset: pos.offset,
      }
    : null;

  // Pod pull state: failures open or grow it; a pull or a start afterwards closes it.
  let podState: PodStateRow | null = null;
  const st = state.pods.get(podKey);
  if (outcome === 'failure' && delta > 0) {
    const attempts = (st && st.status !== 'recovered' ? st.attempts : 0) + delta;
    const firstFailure = st && st.status !== 'recovered' ? st.first_failure : firstMs;
    const { stage, seconds } = backoffFor(attempts);
    const failingFor = timeMs - firstFailure;
    podState = {
      cluster: env.cluster,
      namespace: n.object.namespace,
      pod: n.object.name,
      container,
      image,
      node,
      registry: c.registry ?? '',
      provider: c.provider ?? '',
      status: failingFor >= opts.stuckAfterMs ? 'stuck' : 'failing',
      cause,
      subcause,
      hint,
      message: n.message,
      first_failure: firstFailure,
      last_failure: timeMs,
      attempts,
      backoff_stage: stage,
      backoff_seconds: seconds,
      recovered_at: null,
      time_to_recover_ms: null,
      image_pull_policy: policy,
      has_pull_secrets: secrets,
      tag_kind: tk,
      updated_at: timeMs,
    };
  } else if (
    st &&
    st.status !== 'recovered' &&
    (outcome === 'success' || outcome === 'present' || n.reason === 'Started')
  ) {
    podState = {
      ...st,
      status: 'recovered',
      recovered_at: timeMs,
      time_to_recover_ms: Math.max(0, timeMs - st.first_failure),
      updated_at: timeMs,
    };
  } else if (
    st &&
    st.status === 'failing' &&
    (kind === 'status' || kind === 'backoff') &&
    timeMs - st.first_failure >= opts.stuckAfterMs
  ) {
    podState = { ...st, status: 'stuck', updated_at: Math.max(timeMs, st.updated_at) };
  }
  if (podState) state.pods.set(podKey, podState);

  const raw: RawEventRow = {
    event_time: timeMs,
    received_at: receivedMs,
    cluster: env.cluster,
    source: env.source,
    kind: env.kind,
    namespace: n.namespace,
    object_kind: n.object.kind,
    object_name: n.object.name,
    reason: n.reason,
    type: n.type,
    message: n.message,
    event_uid: n.uid,
    event_count: n.count,
    resource_version: n.resourceVersion ?? '',
    identity: env.identity.key,
    payload: opts.payload ?? JSON.stringify(env),
    kafka_partition: pos.partition,
    kafka_offset: pos.offset,
  };
  return { raw, pull, podState };
}

function processWaiting(
  env: Extract<Envelope, { kind: 'pod-waiting' }>,
  pos: Position,
  state: AnalyzerState,
  opts: ProcessOptions,
  receivedMs: number,
): Processed {
  const w = env.podWaiting;
  const timeMs = toMs(w.observedAt, receivedMs);
  const podKey = `${env.cluster}/${w.namespace}/${w.pod}/${w.container}/${w.image}`;
  state.imageOf.set(`${env.cluster}/${w.namespace}/${w.pod}/${w.container}`, w.image);
  const c = classify({ message: w.message ?? `Error: ${w.reason}`, reason: w.reason, image: w.image });
  const known = state.lastCause.get(podKey);
  const cause = c.cause === 'no_cause' || c.cause === 'unknown' ? (known?.cause ?? c.cause) : c.cause;
  if (c.cause !== 'no_cause' && c.cause !== 'unknown')
    state.lastCause.set(podKey, { cause: c.cause, subcause: c.subcause ?? '', hint: c.hint });
  const st = state.pods.get(podKey);
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
    };
  } else if (st.first_failure + opts.stuckAfterMs <= timeMs && st.status === 'failing') {
    podState = {
      ...st,
      status: 'stuck',
      image_pull_policy: w.imagePullPolicy ?? st.image_pull_policy,
      has_pull_secrets: w.hasPullSecrets ? 1 : 0,
      updated_at: timeMs,
    };
  }
  if (podState) state.pods.set(podKey, podState);
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
    message: w.message ?? '',
    event_uid: w.podUid,
    event_count: 0,
    resource_version: '',
    identity: env.identity.key,
    payload: opts.payload ?? JSON.stringify(env),
    kafka_partition: pos.partition,
    kafka_offset: pos.offset,
  };
  return { raw, pull: null, podState };
}
