import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { Counter, type Registry } from 'prom-client';
import { ClickHouseUnavailableError } from '@pullwatch/clickhouse';
import { dashboardCsp, dashboardRoutes } from '@pullwatch/dashboard';
import { bearerTokens } from '@pullwatch/http-listener';
import type { Logger } from '@pullwatch/telemetry';
import type { QueryApiConfig } from './config.ts';
import {
  AlertsQuery,
  FailuresQuery,
  HotspotsQuery,
  IncidentsQuery,
  parseQuery,
  ParamError,
  RegistriesQuery,
  RisksQuery,
  StuckQuery,
  TeamsQuery,
  TrendsQuery,
  window,
} from './params.ts';
import { bucketStart, type Queries } from './queries.ts';
import { NOW_LOOKBACK_MS } from './core/teams.ts';
import type { TeamResolver } from './teams/resolver.ts';
import type { Alerter } from './alerts/alerter.ts';
import type { DiagnosisQueries } from './diagnosis/queries.ts';
import { Diagnoser } from './diagnosis/diagnoser.ts';
import { DiagnosisFields, diagnosisRoutes, incidentsWithDiagnosis, withDiagnosis } from './diagnosis/routes.ts';
import { routeClass } from './core/query-class.ts';
import { DEFAULT_NEAR_SHARE } from './core/quota.ts';
import { ClickHouseAccessError } from './limits/access.ts';
import { limitError, QueryLimitError, TooManyRequestsError } from './limits/errors.ts';
import { Isolation } from './limits/isolation.ts';
import { type ReportQueries, ReportTooLargeError } from './reports/queries.ts';
import { CsvBody, reportRoutes } from './reports/routes.ts';

/** The Pod's workload and team on failure and stuck-Pod items (stored since migration 0006). */
const WorkloadTeamFields = {
  workload: z
    .object({
      kind: z
        .string()
        .describe(
          'Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, another controller, or "DaemonSet|Job" ' +
            'when a name cannot tell',
        ),
      name: z.string(),
      inferred: z.boolean().describe("true: read from the Pod's name, not its ownerReferences"),
    })
    .nullable()
    .describe('The controlling workload, or null when none is known'),
  team: z.string().nullable().describe("The team label of the Pod's Namespace, or null when unknown"),
};

const TeamsResponse = z.object({
  from: z.string(),
  to: z.string(),
  teams: z.array(
    z.object({
      team: z.string(),
      clusters: z.array(z.string()).describe("The clusters of the team's namespaces"),
      namespaces: z.number().int().describe('How many (cluster, namespace) pairs belong to the team'),
    }),
  ),
});

interface Route {
  path: string;
  summary: string;
  query: z.ZodObject;
  /** The answer's schema, for the OpenAPI document (an object when absent). */
  response?: z.ZodType;
  handle: (q: never, now: Date, req: { accept?: string | undefined }) => Promise<unknown>;
  /** Also answers text/csv (a CsvBody). */
  csv?: boolean;
}

/**
 * Sent with every answer: the dashboard's policy (its own script and stylesheet only, no inline code, no
 * framing), and no MIME sniffing or framing of the JSON either.
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy': dashboardCsp,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
};

function fail(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

export function buildApp(
  cfg: QueryApiConfig,
  deps: {
    queries: Queries;
    diagnosis: DiagnosisQueries;
    alerter: Alerter;
    logger: Logger;
    metrics: Registry;
    now: () => Date;
    /** The reporting routes' reads (issue 17); without them the routes are not served. */
    reports?: ReportQueries;
    /** Resolves `team` filters to (cluster, namespace) pairs, and lists teams (core/teams.ts). */
    teams: TeamResolver;
    /** Per-class and per-token concurrency (limits/); one from cfg.limits when absent. */
    isolation?: Isolation;
    /** How long "did you mean" reuses the fleet's pulls (diagnosis/diagnoser.ts); its default when absent. */
    fleetPullsTtlMs?: number;
  },
) {
  const { queries, diagnosis } = deps;
  /** A team filter's pairs for a read of window `w`; undefined without a filter. */
  const teamPairs = (team: string | undefined, w: { from: Date; to: Date }) =>
    team === undefined ? Promise.resolve(undefined) : deps.teams.pairs(team, w);
  const isolation = deps.isolation ?? new Isolation(cfg.limits);
  // One per API: its name indexes outlive a request, so "did you mean" searches once per fleet change.
  const diagnoser = new Diagnoser(
    diagnosis,
    undefined,
    undefined,
    deps.fleetPullsTtlMs,
    undefined,
    cfg.dockerHubEgress.proxyCaches,
  );
  // Constant-time comparison against every token (shared with the collector's ingest).
  const matchToken = bearerTokens(cfg.tokens.map((token) => ({ token, grant: true })));
  const authorized = (header: string | undefined) => matchToken(header) === true;
  const requests = new Counter({
    name: 'pullwatch_api_requests_total',
    help: 'API requests by route and status',
    labelNames: ['route', 'status'],
    registers: [deps.metrics],
  });

  const routes: Route[] = [
    {
      path: '/v1/registries',
      summary: 'Per-registry failures, successes and failure rate',
      query: RegistriesQuery,
      handle: async (q: z.infer<typeof RegistriesQuery>, now) => {
        const w = window(q, now, cfg.maxRangeDays);
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          registries: await queries.registries({ ...q, ...w, teamPairs: await teamPairs(q.team, w) }),
        };
      },
    },
    {
      path: '/v1/hotspots/rate-limit',
      summary: 'Rate-limited failures by registry and cluster (groupBy=node adds the node)',
      query: HotspotsQuery,
      handle: async (q: z.infer<typeof HotspotsQuery>, now) => {
        const w = window(q, now, cfg.maxRangeDays);
        const hotspots = await queries.hotspots({ ...q, ...w, teamPairs: await teamPairs(q.team, w) });
        return { from: w.from.toISOString(), to: w.to.toISOString(), hotspots };
      },
    },
    {
      path: '/v1/incidents',
      summary: 'Incidents across clusters',
      query: IncidentsQuery,
      response: z.object({ from: z.string(), to: z.string(), incidents: z.array(DiagnosisFields.loose()) }),
      handle: async (q: z.infer<typeof IncidentsQuery>, now) => {
        const w = window(q, now, cfg.maxRangeDays);
        const incidents = await queries.incidents({ ...q, ...w, teamPairs: await teamPairs(q.team, w) });
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          incidents: await incidentsWithDiagnosis(diagnoser, incidents, now),
        };
      },
    },
    {
      path: '/v1/trends',
      summary: 'Failures and successes over time, empty buckets filled',
      query: TrendsQuery,
      handle: async (q: z.infer<typeof TrendsQuery>, now) => {
        const w = window(q, now, cfg.maxRangeDays);
        // The first bucket starts before `from`: its namespaces count from there.
        const pairs = await teamPairs(q.team, { from: new Date(bucketStart(w.from, q.interval)), to: w.to });
        return {
          interval: q.interval,
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          series: await queries.trends({ ...q, ...w, teamPairs: pairs }),
        };
      },
    },
    {
      path: '/v1/failures',
      summary: 'Failure observations, newest first, with keyset pagination',
      query: FailuresQuery,
      response: z.object({
        failures: z.array(DiagnosisFields.extend(WorkloadTeamFields).loose()),
        nextCursor: z.string().nullable(),
      }),
      handle: async (q: z.infer<typeof FailuresQuery>, now) => {
        const w = window(q, now, cfg.maxRangeDays);
        const page = await queries.failures({ ...q, ...w, teamPairs: await teamPairs(q.team, w) });
        return { ...page, failures: await withDiagnosis(diagnoser, page.failures, now) };
      },
    },
    {
      path: '/v1/pods/stuck',
      summary: 'Pods still failing to pull, with cause, since when, attempts and hint',
      query: StuckQuery,
      response: z.object({ pods: z.array(DiagnosisFields.extend(WorkloadTeamFields).loose()) }),
      handle: async (q: z.infer<typeof StuckQuery>, now) => {
        const pairs = await teamPairs(q.team, { from: new Date(now.getTime() - NOW_LOOKBACK_MS), to: now });
        return { pods: await withDiagnosis(diagnoser, await queries.stuck({ ...q, teamPairs: pairs }, now), now) };
      },
    },
    {
      path: '/v1/risks',
      summary:
        'Preventive flags: mutable tags, Always-pull against rate-limited registries, private registries ' +
        'without pull secrets',
      query: RisksQuery,
      handle: async (q: z.infer<typeof RisksQuery>, now) => {
        const w = window(q, now, cfg.maxRangeDays);
        const risks = await queries.risks({ ...q, ...w, teamPairs: await teamPairs(q.team, w) });
        return { from: w.from.toISOString(), to: w.to.toISOString(), ...risks };
      },
    },
    {
      path: '/v1/teams',
      summary:
        'Teams with pulls in the window (from PULLWATCH_TEAMS_FILE and the stored Namespace team labels), with ' +
        "their clusters and how many namespaces they have: the values the routes' team filter takes",
      query: TeamsQuery,
      response: TeamsResponse,
      handle: async (q: z.infer<typeof TeamsQuery>, now) => {
        const w = window(q, now, cfg.maxRangeDays);
        return { from: w.from.toISOString(), to: w.to.toISOString(), teams: await deps.teams.list(w, q.cluster) };
      },
    },
    {
      path: '/v1/alerts',
      summary: 'Firing and recently resolved alerts',
      query: AlertsQuery,
      handle: async (q: z.infer<typeof AlertsQuery>) => ({
        alerts: deps.alerter.list().filter((a) => q.status === 'all' || a.status === q.status),
      }),
    },
    ...diagnosisRoutes({
      queries: diagnosis,
      teams: deps.teams,
      egress: cfg.dockerHubEgress,
      nearShare: cfg.alerts.rules.find((r) => r.kind === 'dockerhub_quota')?.threshold ?? DEFAULT_NEAR_SHARE,
      maxRangeDays: cfg.maxRangeDays,
    }),
    ...(deps.reports ? reportRoutes({ queries: deps.reports, maxRangeDays: cfg.maxRangeDays }) : []),
  ];

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    next();
  });
  app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    try {
      return (await queries.ping())
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
  app.get('/openapi.json', (_req, res) => res.json(openApi(routes)));

  /**
   * Bearer auth; a refusal is counted under `route`, a route's template or `unmatched`, never the path
   * asked for: a label per path would let anyone grow /metrics without bound.
   */
  const auth = (route: string) => (req: Request, res: Response, next: NextFunction) => {
    if (authorized(req.headers.authorization)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="pullwatch"');
    requests.inc({ route, status: 401 });
    return fail(res, 401, 'unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
  };
  for (const r of routes) {
    app.get(r.path, auth(r.path), async (req: Request, res: Response) => {
      try {
        const q = parseQuery(r.query, req.query);
        const now = deps.now();
        const token = createHash('sha256')
          .update(req.headers.authorization ?? '')
          .digest('hex');
        const body = await isolation.run(routeClass(r.path, windowMs(q, now), cfg.limits.reportAfterMs), token, () =>
          r.handle(q as never, now, { accept: req.headers.accept }),
        );
        requests.inc({ route: r.path, status: 200 });
        if (body instanceof CsvBody) {
          if (body.nextCursor) res.setHeader('X-Next-Cursor', body.nextCursor);
          res.type('text/csv; charset=utf-8').send(body.text);
        } else res.json(body);
      } catch (err) {
        handleError(err, res, r.path);
      }
    });
  }
  // Anything else under /v1 asks for a token too (as before: 401, not 404, without one).
  app.use('/v1', auth('unmatched'));
  for (const { path, dir } of dashboardRoutes) app.use(path, express.static(dir));
  app.use((req: Request, res: Response) => fail(res, 404, 'not_found', `no route ${req.method} ${req.path}`));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => handleError(err, res, 'unknown'));

  function handleError(err: unknown, res: Response, route: string) {
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
      if (limited.status === 503) res.setHeader('Retry-After', String(cfg.limits.retryAfterSeconds));
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
    deps.logger.error({ err, route }, 'query failed');
    return fail(res, 500, 'internal', 'the query failed; see the server log');
  }

  return app;
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

/** OpenAPI 3.1 from the same zod schemas that validate the requests. */
function openApi(routes: Route[]) {
  const paths: Record<string, unknown> = {};
  for (const r of routes) {
    const schema = z.toJSONSchema(r.query, { io: 'input' }) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    paths[r.path] = {
      get: {
        summary: r.summary,
        security: [{ bearer: [] }],
        parameters: Object.entries(schema.properties ?? {}).map(([name, s]) => ({
          name,
          in: 'query',
          required: schema.required?.includes(name) ?? false,
          schema: s,
        })),
        responses: {
          '200': {
            description: 'OK',
            content: {
              'application/json': {
                schema: r.response ? z.toJSONSchema(r.response, { io: 'output' }) : { type: 'object' },
              },
              ...(r.csv ? { 'text/csv': { schema: { type: 'string' } } } : {}),
            },
          },
          '400': { $ref: '#/components/responses/Error' },
          '401': { $ref: '#/components/responses/Error' },
          ...(r.path.startsWith('/v1/reports/') ? { '422': { $ref: '#/components/responses/Error' } } : {}),
          '429': { $ref: '#/components/responses/Error' },
          '503': { $ref: '#/components/responses/Error' },
          '504': { $ref: '#/components/responses/Error' },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'pullwatch query API', version: '1' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Error: {
          description: 'Error',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    properties: { code: { type: 'string' }, message: { type: 'string' } },
                    required: ['code', 'message'],
                  },
                },
                required: ['error'],
              },
            },
          },
        },
      },
    },
  };
}
