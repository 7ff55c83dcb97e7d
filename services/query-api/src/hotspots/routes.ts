import { z } from 'zod';
import { name, team, window, Window } from '../params.ts';
import type { Route } from '../route.ts';
import type { TeamResolver } from '../teams/resolver.ts';
import type { HotspotQueries } from './queries.ts';

export const HotspotsQuery = Window.extend({
  groupBy: z.enum(['cluster', 'node']).optional(),
  registry: name.optional(),
  cluster: name.optional(),
  team,
}).strict();

/** GET /v1/hotspots/rate-limit. */
export function hotspotRoutes(deps: { queries: HotspotQueries; teams: TeamResolver; maxRangeDays: number }): Route[] {
  return [
    {
      path: '/v1/hotspots/rate-limit',
      summary: 'Rate-limited failures by registry and cluster (groupBy=node adds the node)',
      query: HotspotsQuery,
      handle: async (q: z.infer<typeof HotspotsQuery>, now) => {
        const w = window(q, now, deps.maxRangeDays);
        const hotspots = await deps.queries.hotspots({ ...q, ...w, teamPairs: await deps.teams.filter(q.team, w) });
        return { from: w.from.toISOString(), to: w.to.toISOString(), hotspots };
      },
    },
  ];
}
