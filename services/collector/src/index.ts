export { loadCollectorConfig, type CollectorConfig } from './config.ts';
export { createCollector, type Collector, type CollectorDeps } from './collector.ts';
export { parseEventsBody, BodyError, type ParsedEvent } from './ingest/parse-body.ts';
export { otlpLogRecords } from './ingest/otlp-logs.ts';
export type { IngestStats } from './server.ts';
