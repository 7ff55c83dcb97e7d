import { z } from 'zod';
import { K8sEventSchema } from './k8s-event.ts';
import { WorkloadSchema } from './workload.ts';

export const ENVELOPE_SCHEMA = 'pullwatch.k8s/v1' as const;
export const DEFAULT_TOPIC = 'k8s.events.v1';
export const DEFAULT_DEAD_LETTER_TOPIC = 'k8s.events.dlq.v1';

export const SOURCES = ['watch', 'http', 'otlp', 'replay', 'simulator'] as const;
export type Source = (typeof SOURCES)[number];

/** Waiting reasons that mean a container's image could not be pulled. */
export const PULL_WAITING_REASONS = [
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
] as const;

/**
 * A container seen waiting on its image in Pod status: how a failure is still seen when its Events
 * were rate-limited by the API server or expired (Events live about an hour).
 */
export const PodWaitingSchema = z.object({
  namespace: z.string(),
  pod: z.string(),
  podUid: z.string(),
  node: z.string().nullable(),
  container: z.string(),
  image: z.string(),
  imagePullPolicy: z.string().nullable(),
  hasPullSecrets: z.boolean(),
  reason: z.string(),
  message: z.string().nullable(),
  observedAt: z.string(),
});
export type PodWaiting = z.infer<typeof PodWaitingSchema>;

/** What the collector knows of the Pod behind an Event (from its Pod watch), when it knows it. */
export const PodContextSchema = z.object({
  image: z.string().nullable(),
  imagePullPolicy: z.string().nullable(),
  hasPullSecrets: z.boolean().nullable(),
  node: z.string().nullable(),
});
export type PodContext = z.infer<typeof PodContextSchema>;

/**
 * The stable identity of one observation: the same object seen twice (a relist, a replayed file,
 * a redelivered message) has the same key, so downstream counts it once.
 */
export const IdentitySchema = z.object({
  uid: z.string(),
  count: z.number().int().nonnegative(),
  resourceVersion: z.string().nullable(),
  key: z.string(),
});
export type Identity = z.infer<typeof IdentitySchema>;

const base = {
  schema: z.literal(ENVELOPE_SCHEMA),
  cluster: z.string().min(1),
  source: z.enum(SOURCES),
  receivedAt: z.string(),
  identity: IdentitySchema,
  /**
   * The Pod's controlling workload, when the collector knows the Pod (its watch: from ownerReferences);
   * null when the Pod is known to have none (a bare Pod). Absent from Events-only ingest and older
   * collectors: the analyzer then infers it from the Pod's name.
   */
  workload: WorkloadSchema.nullable().optional(),
  /** The Pod's team (the collector's PULLWATCH_TEAM_LABEL on its Namespace); null or absent: unknown. */
  team: z.string().min(1).nullable().optional(),
  /**
   * For Events that came as watch events (OTLP k8sobjects receiver in watch mode, NDJSON watch output): ADDED or
   * MODIFIED.
   */
  watchType: z.enum(['ADDED', 'MODIFIED']).optional(),
  /**
   * True when the collector cut the message (an Event's message or note, a Pod status report's message) to
   * MAX_MESSAGE_CHARS; absent otherwise (and from older collectors).
   */
  messageTruncated: z.boolean().optional(),
};

export const EnvelopeSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('event'), event: K8sEventSchema, pod: PodContextSchema.nullable().optional() }),
  z.object({ ...base, kind: z.literal('pod-waiting'), podWaiting: PodWaitingSchema }),
]);
export type Envelope = z.infer<typeof EnvelopeSchema>;
export type EventEnvelope = Extract<Envelope, { kind: 'event' }>;
export type PodWaitingEnvelope = Extract<Envelope, { kind: 'pod-waiting' }>;

/** Kafka key: one Pod's messages share a partition, so they stay in order. */
export function partitionKey(cluster: string, namespace: string, podName: string): string {
  return `${cluster}/${namespace}/${podName}`;
}
