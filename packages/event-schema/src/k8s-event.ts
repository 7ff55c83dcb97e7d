import { z } from 'zod';

/**
 * The parts of a Kubernetes Event that pullwatch reads, in either API: core/v1 (`message`, `count`,
 * `firstTimestamp`/`lastTimestamp`, `involvedObject`, `source.host`) or events.k8s.io/v1 (`note`,
 * `series.count`, `eventTime`, `regarding`, `reportingInstance`). The API server keeps both in one store
 * and serves each Event in either shape: one written through events.k8s.io/v1 comes out of /api/v1 with
 * `message`, `involvedObject`, `series`, `reportingComponent` and an empty `source`. Unknown fields pass through.
 */
const ObjectRef = z
  .object({
    kind: z.string().optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    uid: z.string().optional(),
    fieldPath: z.string().optional(),
  })
  .loose();

const nullableTime = z.string().nullable().optional();

/** An Event names its object in one of these (core/v1, events.k8s.io/v1). */
export const K8S_EVENT_NEEDS_ONE_OF = ['involvedObject', 'regarding'] as const;

export const K8sEventSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.literal('Event').optional(),
    metadata: z
      .object({
        uid: z.string().optional(),
        name: z.string().optional(),
        namespace: z.string().optional(),
        resourceVersion: z.string().optional(),
        creationTimestamp: nullableTime,
      })
      .loose(),
    reason: z.string().optional(),
    type: z.string().optional(),
    // core/v1
    message: z.string().optional(),
    count: z.number().int().nonnegative().optional(),
    firstTimestamp: nullableTime,
    lastTimestamp: nullableTime,
    involvedObject: ObjectRef.optional(),
    source: z.object({ component: z.string().optional(), host: z.string().optional() }).loose().optional(),
    // shared / events.k8s.io/v1
    eventTime: nullableTime,
    series: z
      .object({ count: z.number().int().nonnegative().optional(), lastObservedTime: nullableTime })
      .loose()
      .nullable()
      .optional(),
    note: z.string().optional(),
    regarding: ObjectRef.optional(),
    reportingController: z.string().optional(),
    // core/v1's name for reportingController (what /api/v1 serves for an Event written through events.k8s.io/v1)
    reportingComponent: z.string().optional(),
    reportingInstance: z.string().optional(),
    deprecatedCount: z.number().int().nonnegative().optional(),
    deprecatedFirstTimestamp: nullableTime,
    deprecatedLastTimestamp: nullableTime,
    deprecatedSource: z.object({ component: z.string().optional(), host: z.string().optional() }).loose().optional(),
  })
  .loose()
  .refine((e) => K8S_EVENT_NEEDS_ONE_OF.some((key) => e[key] !== undefined), {
    message: 'an Event needs involvedObject (core/v1) or regarding (events.k8s.io/v1)',
  });

export type K8sEvent = z.infer<typeof K8sEventSchema>;

/** One Event in a single shape, whichever API it came from. */
export interface NormalizedEvent {
  uid: string;
  resourceVersion: string | null;
  namespace: string;
  object: { kind: string; name: string; namespace: string; uid: string | null; fieldPath: string | null };
  reason: string;
  type: string;
  message: string;
  /** Occurrences so far: `count`, `series.count` or `deprecatedCount`; 1 when the API gives none. */
  count: number;
  /** When the first of these occurrences happened (ISO 8601). */
  firstTime: string | null;
  /** When the latest occurrence happened: the time analytics use, never ingest time. */
  lastTime: string | null;
  node: string | null;
}

const CONTAINER_FIELD = /spec\.(?:initContainers|containers|ephemeralContainers)\{/g;

/**
 * The container name kubelet puts in `involvedObject.fieldPath` (`spec.containers{app}`): what
 * `/spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]+)\}/` captured, but found with one
 * scan: that pattern ran from every `spec.containers{` to the next `}` again (quadratic in a hostile
 * fieldPath that repeats it).
 */
export function containerOf(fieldPath: string | null | undefined): string | null {
  if (!fieldPath) return null;
  CONTAINER_FIELD.lastIndex = 0;
  for (let m = CONTAINER_FIELD.exec(fieldPath); m; m = CONTAINER_FIELD.exec(fieldPath)) {
    const open = CONTAINER_FIELD.lastIndex;
    const close = fieldPath.indexOf('}', open);
    if (close === -1) return null;
    if (close > open) return fieldPath.slice(open, close);
    CONTAINER_FIELD.lastIndex = close + 1;
  }
  return null;
}

export function normalizeEvent(e: K8sEvent): NormalizedEvent {
  const ref = e.involvedObject ?? e.regarding ?? {};
  const count = e.series?.count ?? e.count ?? e.deprecatedCount ?? 1;
  const lastTime =
    e.series?.lastObservedTime ??
    e.lastTimestamp ??
    e.deprecatedLastTimestamp ??
    e.eventTime ??
    e.metadata.creationTimestamp ??
    null;
  const firstTime = e.firstTimestamp ?? e.deprecatedFirstTimestamp ?? e.eventTime ?? lastTime;
  const namespace = e.metadata.namespace ?? ref.namespace ?? '';
  const uid = e.metadata.uid ?? `${namespace}/${e.metadata.name ?? ''}`;
  return {
    uid,
    resourceVersion: e.metadata.resourceVersion ?? null,
    namespace,
    object: {
      kind: ref.kind ?? '',
      name: ref.name ?? '',
      namespace: ref.namespace ?? namespace,
      uid: ref.uid ?? null,
      fieldPath: ref.fieldPath ?? null,
    },
    reason: e.reason ?? '',
    type: e.type ?? '',
    message: e.message ?? e.note ?? '',
    count: Math.max(1, count),
    firstTime: firstTime ?? null,
    lastTime,
    node:
      e.source?.host ??
      e.deprecatedSource?.host ??
      ((e.reportingController ?? e.reportingComponent) === 'kubelet' ? (e.reportingInstance ?? null) : null),
  };
}

/** Event reasons kubelet uses for image pulls (and the Pod waiting reasons of the same names). */
export const IMAGE_REASONS = new Set([
  'Pulling',
  'Pulled',
  'Failed',
  'BackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'InspectFailed',
]);

/**
 * Event reasons that end a pull failure without a pull: the container started (its image was already
 * there, or came from a pull whose Event expired). The analyzer recovers a failing Pod on them.
 */
export const RECOVERY_REASONS = new Set(['Started']);

/**
 * Whether an Event is about pulling an image, or about a container starting (how a failing Pod
 * recovers). `Failed` and `BackOff` are also used for crashing containers, so for those the message
 * decides.
 */
export function isImageEvent(e: Pick<NormalizedEvent, 'reason' | 'message'>): boolean {
  if (RECOVERY_REASONS.has(e.reason)) return true;
  if (!IMAGE_REASONS.has(e.reason)) return false;
  if (e.reason !== 'Failed' && e.reason !== 'BackOff') return true;
  const m = e.message;
  return (
    /image|ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull/i.test(m) &&
    !/Back-off restarting failed container/i.test(m)
  );
}
