export {
  K8sEventSchema,
  normalizeEvent,
  containerOf,
  isImageEvent,
  IMAGE_REASONS,
  RECOVERY_REASONS,
  type K8sEvent,
  type NormalizedEvent,
} from './k8s-event.ts';
export {
  EnvelopeSchema,
  PodWaitingSchema,
  PodContextSchema,
  IdentitySchema,
  ENVELOPE_SCHEMA,
  DEFAULT_TOPIC,
  DEFAULT_DEAD_LETTER_TOPIC,
  SOURCES,
  PULL_WAITING_REASONS,
  partitionKey,
  type Envelope,
  type EventEnvelope,
  type PodWaitingEnvelope,
  type PodWaiting,
  type PodContext,
  type Identity,
  type Source,
} from './envelope.ts';
export { eventEnvelope, podWaitingEnvelope, trimEvent, type PodExtras } from './build.ts';
export {
  boundEvent,
  boundPodWaiting,
  boundPodContext,
  truncate,
  redactTokenIds,
  REDACTED_TOKEN_ID,
  MAX_NAME_CHARS,
  MAX_NAMESPACE_CHARS,
  MAX_FIELD_PATH_CHARS,
  MAX_IMAGE_CHARS,
  MAX_MESSAGE_CHARS,
  MAX_REASON_CHARS,
  MAX_EVENT_COUNT,
  type BoundedEvent,
  type BoundedPodWaiting,
} from './bounds.ts';
export {
  WorkloadSchema,
  WORKLOAD_KINDS,
  AMBIGUOUS_KIND,
  KUBE_NAME_ALPHABET,
  inferWorkloadFromPodName,
  workloadFromOwners,
  type Workload,
  type PodOwnership,
} from './workload.ts';
export { kubeletBackoff } from './kubelet.ts';
export { safeParseEnvelope, safeParseK8sEvent, type SafeParse } from './validate.ts';
