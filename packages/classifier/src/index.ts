export { classify } from './classify.ts';
export { ClassifyCache, type ClassifyCacheOptions } from './classify-cache.ts';
export {
  parseReference,
  formatReference,
  type ImageReference,
  type ParseReferenceResult,
  type ReferenceErrorReason,
} from './reference.ts';
export {
  messageKind,
  withoutAggregation,
  AGGREGATED_PREFIX,
  parsePulled,
  parseGoDuration,
  MESSAGE_KINDS,
  type MessageKind,
  type PulledImage,
} from './message-kind.ts';
export { providerOf } from './provider.ts';
export { RULES, type Rule } from './rules.ts';
export { RETRYABLE_CAUSES } from './remedy.ts';
export {
  CAUSES,
  CAUSE_TRAITS,
  QUOTA_COUNTED_CAUSES,
  QUOTA_UNCOUNTED_SUBCAUSES,
  isConcreteCause,
  isImageCause,
  SUBCAUSES,
  PROVIDERS,
  type Cause,
  type CauseTraits,
  type Subcause,
  type Provider,
  type Classification,
  type ClassifyInput,
} from './taxonomy.ts';
export {
  classifyLine,
  runClassifyStream,
  type ClassifyStreamOptions,
  type ClassifyStreamResult,
} from './jsonl-stream.ts';
