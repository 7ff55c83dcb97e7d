export {
  K8sEventSchema,
  normalizeEvent,
  containerOf,
  isImageEvent,
  IMAGE_REASONS,
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
export { eventEnvelope, podWaitingEnvelope, trimEvent } from './build.ts';
