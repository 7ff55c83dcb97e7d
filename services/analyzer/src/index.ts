export { loadAnalyzerConfig, type AnalyzerConfig } from './config.ts';
export { analyzerHttpHandler, startAnalyzerHttp } from './http.ts';
export { createAnalyzer, type Analyzer, type AnalyzerDeps } from './analyzer.ts';
export type { AnalyzerStats } from './metrics.ts';
export { processEnvelope, AnalyzerState, tagKind } from './core/process.ts';
export {
  POD_STATE_FORMAT,
  PULL_EVENT_FORMAT,
  RAW_EVENT_FORMAT,
  type PodStateRow,
  type PullEventRow,
  type RawEventRow,
} from './core/table-formats.ts';
export { AnalyzerStore } from './store.ts';
export { decodeMessage, processSlice } from './stages.ts';
export { formIncidents, type Incident, type FailureBucket } from './core/incidents.ts';
