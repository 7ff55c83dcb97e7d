import { z } from 'zod';
import { CAUSES } from '@pullwatch/classifier';
import { bucketStart } from '../core/trend-buckets.ts';
import { name, team, window, Window } from '../params.ts';
import type { Route, WindowDeps } from '../route.ts';
import type { TrendQueries } from './queries.ts';

export const TrendsQuery = Window.extend({
  interval: z.enum(['1m', '5m', '1h', '1d']).default('1h'),
  registry: name.optional(),
  cluster: name.optional(),
  cause: z.enum(CAUSES).optional(),
  team,
}).strict();

/** GET /v1/trends. */
export function trendRoutes(deps: WindowDeps & { queries: TrendQueries }): Route[] {
  return [
    {
      path: '/v1/trends',
      summary: 'Failures and successes over time, empty buckets filled',
      query: TrendsQuery,
      handle: async (q: z.infer<typeof TrendsQuery>, now) => {
        const w = window(q, now, deps.maxRangeDays);
        // The first bucket starts before `from`: its namespaces count from there.
        const pairs = await deps.teams.filter(q.team, { from: new Date(bucketStart(w.from, q.interval)), to: w.to });
        return {
          interval: q.interval,
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          series: await deps.queries.trends({ ...q, ...w, teamPairs: pairs }),
        };
      },
    },
  ];
}
