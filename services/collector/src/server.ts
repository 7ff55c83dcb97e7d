import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { eventEnvelope, isImageEvent, normalizeEvent, type Source } from '@pullwatch/event-schema';
import { KafkaAuthorizationError, KafkaMessageTooLargeError, KafkaPermanentError } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { CollectorConfig } from './config.ts';
import { BodyError, parseEventsBody, type ParsedEvent } from './ingest/parse-body.ts';
import { otlpLogRecords } from './ingest/otlp-logs.ts';
import { decodeOtlpLogsProtobuf, EMPTY_LOGS_RESPONSE } from './ingest/otlp-protobuf.ts';
import { BackPressureError, type EnvelopeProducer, type Outgoing } from './producer.ts';

export interface IngestStats {
  received: number;
  forwarded: number;
  filtered: number;
  rejected: number;
}

const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function sendError(res: Response, status: number, code: string, message: string, retryAfter?: number): void {
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  res.status(status).json({ error: { code, message } });
}

export function createIngestApp(
  cfg: CollectorConfig,
  deps: { producer: EnvelopeProducer; logger: Logger; metrics: Registry },
) {
  const stats: IngestStats = { received: 0, forwarded: 0, filtered: 0, rejected: 0 };
  const events = new Counter({
    name: 'pullwatch_collector_events_total',
    help: 'Events by outcome',
    labelNames: ['source', 'cluster', 'outcome'],
    registers: [deps.metrics],
  });
  const requests = new Counter({
    name: 'pullwatch_collector_requests_total',
    help: 'Ingest requests by route and status',
    labelNames: ['route', 'status'],
    registers: [deps.metrics],
  });
  new Gauge({
    name: 'pullwatch_collector_buffered_events',
    help: 'Events accepted and waiting for Kafka',
    registers: [deps.metrics],
    collect() {
      this.set(deps.producer.pending);
    },
  });

  const tracer = trace.getTracer('pullwatch-collector');

  /** Filters, wraps and produces one request's events, all or nothing, in a span whose context rides in the Kafka headers. */
  const forward = (items: { cluster: string; parsed: ParsedEvent }[], source: Source) =>
    tracer.startActiveSpan(
      'collector.forward',
      { attributes: { 'pullwatch.source': source, 'pullwatch.events': items.length } },
      async (span) => {
        try {
          return await forwardInSpan(items, source);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
          throw err;
        } finally {
          span.end();
        }
      },
    );

  const forwardInSpan = async (items: { cluster: string; parsed: ParsedEvent }[], source: Source) => {
    const out: Outgoing[] = [];
    // Counted per cluster and request, not per event: a labelled counter update costs more than the rest of the filter.
    const forwarded = new Map<string, number>();
    const filtered = new Map<string, number>();
    for (const { cluster, parsed } of items) {
      const normalized = normalizeEvent(parsed.event);
      if (!cfg.allEvents && !isImageEvent(normalized)) {
        filtered.set(cluster, (filtered.get(cluster) ?? 0) + 1);
        continue;
      }
      out.push(eventEnvelope({ cluster, source, event: parsed.event, normalized }));
      forwarded.set(cluster, (forwarded.get(cluster) ?? 0) + 1);
    }
    await deps.producer.send(out);
    for (const [cluster, n] of filtered) events.inc({ source, cluster, outcome: 'filtered' }, n);
    for (const [cluster, n] of forwarded) events.inc({ source, cluster, outcome: 'forwarded' }, n);
    stats.forwarded += out.length;
    stats.filtered += items.length - out.length;
    return { accepted: out.length, filtered: items.length - out.length };
  };

  const app = express();
  app.disable('x-powered-by');
  const body = express.text({ type: () => true, limit: cfg.maxBodyBytes });

  app.post('/v1/k8s-events', body, async (req: Request, res: Response) => {
    const cluster = typeof req.query.cluster === 'string' ? req.query.cluster : '';
    if (!CLUSTER.test(cluster)) {
      requests.inc({ route: 'k8s-events', status: 400 });
      return sendError(
        res,
        400,
        'bad_parameter',
        'cluster: required, letters, digits, ".", "_" or "-" (e.g. ?cluster=prod-eu-1)',
      );
    }
    const source: Source =
      req.query.source === 'replay' ? 'replay' : req.query.source === 'simulator' ? 'simulator' : 'http';
    try {
      const parsed = parseEventsBody(typeof req.body === 'string' ? req.body : '');
      stats.received += parsed.length;
      const result = await forward(
        parsed.map((p) => ({ cluster, parsed: p })),
        source,
      );
      requests.inc({ route: 'k8s-events', status: 200 });
      res.status(200).json({ accepted: result.accepted, filtered: result.filtered, received: parsed.length });
    } catch (err) {
      handleError(err, res, 'k8s-events');
    }
  });

  const rawBody = express.raw({ type: () => true, limit: cfg.maxBodyBytes });
  app.post('/v1/logs', rawBody, async (req: Request, res: Response) => {
    const protobufBody = String(req.headers['content-type'] ?? '').includes('protobuf');
    try {
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let request: unknown;
      if (protobufBody) {
        request = decodeOtlpLogsProtobuf(bytes);
      } else {
        try {
          request = JSON.parse(bytes.toString('utf8'));
        } catch (err) {
          throw new BodyError(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
        }
      }
      const fallback =
        typeof req.query.cluster === 'string' && CLUSTER.test(req.query.cluster) ? req.query.cluster : null;
      const items: { cluster: string; parsed: ParsedEvent }[] = [];
      for (const rec of otlpLogRecords(request)) {
        const cluster = rec.cluster ?? fallback;
        if (!cluster || !CLUSTER.test(cluster))
          throw new BodyError(`${rec.where}: no k8s.cluster.name resource attribute and no ?cluster=`);
        for (const parsed of parseEventsBody(JSON.stringify(rec.body)))
          items.push({ cluster, parsed: { ...parsed, where: rec.where } });
      }
      stats.received += items.length;
      await forward(items, 'otlp');
      requests.inc({ route: 'logs', status: 200 });
      // OTLP/HTTP: an empty ExportLogsServiceResponse, in the request's encoding, means all accepted.
      if (protobufBody) res.status(200).type('application/x-protobuf').send(EMPTY_LOGS_RESPONSE);
      else res.status(200).json({});
    } catch (err) {
      handleError(err, res, 'logs');
    }
  });

  app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) =>
    deps.producer.ready
      ? res.json({ status: 'ready' })
      : sendError(res, 503, 'not_ready', 'not connected to Kafka yet'),
  );
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.contentType);
    res.send(await deps.metrics.metrics());
  });
  app.use((_req: Request, res: Response) =>
    sendError(res, 404, 'not_found', 'no such route; ingest is POST /v1/k8s-events?cluster=NAME or POST /v1/logs'),
  );
  // Body-parser errors (too large, bad encoding) arrive here.
  app.use(
    (err: { status?: number; type?: string; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
      stats.rejected += 1;
      if (err.status === 413)
        return sendError(res, 413, 'payload_too_large', `request body over the limit of ${cfg.maxBodyBytes} bytes`);
      if (err.status && err.status < 500)
        return sendError(res, err.status, 'bad_request', err.message ?? 'bad request');
      deps.logger.error({ err }, 'ingest failed');
      return sendError(res, 500, 'internal', 'internal error');
    },
  );

  function handleError(err: unknown, res: Response, route: string) {
    if (err instanceof BodyError) {
      stats.rejected += 1;
      requests.inc({ route, status: 400 });
      return sendError(res, 400, 'bad_request', `${err.message}; nothing of this request was accepted`);
    }
    if (err instanceof BackPressureError) {
      requests.inc({ route, status: 503 });
      deps.logger.warn({ err: err.message }, 'pushing back on ingest');
      return sendError(
        res,
        503,
        'unavailable',
        `${err.message}; nothing of this request was accepted, retry later`,
        err.retryAfterSeconds,
      );
    }
    // Permanent Kafka failures: retrying the same request cannot succeed, so no 503 and no Retry-After.
    if (err instanceof KafkaMessageTooLargeError) {
      stats.rejected += 1;
      requests.inc({ route, status: 413 });
      return sendError(
        res,
        413,
        'event_too_large',
        `Kafka refused the events as too large (${err.reason}); nothing of this request was accepted, send fewer or smaller events`,
      );
    }
    if (err instanceof KafkaPermanentError) {
      requests.inc({ route, status: 500 });
      deps.logger.error({ err: err.message, reason: err.reason }, 'Kafka refused the events permanently');
      return sendError(
        res,
        500,
        err instanceof KafkaAuthorizationError ? 'kafka_not_authorized' : 'kafka_rejected',
        `Kafka refused the events (${err.reason}); the collector's Kafka settings need fixing, retrying will not help`,
      );
    }
    requests.inc({ route, status: 500 });
    deps.logger.error({ err }, 'ingest failed');
    return sendError(res, 500, 'internal', 'internal error');
  }

  return { app, stats };
}
