import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createLogger, createMetricsRegistry, extractTraceContext, injectTraceHeaders, startTracing } from './index.ts';

describe('createLogger', () => {
  it('has the level it was given, and the service as a base field', () => {
    const log = createLogger('analyzer', 'warn');
    expect(log.level).toBe('warn');
    expect(log.isLevelEnabled('warn')).toBe(true);
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.bindings()).toEqual({ name: 'analyzer', service: 'analyzer' });
    expect(createLogger('x').level).toBe('info');
  });
});

describe('createMetricsRegistry', () => {
  it('gives each service its own registry, labelled with the service, with the default metrics prefixed', async () => {
    const a = createMetricsRegistry('collector');
    const b = createMetricsRegistry('analyzer');
    expect(a).not.toBe(b);
    const text = await a.metrics();
    expect(text).toMatch(/^pullwatch_process_cpu_user_seconds_total\{service="collector"\} \d/m);
    expect(text).not.toContain('service="analyzer"');
    expect((await b.getMetricsAsJSON()).every((m) => m.name.startsWith('pullwatch_'))).toBe(true);
  });
});

describe('tracing', () => {
  it('makes spans without an exporter and carries their context through message headers', async () => {
    const tracing = startTracing({ serviceName: 'telemetry-test' });
    try {
      const span = tracing.tracer.startSpan('produce');
      const { traceId, spanId } = span.spanContext();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      const headers = injectTraceHeaders(trace.setSpan(context.active(), span));
      expect(headers).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
      span.end();

      // Kafka header values arrive as Buffers (or arrays of them).
      for (const carried of [
        { traceparent: Buffer.from(headers.traceparent!) },
        { traceparent: [Buffer.from(headers.traceparent!)] },
        { traceparent: headers.traceparent! },
      ]) {
        const remote = trace.getSpanContext(extractTraceContext(carried));
        expect(remote).toMatchObject({ traceId, spanId, isRemote: true });
      }
      expect(trace.getSpanContext(extractTraceContext(undefined))).toBeUndefined();
    } finally {
      await tracing.shutdown();
    }
  });
});
