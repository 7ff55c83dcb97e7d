export { loadCollectorConfig, type CollectorConfig } from './config.ts';
export { createCollector, type Collector, type CollectorDeps } from './collector.ts';
export { parseEventsBody, eventsOfBody, BodyError, type ParsedEvent } from './ingest/parse-body.ts';
export { otlpLogRecords } from './ingest/otlp-logs.ts';
export type { IngestStats } from './server.ts';
// The ingest's pure stages, one by one (bench/collector-steps.ts measures each).
export { checkJsonText } from './ingest/limits.ts';
export { parseK8sEvents, normalise } from './server.ts';
export { encodeEnvelope } from './producer.ts';
