import { context, propagation, trace, type Context, type Tracer } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
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
 * Starts the OpenTelemetry SDK, exporting over OTLP/HTTP when an endpoint is configured. Without one
 * spans are still made (and their W3C trace context rides in Kafka headers) but nothing is exported.
 */
export function startTracing(cfg: TracingConfig): Tracing {
  if (!cfg.otlpEndpoint) {
    const provider = new NodeTracerProvider();
    provider.register();
    return { tracer: trace.getTracer(cfg.serviceName), shutdown: () => provider.shutdown() };
  }
  const sdk = new NodeSDK({
    serviceName: cfg.serviceName,
    traceExporter: new OTLPTraceExporter({ url: cfg.otlpEndpoint }),
    instrumentations: [],
  });
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
export function extractTraceContext(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Context {
  const carrier: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined) carrier[k] = value.toString();
  }
  return propagation.extract(context.active(), carrier);
}
