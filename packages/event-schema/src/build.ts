import {
  ENVELOPE_SCHEMA,
  partitionKey,
  type EventEnvelope,
  type PodContext,
  type PodWaiting,
  type PodWaitingEnvelope,
  type Source,
} from './envelope.ts';
import { boundPodContext } from './bounds.ts';
import { normalizeEvent, type K8sEvent, type NormalizedEvent } from './k8s-event.ts';
import type { Workload } from './workload.ts';

/** What a collector may add about the Pod, each only when known (absent fields keep old envelopes unchanged). */
export interface PodExtras {
  /** null: the Pod is known to have no controlling workload; absent: not known. */
  workload?: Workload | null;
  team?: string | null;
}

const extras = (a: PodExtras) => ({
  // null is sent: the Pod is known and has no controller (nothing to infer); undefined is left out.
  ...(a.workload !== undefined ? { workload: a.workload } : {}),
  ...(a.team ? { team: a.team } : {}),
});

/** Drops what downstream never reads and is often most of an object's size. */
export function trimEvent(event: K8sEvent): K8sEvent {
  const {
    managedFields: _m,
    annotations: _a,
    ...metadata
  } = event.metadata as K8sEvent['metadata'] & { managedFields?: unknown; annotations?: unknown };
  return { ...event, metadata };
}

export function eventEnvelope(
  args: PodExtras & {
    cluster: string;
    watchType?: 'ADDED' | 'MODIFIED';
    source: Source;
    event: K8sEvent;
    pod?: PodContext | null;
    receivedAt?: Date;
    normalized?: NormalizedEvent;
    /** From boundEvent: the message was cut. */
    messageTruncated?: boolean;
  },
): { key: string; envelope: EventEnvelope } {
  const n = args.normalized ?? normalizeEvent(args.event);
  const envelope: EventEnvelope = {
    schema: ENVELOPE_SCHEMA,
    kind: 'event',
    cluster: args.cluster,
    source: args.source,
    receivedAt: (args.receivedAt ?? new Date()).toISOString(),
    identity: {
      uid: n.uid,
      count: n.count,
      resourceVersion: n.resourceVersion,
      key: `${args.cluster}/${n.uid}/${n.count}`,
    },
    event: trimEvent(args.event),
    ...(args.pod ? { pod: boundPodContext(args.pod) } : {}),
    ...extras(args),
    ...(args.watchType ? { watchType: args.watchType } : {}),
    ...(args.messageTruncated ? { messageTruncated: true } : {}),
  };
  return { key: partitionKey(args.cluster, n.object.namespace, n.object.name), envelope };
}

export function podWaitingEnvelope(
  args: PodExtras & {
    cluster: string;
    source: Source;
    podWaiting: PodWaiting;
    receivedAt?: Date;
    /** From boundPodWaiting: the message was cut. */
    messageTruncated?: boolean;
  },
): { key: string; envelope: PodWaitingEnvelope } {
  const w = args.podWaiting;
  // One observation per Pod, container and waiting reason+message: seeing the same state again adds nothing.
  const stateKey = `${w.podUid}/${w.container}/${w.reason}`;
  return {
    key: partitionKey(args.cluster, w.namespace, w.pod),
    envelope: {
      schema: ENVELOPE_SCHEMA,
      kind: 'pod-waiting',
      cluster: args.cluster,
      source: args.source,
      receivedAt: (args.receivedAt ?? new Date()).toISOString(),
      identity: {
        uid: stateKey,
        count: 0,
        resourceVersion: null,
        key: `${args.cluster}/${stateKey}/${w.message ?? ''}`,
      },
      podWaiting: w,
      ...extras(args),
      ...(args.messageTruncated ? { messageTruncated: true } : {}),
    },
  };
}
