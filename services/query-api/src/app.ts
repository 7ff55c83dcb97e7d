import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { ClickHouseUnavailableError } from '@pullwatch/clickhouse';
import { dashboardCsp, dashboardRoutes } from '@pullwatch/dashboard';
import { bearerTokens } from '@pullwatch/http-listener';
import type { Logger } from '@pullwatch/telemetry';
import type { QueryApiConfig } from './config.ts';
import { routeClass } from './core/query-class.ts';
import { ClickHouseAccessError } from './limits/access.ts';
import { limitError, QueryLimitError, TooManyRequestsError } from './limits/errors.ts';
import { Isolation } from './limits/isolation.ts';
import { openApi } from './openapi.ts';
import { ParamError, parseQuery, window } from './params.ts';
import { ReportTooLargeError } from './reports/queries.ts';
import { CsvBody, type Route } from './route.ts';

/**
 * Sent with every answer: the dashboard's policy (its own script and stylesheet only, no inline code, no
 * framing), and no MIME sniffing or framing of the JSON either.
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy': dashboardCsp,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
};

type Requests = Counter<'route' | 'status'>;
type AnswerError = (err: unknown, res: Response, route: string) => void;

function fail(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

/**
 * The HTTP app: the shared middleware (security headers, bearer auth, per-class isolation, request
 * metrics, typed errors → status codes) around the route families (families.ts), plus the health,
 * metrics and OpenAPI endpoints and the dashboard's files.
 */
export function buildApp(
  cfg: QueryApiConfig,
  deps: {
    /** The route families' routes (families.ts). */
    routes: Route[];
    /** Whether ClickHouse answers (GET /readyz). */
    ping: () => Promise<boolean>;
    logger: Logger;
    metrics: Registry;
    now: () => Date;
    /** Per-class and per-token concurrency (limits/); one from cfg.limits when absent. */
    isolation?: Isolation;
  },
) {
  const isolation = deps.isolation ?? new Isolation(cfg.limits);
  const requests: Requests = new Counter({
    name: 'pullwatch_api_requests_total',
    help: 'API requests by route and status',
    labelNames: ['route', 'status'],
    registers: [deps.metrics],
  });
  const auth = bearerAuth(cfg.tokens, requests);
  const answerError = errorAnswers(cfg.limits.retryAfterSeconds, requests, deps.logger);

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    next();
  });
  serveOperations(app, deps);
  for (const r of deps.routes)
    app.get(
      r.path,
      auth(r.path),
      serveRoute(r, { isolation, now: deps.now, reportAfterMs: cfg.limits.reportAfterMs, requests, answerError }),
    );
  // Anything else under /v1 asks for a token too (as before: 401, not 404, without one).
  app.use('/v1', auth('unmatched'));
  for (const { path, dir } of dashboardRoutes) app.use(path, express.static(dir));
  app.use((req: Request, res: Response) => fail(res, 404, 'not_found', `no route ${req.method} ${req.path}`));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => answerError(err, res, 'unknown'));
  return app;
}

/** GET /healthz, /readyz, /metrics and /openapi.json: no token. */
function serveOperations(
  app: express.Express,
  deps: { routes: Route[]; ping: () => Promise<boolean>; metrics: Registry },
) {
  app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    try {
      return (await deps.ping())
        ? res.json({ status: 'ready' })
        : fail(res, 503, 'unavailable', 'ClickHouse did not answer');
    } catch (err) {
      if (err instanceof ClickHouseAccessError) return fail(res, 503, 'clickhouse_access', err.message);
      return fail(res, 503, 'unavailable', 'ClickHouse is unavailable');
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.contentType);
    res.send(await deps.metrics.metrics());
  });
  app.get('/openapi.json', (_req, res) => res.json(openApi(deps.routes)));
}

/**
 * Bearer auth; a refusal is counted under `route`, a route's template or `unmatched`, never the path
 * asked for: a label per path would let anyone grow /metrics without bound.
 */
function bearerAuth(tokens: readonly string[], requests: Requests) {
  // Constant-time comparison against every token (shared with the collector's ingest).
  const matchToken = bearerTokens(tokens.map((token) => ({ token, grant: true })));
  return (route: string) => (req: Request, res: Response, next: NextFunction) => {
    if (matchToken(req.headers.authorization) === true) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="pullwatch"');
    requests.inc({ route, status: 401 });
    return fail(res, 401, 'unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
  };
}

/** One route's handler: parameters parsed, the reads run in the request's class and token slot, the answer sent. */
function serveRoute(
  r: Route,
  deps: {
    isolation: Isolation;
    now: () => Date;
    reportAfterMs: number;
    requests: Requests;
    answerError: AnswerError;
  },
) {
  return async (req: Request, res: Response) => {
    try {
      const q = parseQuery(r.query, req.query);
      const now = deps.now();
      const token = createHash('sha256')
        .update(req.headers.authorization ?? '')
        .digest('hex');
      const body = await deps.isolation.run(routeClass(r.path, windowMs(q, now), deps.reportAfterMs), token, () =>
        r.handle(q as never, now, { accept: req.headers.accept }),
      );
      deps.requests.inc({ route: r.path, status: 200 });
      if (body instanceof CsvBody) {
        if (body.nextCursor) res.setHeader('X-Next-Cursor', body.nextCursor);
        res.type('text/csv; charset=utf-8').send(body.text);
      } else res.json(body);
    } catch (err) {
      deps.answerError(err, res, r.path);
    }
  };
}

/** A failed request's answer: the error's type decides the status code; only an unknown error is logged. */
function errorAnswers(retryAfterSeconds: number, requests: Requests, logger: Logger): AnswerError {
  return (err, res, route) => {
    if (err instanceof ParamError) {
      requests.inc({ route, status: 400 });
      return fail(res, 400, 'bad_parameter', err.message);
    }
    if (err instanceof ReportTooLargeError) {
      requests.inc({ route, status: 422 });
      return fail(res, 422, 'report_too_large', err.message);
    }
    if (err instanceof TooManyRequestsError) {
      requests.inc({ route, status: 429 });
      res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return fail(res, 429, 'too_many_requests', err.message);
    }
    const limited = err instanceof QueryLimitError ? err : limitError(err);
    if (limited) {
      requests.inc({ route, status: limited.status });
      if (limited.status === 503) res.setHeader('Retry-After', String(retryAfterSeconds));
      return fail(res, limited.status, limited.code, limited.message);
    }
    // The user's profile refuses the API's limits: a setup problem, named (limits/access.ts).
    if (err instanceof ClickHouseAccessError) {
      requests.inc({ route, status: 503 });
      return fail(res, 503, 'clickhouse_access', err.message);
    }
    // The class decides (packages/clickhouse/src/errors.ts): unavailable is 503, anything else 500.
    if (err instanceof ClickHouseUnavailableError) {
      requests.inc({ route, status: 503 });
      return fail(res, 503, 'unavailable', 'ClickHouse is unavailable; try again shortly');
    }
    requests.inc({ route, status: 500 });
    logger.error({ err, route }, 'query failed');
    return fail(res, 500, 'internal', 'the query failed; see the server log');
  };
}

/** The length of a request's window (for its class), or null when it has none or it is not valid. */
function windowMs(q: unknown, now: Date): number | null {
  try {
    const w = window(q as { from?: string; to?: string }, now, Number.POSITIVE_INFINITY);
    return w.to.getTime() - w.from.getTime();
  } catch {
    return null;
  }
}
