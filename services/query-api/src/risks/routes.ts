import type { z } from 'zod';
import { name, team, window, Window } from '../params.ts';
import type { Route } from '../route.ts';
import type { TeamResolver } from '../teams/resolver.ts';
import type { RiskQueries } from './queries.ts';

export const RisksQuery = Window.extend({ cluster: name.optional(), team }).strict();

/** GET /v1/risks (a report route: it runs in the report pool whatever its window). */
export function riskRoutes(deps: { queries: RiskQueries; teams: TeamResolver; maxRangeDays: number }): Route[] {
  return [
    {
      path: '/v1/risks',
      summary:
        'Preventive flags: mutable tags, Always-pull against rate-limited registries, private registries ' +
        'without pull secrets',
      query: RisksQuery,
      handle: async (q: z.infer<typeof RisksQuery>, now) => {
        const w = window(q, now, deps.maxRangeDays);
        const risks = await deps.queries.risks({ ...q, ...w, teamPairs: await deps.teams.filter(q.team, w) });
        return { from: w.from.toISOString(), to: w.to.toISOString(), ...risks };
      },
    },
  ];
}
