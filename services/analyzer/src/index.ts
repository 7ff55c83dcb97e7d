export { loadAnalyzerConfig, type AnalyzerConfig } from './config.ts';
export { analyzerHttpHandler, startAnalyzerHttp } from './http.ts';
export { createAnalyzer, type Analyzer, type AnalyzerDeps, type AnalyzerStats } from './analyzer.ts';
export { processEnvelope, AnalyzerState, tagKind, backoffFor } from './core/process.ts';
export { formIncidents, type Incident, type FailureBucket } from './core/incidents.ts';
