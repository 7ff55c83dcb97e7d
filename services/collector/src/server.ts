import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { boundEvent, eventEnvelope, isImageEvent, type Source } from '@pullwatch/event-schema';
import { bearerTokens } from '@pullwatch/http-listener';
import { KafkaAuthorizationError, KafkaMessageTooLargeError, KafkaPermanentError } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { CollectorConfig, IngestAuth } from './config.ts';
import { type BodyLimits, checkJsonText, slicer, TooManyEventsError } from './ingest/limits.ts';
import { BodyError, eventsOfBody, parseEventsBody, type ParsedEvent } from './ingest/parse-body.ts';
import { otlpLogRecordsOf } from './ingest/otlp-logs.ts';
import {
  decodeOtlpLogsProtobufBounded,
  EMPTY_LOGS_RESPONSE,
  partialSuccessLogsResponse,
} from './ingest/otlp-protobuf.ts';
import { allows, type ClusterGrant } from './ingest/tokens.ts';
import { BackPressureError, encodeEnvelope, type Encoded, type EnvelopeProducer } from './producer.ts';

export interface IngestStats {
  received: number;
  forwarded: number;
  filtered: number;
  rejected: number;
  /**
   * Events refused one by one (a name, namespace or uid longer than Kubernetes allows): the rest of their
   * request was taken.
   */
  invalid: number;
  /** Requests refused before their body was read: no or an unknown token (401). */
  unauthorized: number;
  /** Requests whose token may not send for a cluster they name (403); nothing of them was produced. */
  forbidden: number;
}

const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const REALM = 'Bearer realm="pullwatch-ingest"';

/** No token, or one the collector does not know: 401 with a Bearer challenge. */
export class UnauthorizedError extends Error {
  constructor(
    message: string,
    readonly challenge: string,
  ) {
    super(message);
  }
}

/** A valid token sending for a cluster it is not bound to: 403. */
export class ForbiddenError extends Error {}

/** A bad query parameter: 400. */
class ParameterError extends Error {}

type Route = 'k8s-events' | 'logs';
type Item = { cluster: string; parsed: ParsedEvent };
type Slice = ReturnType<typeof slicer>;
interface Normalised {
  /** The envelopes to produce, already encoded: the objects they were made from are garbage by now. */
  out: Encoded[];
  received: number;
  /**
   * Per cluster: counted per cluster and request, not per event (a labelled counter update costs more than the filter).
   */
  forwarded: Map<string, number>;
  filtered: Map<string, number>;
  /** Events refused by the field limits (boundEvent), per cluster. */
  rejected: Map<string, number>;
  /** The first few refusals, `where: why`, for the response. */
  rejections: string[];
}

/** How many refusals a response names (it counts them all). */
const MAX_REJECTIONS_NAMED = 10;

function sendError(res: Response, status: number, code: string, message: string, retryAfter?: number): void {
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  res.status(status).json({ error: { code, message } });
}

/** Stage 1, authenticate: the clusters the presented token may send for, or an UnauthorizedError. */
function authenticator(auth: IngestAuth): (authorization: string | undefined) => ClusterGrant {
  if (auth.kind === 'none') return () => '*';
  if (auth.kind === 'closed')
    return () => {
      throw new UnauthorizedError(
        'the ingest is closed: this collector has no ingest token configured (PULLWATCH_INGEST_TOKEN or ' +
          'PULLWATCH_INGEST_TOKENS_FILE)',
        REALM,
      );
    };
  const match = bearerTokens(auth.tokens.map((t) => ({ token: t.token, grant: t.clusters })));
  return (authorization) => {
    const grant = match(authorization);
    if (grant !== undefined) return grant;
    if (!authorization)
      throw new UnauthorizedError('an "Authorization: Bearer <ingest token>" header is required', REALM);
    throw new UnauthorizedError('the bearer token is not a valid ingest token', `${REALM}, error="invalid_token"`);
  };
}

/** After authenticate, once the clusters are known: a ForbiddenError naming the first the token may not send for. */
function authorize(grant: ClusterGrant, clusters: Iterable<string>): void {
  for (const cluster of clusters)
    if (!allows(grant, cluster)) throw new ForbiddenError(`this token may not send events for cluster '${cluster}'`);
}

/**
 * Stage 2, parse (POST /v1/k8s-events): the body's Events, all of the cluster named in the query, each
 * validated as normalise takes it (so each Event's objects die young; a bad one still rejects the whole body).
 * The text is checked first (depth, number of events) in slices: nothing of a body past the limits is parsed.
 */
export async function parseK8sEvents(body: string, cluster: string, limits: BodyLimits, slice: Slice) {
  await checkJsonText(body, limits, 'k8s-events', slice);
  return (function* (): Generator<Item> {
    for (const parsed of eventsOfBody(body)) yield { cluster, parsed };
  })();
}

/**
 * Stage 2, parse (POST /v1/logs): OTLP logs, JSON or protobuf; each record's cluster from its resource, else
 * `?cluster=`. Depth and number of records are checked before anything is decoded.
 */
async function parseLogs(
  bytes: Buffer,
  protobuf: boolean,
  queryCluster: string | undefined,
  limits: BodyLimits,
  slice: Slice,
): Promise<Item[]> {
  let request: unknown;
  if (protobuf) request = await decodeOtlpLogsProtobufBounded(bytes, limits, slice);
  else {
    const text = bytes.toString('utf8');
    await checkJsonText(text, limits, 'otlp-logs', slice);
    try {
      request = JSON.parse(text);
    } catch (err) {
      throw new BodyError(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const fallback = queryCluster !== undefined && CLUSTER.test(queryCluster) ? queryCluster : null;
  const items: Item[] = [];
  for (const rec of otlpLogRecordsOf(request, limits)) {
    const cluster = rec.cluster ?? fallback;
    if (!cluster || !CLUSTER.test(cluster))
      throw new BodyError(`${rec.where}: no k8s.cluster.name resource attribute and no ?cluster=`);
    for (const parsed of parseEventsBody(JSON.stringify(rec.body)))
      items.push({ cluster, parsed: { ...parsed, where: rec.where } });
    if (slice.due()) await slice.yield();
  }
  return items;
}

/**
 * Stage 3, normalise: bounds each Event's fields (refusing it alone when a name is longer than Kubernetes
 * allows), drops what is not about images (unless allEvents) and wraps the rest into envelopes, encoded at
 * once: of each Event only its encoded envelope outlives this loop. In slices, so a request of thousands of
 * events leaves room for others and for /healthz.
 */
export async function normalise(
  items: Iterable<Item>,
  source: Source,
  allEvents: boolean,
  slice: Slice,
): Promise<Normalised> {
  const n: Normalised = {
    out: [],
    received: 0,
    forwarded: new Map(),
    filtered: new Map(),
    rejected: new Map(),
    rejections: [],
  };
  for (const { cluster, parsed } of items) {
    n.received += 1;
    if (slice.due()) await slice.yield();
    const bounded = boundEvent(parsed.event);
    if (!bounded.ok) {
      n.rejected.set(cluster, (n.rejected.get(cluster) ?? 0) + 1);
      if (n.rejections.length < MAX_REJECTIONS_NAMED) n.rejections.push(`${parsed.where}: ${bounded.reason}`);
      continue;
    }
    const { event, normalized, messageTruncated } = bounded;
    if (!allEvents && !isImageEvent(normalized)) {
      n.filtered.set(cluster, (n.filtered.get(cluster) ?? 0) + 1);
      continue;
    }
    const watchType = parsed.watchType === 'ADDED' || parsed.watchType === 'MODIFIED' ? parsed.watchType : undefined;
    n.out.push(encodeEnvelope(eventEnvelope({ cluster, source, event, normalized, watchType, messageTruncated })));
    n.forwarded.set(cluster, (n.forwarded.get(cluster) ?? 0) + 1);
  }
  return n;
}

/**
 * The ingest routes, each request going through the same named stages:
 * authenticate (the bearer token, before the body is read) → parse (the body into events, each with
 * its cluster, and the token's clusters checked) → normalise (filter and wrap into envelopes) →
 * produce (to Kafka, all or nothing) → respond. Typed errors from any stage decide the status code.
 */
/** The ingest's Prometheus metrics (the buffer gauges read the producer at scrape time). */
function ingestMetrics(registry: Registry, producer: EnvelopeProducer) {
  const events = new Counter({
    name: 'pullwatch_collector_events_total',
    help: 'Events by outcome',
    labelNames: ['source', 'cluster', 'outcome'],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'pullwatch_collector_requests_total',
    help: 'Ingest requests by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  new Gauge({
    name: 'pullwatch_collector_buffered_events',
    help: 'Events accepted and waiting for Kafka',
    registers: [registry],
    collect() {
      this.set(producer.pending);
    },
  });
  new Gauge({
    name: 'pullwatch_collector_buffered_bytes',
    help: 'Bytes of encoded envelopes accepted and waiting for Kafka',
    registers: [registry],
    collect() {
      this.set(producer.pendingBytes);
    },
  });
  new Counter({
    name: 'pullwatch_collector_buffer_waits_total',
    help: 'Requests that waited for room in the buffer, by outcome: admitted, or pushed back (503) after the wait',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'admitted' }, producer.admissions.waited);
      this.inc({ outcome: 'pushed_back' }, producer.admissions.timedOut);
    },
  });
  return { events, requests };
}

type IngestMetrics = ReturnType<typeof ingestMetrics>;

/** What the stages of one ingest app share. */
interface IngestContext {
  cfg: CollectorConfig;
  producer: EnvelopeProducer;
  logger: Logger;
  stats: IngestStats;
  metrics: IngestMetrics;
  limits: BodyLimits;
}

/** Stage 5 for failures: the error's type decides the status. */
function answerError(ctx: IngestContext, err: unknown, res: Response, route: Route) {
  const { stats, logger } = ctx;
  const { requests } = ctx.metrics;
  if (err instanceof UnauthorizedError) {
    stats.unauthorized += 1;
    requests.inc({ route, status: 401 });
    res.setHeader('WWW-Authenticate', err.challenge);
    return sendError(res, 401, 'unauthorized', err.message);
  }
  if (err instanceof ForbiddenError) {
    stats.forbidden += 1;
    requests.inc({ route, status: 403 });
    return sendError(res, 403, 'forbidden', `${err.message}; nothing of this request was accepted`);
  }
  if (err instanceof ParameterError) {
    requests.inc({ route, status: 400 });
    return sendError(res, 400, 'bad_parameter', err.message);
  }
  if (err instanceof TooManyEventsError) {
    stats.rejected += 1;
    requests.inc({ route, status: 413 });
    return sendError(res, 413, 'too_many_events', `${err.message}; nothing of this request was accepted`);
  }
  if (err instanceof BodyError) {
    stats.rejected += 1;
    requests.inc({ route, status: 400 });
    return sendError(res, 400, 'bad_request', `${err.message}; nothing of this request was accepted`);
  }
  if (err instanceof BackPressureError) {
    requests.inc({ route, status: 503 });
    logger.warn({ err: err.message }, 'pushing back on ingest');
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
      `Kafka refused the events as too large (${err.reason}); nothing of this request was accepted, send ` +
        `fewer or smaller events`,
    );
  }
  if (err instanceof KafkaPermanentError) {
    requests.inc({ route, status: 500 });
    logger.error({ err: err.message, reason: err.reason }, 'Kafka refused the events permanently');
    return sendError(
      res,
      500,
      err instanceof KafkaAuthorizationError ? 'kafka_not_authorized' : 'kafka_rejected',
      `Kafka refused the events (${err.reason}); the collector's Kafka settings need fixing, retrying will not help`,
    );
  }
  requests.inc({ route, status: 500 });
  logger.error({ err }, 'ingest failed');
  return sendError(res, 500, 'internal', 'internal error');
}

/** Stage 4: produce, all or nothing, in a span whose context rides in the Kafka headers. */
function forwarder(ctx: IngestContext) {
  const { stats, logger, producer } = ctx;
  const { events } = ctx.metrics;
  const tracer = trace.getTracer('pullwatch-collector');
  const produce = async (n: Normalised, source: Source) => {
    await producer.send(n.out);
    for (const [cluster, k] of n.filtered) events.inc({ source, cluster, outcome: 'filtered' }, k);
    for (const [cluster, k] of n.forwarded) events.inc({ source, cluster, outcome: 'forwarded' }, k);
    let rejected = 0;
    for (const [cluster, k] of n.rejected) {
      events.inc({ source, cluster, outcome: 'rejected' }, k);
      rejected += k;
    }
    const filtered = n.received - n.out.length - rejected;
    stats.forwarded += n.out.length;
    stats.filtered += filtered;
    stats.invalid += rejected;
    if (rejected > 0)
      logger.warn({ source, rejected, first: n.rejections[0] }, 'ingest: refused events over the field limits');
    // `rejected` and what it was are added only when there were any (the documented answer stays as it was).
    return {
      accepted: n.out.length,
      filtered,
      received: n.received,
      ...(rejected > 0 ? { rejected, rejections: n.rejections } : {}),
    };
  };
  return (n: Normalised, source: Source) =>
    tracer.startActiveSpan(
      'collector.forward',
      { attributes: { 'pullwatch.source': source, 'pullwatch.events': n.received } },
      async (span) => {
        try {
          return await produce(n, source);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
          throw err;
        } finally {
          span.end();
        }
      },
    );
}

type Forward = ReturnType<typeof forwarder>;

/** Ingest requests being read or processed: past the cap a request is answered 429 before its body is read. */
function inFlightGate(ctx: IngestContext) {
  let inFlight = 0;
  return (route: Route) => (_req: Request, res: Response, next: NextFunction) => {
    if (inFlight >= ctx.cfg.maxRequestsInFlight) {
      ctx.metrics.requests.inc({ route, status: 429 });
      return sendError(
        res,
        429,
        'too_many_requests',
        `${ctx.cfg.maxRequestsInFlight} ingest requests are being processed (PULLWATCH_MAX_REQUESTS_IN_FLIGHT); ` +
          'nothing of this request was accepted, retry later',
        1,
      );
    }
    inFlight += 1;
    // 'close' comes once per response, answered or aborted.
    res.once('close', () => {
      inFlight -= 1;
    });
    next();
  };
}

/** POST /v1/k8s-events, after its gates: parse, normalise, forward. */
function k8sEventsHandler(ctx: IngestContext, forward: Forward) {
  return async (req: Request, res: Response) => {
    const cluster = res.locals.cluster as string;
    const source: Source =
      req.query.source === 'replay' ? 'replay' : req.query.source === 'simulator' ? 'simulator' : 'http';
    try {
      const slice = slicer();
      const n = await normalise(
        await parseK8sEvents(typeof req.body === 'string' ? req.body : '', cluster, ctx.limits, slice),
        source,
        ctx.cfg.allEvents,
        slice,
      );
      // The text is parsed and encoded: not kept while Kafka acknowledges.
      req.body = undefined;
      ctx.stats.received += n.received;
      const result = await forward(n, source);
      ctx.metrics.requests.inc({ route: 'k8s-events', status: 200 });
      res.status(200).json(result);
    } catch (err) {
      answerError(ctx, err, res, 'k8s-events');
    }
  };
}

/** POST /v1/logs (OTLP/HTTP, JSON or protobuf), after its gates: each record's cluster is checked against the token. */
function logsHandler(ctx: IngestContext, forward: Forward) {
  return async (req: Request, res: Response) => {
    const protobufBody = String(req.headers['content-type'] ?? '').includes('protobuf');
    try {
      const slice = slicer();
      const items = await parseLogs(
        Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        protobufBody,
        typeof req.query.cluster === 'string' ? req.query.cluster : undefined,
        ctx.limits,
        slice,
      );
      authorize(res.locals.grant as ClusterGrant, new Set(items.map((i) => i.cluster)));
      const n = await normalise(items, 'otlp', ctx.cfg.allEvents, slice);
      req.body = undefined;
      ctx.stats.received += n.received;
      const result = await forward(n, 'otlp');
      ctx.metrics.requests.inc({ route: 'logs', status: 200 });
      // OTLP/HTTP: an empty ExportLogsServiceResponse, in the request's encoding, means all accepted; records
      // refused by the field limits are a partial success (not retried by the exporter).
      const rejected = result.rejected ?? 0;
      const errorMessage = `${rejected} log records refused: ${result.rejections?.join('; ') ?? ''}`;
      if (protobufBody)
        res
          .status(200)
          .type('application/x-protobuf')
          .send(rejected > 0 ? partialSuccessLogsResponse(rejected, errorMessage) : EMPTY_LOGS_RESPONSE);
      else
        res
          .status(200)
          .json(rejected > 0 ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage } } : {});
    } catch (err) {
      answerError(ctx, err, res, 'logs');
    }
  };
}

/**
 * The ingest app: stage 1 authenticates (before the body is read), then the cluster and in-flight gates,
 * the body parser within its limit, and the route's handler (parse → normalise → forward); health,
 * readiness and metrics need no token.
 */
export function createIngestApp(
  cfg: CollectorConfig,
  deps: { producer: EnvelopeProducer; logger: Logger; metrics: Registry },
) {
  const stats: IngestStats = {
    received: 0,
    forwarded: 0,
    filtered: 0,
    rejected: 0,
    invalid: 0,
    unauthorized: 0,
    forbidden: 0,
  };
  const ctx: IngestContext = {
    cfg,
    producer: deps.producer,
    logger: deps.logger,
    stats,
    metrics: ingestMetrics(deps.metrics, deps.producer),
    limits: { maxEvents: cfg.maxEventsPerRequest, maxDepth: cfg.maxJsonDepth },
  };
  const forward = forwarder(ctx);
  const inFlightCap = inFlightGate(ctx);

  // Stage 1: authenticate, as express middleware: before the body is read; the grant is kept for later stages.
  const authenticate = authenticator(cfg.ingestAuth);
  const authStage = (route: Route) => (req: Request, res: Response, next: NextFunction) => {
    try {
      res.locals.grant = authenticate(req.headers.authorization);
      next();
    } catch (err) {
      answerError(ctx, err, res, route);
    }
  };
  // POST /v1/k8s-events?cluster=NAME: the cluster is known before the body, so it is checked first.
  const queryCluster = (route: Route) => (req: Request, res: Response, next: NextFunction) => {
    const cluster = typeof req.query.cluster === 'string' ? req.query.cluster : '';
    try {
      if (!CLUSTER.test(cluster))
        throw new ParameterError('cluster: required, letters, digits, ".", "_" or "-" (e.g. ?cluster=prod-eu-1)');
      authorize(res.locals.grant as ClusterGrant, [cluster]);
      res.locals.cluster = cluster;
      next();
    } catch (err) {
      answerError(ctx, err, res, route);
    }
  };

  const app = express();
  app.disable('x-powered-by');
  app.post(
    '/v1/k8s-events',
    authStage('k8s-events'),
    queryCluster('k8s-events'),
    inFlightCap('k8s-events'),
    express.text({ type: () => true, limit: cfg.maxBodyBytes }),
    k8sEventsHandler(ctx, forward),
  );
  app.post(
    '/v1/logs',
    authStage('logs'),
    inFlightCap('logs'),
    express.raw({ type: () => true, limit: cfg.maxBodyBytes }),
    logsHandler(ctx, forward),
  );

  // Health and metrics: no token (kubelet probes, Prometheus scrapes; see the README).
  app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) =>
    deps.producer.ready
      ? res.json({ status: 'ready' })
      : sendError(
          res,
          503,
          'not_ready',
          deps.producer.lastError ? `not connected to Kafka: ${deps.producer.lastError}` : 'not connected to Kafka yet',
        ),
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

  return { app, stats };
}
