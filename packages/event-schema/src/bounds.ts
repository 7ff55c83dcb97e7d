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
 * (`messageTruncated`), the fieldPath, reason, type and kind cut, and counts clamped, and that copy
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
  const bounded: K8sEvent = {
    ...event,
    reason: cutOptional(event.reason, MAX_REASON_CHARS),
    type: cutOptional(event.type, MAX_REASON_CHARS),
    message: cutOptional(event.message, MAX_MESSAGE_CHARS),
    note: cutOptional(event.note, MAX_MESSAGE_CHARS),
    count: clampCount(event.count),
    deprecatedCount: clampCount(event.deprecatedCount),
    involvedObject: boundRef(event.involvedObject),
    regarding: boundRef(event.regarding),
    source: event.source && { ...event.source, host: cutOptional(event.source.host, MAX_NAME_CHARS) },
    deprecatedSource: event.deprecatedSource && {
      ...event.deprecatedSource,
      host: cutOptional(event.deprecatedSource.host, MAX_NAME_CHARS),
    },
    reportingInstance: cutOptional(event.reportingInstance, MAX_NAME_CHARS),
    series: event.series && { ...event.series, count: clampCount(event.series.count) },
  };
  // Spreading keeps absent fields absent: drop the keys the bounds added as undefined.
  for (const key of Object.keys(bounded) as (keyof K8sEvent)[])
    if (bounded[key] === undefined && !(key in event)) delete bounded[key];
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
      message: cutOptional(w.message, MAX_MESSAGE_CHARS),
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
