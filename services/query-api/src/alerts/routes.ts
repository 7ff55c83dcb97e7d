import { z } from 'zod';
import type { Route } from '../route.ts';
import type { Alerter } from './alerter.ts';

export const AlertsQuery = z.object({ status: z.enum(['firing', 'resolved', 'all']).default('all') }).strict();

/** GET /v1/alerts: what the evaluator holds (no ClickHouse read). */
export function alertRoutes(deps: { alerter: Alerter }): Route[] {
  return [
    {
      path: '/v1/alerts',
      summary: 'Firing and recently resolved alerts',
      query: AlertsQuery,
      handle: async (q: z.infer<typeof AlertsQuery>) => ({
        alerts: deps.alerter.list().filter((a) => q.status === 'all' || a.status === q.status),
      }),
    },
  ];
}
