export { createLogger, type Logger } from './logger.ts';
export { createMetricsRegistry } from './metrics.ts';
export { startTracing, injectTraceHeaders, extractTraceContext, type Tracing, type TracingConfig } from './tracing.ts';
