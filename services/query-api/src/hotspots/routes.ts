import { z } from 'zod';
import { name, team, Window } from '../params.ts';
import { type Route, type WindowDeps, windowed } from '../route.ts';
import type { HotspotQueries } from './queries.ts';

export const HotspotsQuery = Window.extend({
  groupBy: z.enum(['cluster', 'node']).optional(),
  registry: name.optional(),
  cluster: name.optional(),
  team,
}).strict();

/** GET /v1/hotspots/rate-limit. */
export function hotspotRoutes(deps: WindowDeps & { queries: HotspotQueries }): Route[] {
  return [
    {
      path: '/v1/hotspots/rate-limit',
      summary: 'Rate-limited failures by registry and cluster (groupBy=node adds the node)',
      query: HotspotsQuery,
      handle: async (q: z.infer<typeof HotspotsQuery>, now) => {
        const w = await windowed(deps, q, now);
        const hotspots = await deps.queries.hotspots({ ...q, ...w });
        return { from: w.from.toISOString(), to: w.to.toISOString(), hotspots };
      },
    },
  ];
}
