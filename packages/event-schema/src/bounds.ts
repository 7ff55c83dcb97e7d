// Every field that comes from outside is bounded where the normalised Event is built, on every path
// (the ingest routes and the Kubernetes watch alike), so no single Event costs more than a fixed
// amount downstream: to classify, to keep in memory, to store.
import type { PodContext, PodWaiting } from './envelope.ts';
import { normalizeEvent, type K8sEvent, type NormalizedEvent } from './k8s-event.ts';

/** Object names (Pods, Events, Nodes): a DNS subdomain, Kubernetes' own limit. */
export const MAX_NAME_CHARS = 253;
/** Namespaces (and container names): a DNS label, Kubernetes' own limit. */
export const MAX_NAMESPACE_CHARS = 63;
/** `involvedObject.fieldPath` / `regarding.fieldPath` (kubelet's are `spec.containers{name}`). */
export const MAX_FIELD_PATH_CHARS = 1024;
/** An image reference (repository names stop at 255; a tag at 128, a digest at ~140). */
export const MAX_IMAGE_CHARS = 4096;
/** An Event's message (or note): longer ones are kept this long, and the envelope says so. */
export const MAX_MESSAGE_CHARS = 8192;
/** `reason`, `type`, an object's `kind`: short words, LowCardinality columns downstream. */
export const MAX_REASON_CHARS = 128;
/** Occurrence counts are clamped to a signed 32-bit integer, as the API server's own field. */
export const MAX_EVENT_COUNT = 2 ** 31 - 1;
/** Uids and resource versions name an object (its identity): real ones are 36 and ≤ 20 characters. */
const MAX_ID_CHARS = MAX_NAME_CHARS;

export type BoundedEvent =
  | { ok: true; event: K8sEvent; normalized: NormalizedEvent; messageTruncated: boolean }
  | { ok: false; reason: string };

export type BoundedPodWaiting =
  | { ok: true; podWaiting: PodWaiting; messageTruncated: boolean }
  | { ok: false; reason: string };

/** At most `max` UTF-16 units, one less rather than half a surrogate pair (which no UTF-8 encoder keeps). */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
const cut = truncate;
const cutOptional = <T extends string | null | undefined>(s: T, max: number): T =>
  (typeof s === 'string' ? truncate(s, max) : s) as T;
const clampCount = <T extends number | undefined>(n: T): T =>
  (typeof n === 'number' && n > MAX_EVENT_COUNT ? MAX_EVENT_COUNT : n) as T;

/**
 * Docker Hub names the token of an authenticated pull it rate-limits (`… pull rate limit as 'user':
 * dckr_jti_<id>. …`): a token id is a credential's handle, never stored or logged. Replaced where every
 * message enters (boundEvent, boundPodWaiting), so no row, payload, dead letter or log line carries it.
 */
const DOCKER_TOKEN_ID_RE = /dckr_jti_[A-Za-z0-9_\-+/=]*/g;
export const REDACTED_TOKEN_ID = 'dckr_jti_<redacted>';

/** `s` with every Docker Hub token id replaced by REDACTED_TOKEN_ID (linear: one pass, no backtracking). */
export function redactTokenIds(s: string): string {
  return s.includes('dckr_jti_') ? s.replace(DOCKER_TOKEN_ID_RE, REDACTED_TOKEN_ID) : s;
}

/** A message cut to MAX_MESSAGE_CHARS, then redacted (a token id cut at the end is still one). */
const boundMessage = <T extends string | null | undefined>(s: T): T =>
  (typeof s === 'string' ? redactTokenIds(truncate(s, MAX_MESSAGE_CHARS)) : s) as T;

/** The first identifying field over its limit, as `field: why`; null when all are within. */
function overLimit(fields: readonly (readonly [field: string, value: unknown, max: number, what: string])[]) {
  for (const [field, value, max, what] of fields)
    if (typeof value === 'string' && value.length > max)
      return `${field}: longer than ${max} characters (${value.length}), more than ${what} can be`;
  return null;
}

type ObjectRef = NonNullable<K8sEvent['involvedObject']>;

const boundRef = (ref: ObjectRef | undefined): ObjectRef | undefined =>
  ref && {
    ...ref,
    kind: cutOptional(ref.kind, MAX_REASON_CHARS),
    fieldPath: cutOptional(ref.fieldPath, MAX_FIELD_PATH_CHARS),
  };

/**
 * An Event within the limits: refused (`ok: false`, with the field and why) when a name, namespace or
 * identifier is longer than Kubernetes allows (no API server stores such an Event, and cutting it would
 * make it another object's); otherwise a copy with the message (or note) cut to MAX_MESSAGE_CHARS
 * (`messageTruncated`) and its token ids redacted, the fieldPath, reason, type and kind cut, and counts clamped, and that copy
 * normalised. Fields pullwatch does not read pass through as they came.
 */
export function boundEvent(event: K8sEvent): BoundedEvent {
  const over = overLimit([
    ['metadata.name', event.metadata.name, MAX_NAME_CHARS, 'a Kubernetes object name'],
    ['metadata.namespace', event.metadata.namespace, MAX_NAMESPACE_CHARS, 'a Kubernetes namespace'],
    ['metadata.uid', event.metadata.uid, MAX_ID_CHARS, 'an object uid'],
    ['metadata.resourceVersion', event.metadata.resourceVersion, MAX_ID_CHARS, 'a resource version'],
    ['involvedObject.name', event.involvedObject?.name, MAX_NAME_CHARS, 'a Kubernetes object name'],
    ['involvedObject.namespace', event.involvedObject?.namespace, MAX_NAMESPACE_CHARS, 'a Kubernetes namespace'],
    ['involvedObject.uid', event.involvedObject?.uid, MAX_ID_CHARS, 'an object uid'],
    ['regarding.name', event.regarding?.name, MAX_NAME_CHARS, 'a Kubernetes object name'],
    ['regarding.namespace', event.regarding?.namespace, MAX_NAMESPACE_CHARS, 'a Kubernetes namespace'],
    ['regarding.uid', event.regarding?.uid, MAX_ID_CHARS, 'an object uid'],
  ]);
  if (over) return { ok: false, reason: over };

  const messageTruncated =
    (event.message?.length ?? 0) > MAX_MESSAGE_CHARS || (event.note?.length ?? 0) > MAX_MESSAGE_CHARS;
  // Only the fields the Event has are bounded, in place in the copy: absent ones stay absent, and the copy keeps
  // V8's fast properties (deleting the keys added as undefined made it a dictionary, several times slower to copy).
  const bounded: K8sEvent = { ...event };
  if ('reason' in event) bounded.reason = cutOptional(event.reason, MAX_REASON_CHARS);
  if ('type' in event) bounded.type = cutOptional(event.type, MAX_REASON_CHARS);
  if ('message' in event) bounded.message = boundMessage(event.message);
  if ('note' in event) bounded.note = boundMessage(event.note);
  if ('count' in event) bounded.count = clampCount(event.count);
  if ('deprecatedCount' in event) bounded.deprecatedCount = clampCount(event.deprecatedCount);
  if ('involvedObject' in event) bounded.involvedObject = boundRef(event.involvedObject);
  if ('regarding' in event) bounded.regarding = boundRef(event.regarding);
  if ('source' in event)
    bounded.source = event.source && { ...event.source, host: cutOptional(event.source.host, MAX_NAME_CHARS) };
  if ('deprecatedSource' in event)
    bounded.deprecatedSource = event.deprecatedSource && {
      ...event.deprecatedSource,
      host: cutOptional(event.deprecatedSource.host, MAX_NAME_CHARS),
    };
  if ('reportingInstance' in event) bounded.reportingInstance = cutOptional(event.reportingInstance, MAX_NAME_CHARS);
  if ('series' in event) bounded.series = event.series && { ...event.series, count: clampCount(event.series.count) };
  return { ok: true, event: bounded, normalized: normalizeEvent(bounded), messageTruncated };
}

/** A Pod status report within the limits, as boundEvent: names refused, the rest cut. */
export function boundPodWaiting(w: PodWaiting): BoundedPodWaiting {
  const over = overLimit([
    ['pod', w.pod, MAX_NAME_CHARS, 'a Kubernetes object name'],
    ['namespace', w.namespace, MAX_NAMESPACE_CHARS, 'a Kubernetes namespace'],
    ['podUid', w.podUid, MAX_NAME_CHARS, 'an object uid'],
    ['container', w.container, MAX_NAMESPACE_CHARS, 'a container name'],
  ]);
  if (over) return { ok: false, reason: over };
  const messageTruncated = (w.message?.length ?? 0) > MAX_MESSAGE_CHARS;
  return {
    ok: true,
    podWaiting: {
      ...w,
      node: cutOptional(w.node, MAX_NAME_CHARS),
      image: cut(w.image, MAX_IMAGE_CHARS),
      imagePullPolicy: cutOptional(w.imagePullPolicy, MAX_REASON_CHARS),
      reason: cut(w.reason, MAX_REASON_CHARS),
      message: boundMessage(w.message),
    },
    messageTruncated,
  };
}

/** What the collector adds from the Pod's spec, cut (it names no object: nothing to refuse). */
export function boundPodContext(pod: PodContext): PodContext {
  return {
    ...pod,
    image: cutOptional(pod.image, MAX_IMAGE_CHARS),
    imagePullPolicy: cutOptional(pod.imagePullPolicy, MAX_REASON_CHARS),
    node: cutOptional(pod.node, MAX_NAME_CHARS),
  };
}
