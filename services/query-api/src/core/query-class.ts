/** Which pool a request runs in: reports (and any long window) apart from dashboards and alerts. */
export type RouteClass = 'dashboard' | 'report';

/** Routes that are reports whatever their window. */
export const REPORT_ROUTES: readonly string[] = ['/v1/reports/failures', '/v1/risks'];

/**
 * A request's class: report routes, and any route asked for a window longer than `reportAfterMs`
 * (a 30-day trend or hotspot list), are reports; the rest, dashboards. `windowMs` is null when the
 * route has no window or it is invalid (the route answers 400 then, reading nothing).
 */
export function routeClass(path: string, windowMs: number | null, reportAfterMs: number): RouteClass {
  if (REPORT_ROUTES.includes(path)) return 'report';
  return windowMs !== null && windowMs > reportAfterMs ? 'report' : 'dashboard';
}
