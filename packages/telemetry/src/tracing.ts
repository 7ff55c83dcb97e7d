import { context, propagation, trace, type Context, type Tracer } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

export interface TracingConfig {
  serviceName: string;
  /** OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); tracing exports nothing without it. */
  otlpEndpoint?: string | undefined;
}

export interface Tracing {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK when an exporter endpoint is configured. Without one the API's no-op
 * tracer is used, but W3C trace context is still propagated through Kafka headers.
 */
export function startTracing(cfg: TracingConfig): Tracing {
  if (!cfg.otlpEndpoint) return { tracer: trace.getTracer(cfg.serviceName), shutdown: async () => {} };
  const sdk = new NodeSDK({ serviceName: cfg.serviceName, traceExporter: new OTLPTraceExporter({ url: cfg.otlpEndpoint }), instrumentations: [] });
  sdk.start();
  return { tracer: trace.getTracer(cfg.serviceName), shutdown: () => sdk.shutdown() };
}

/** Writes the active trace context into message headers (`traceparent`, `tracestate`). */
export function injectTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads a trace context from Kafka message headers (values may be Buffers). */
export function extractTraceContext(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Context {
  const carrier: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined) carrier[k] = value.toString();
  }
  return propagation.extract(context.active(), carrier);
}
