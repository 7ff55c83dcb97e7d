import type { z } from 'zod';
import { Filters, window, Window } from '../params.ts';
import type { Route } from '../route.ts';
import type { TeamResolver } from '../teams/resolver.ts';
import type { RegistryQueries } from './queries.ts';

export const RegistriesQuery = Window.extend(
  Filters.pick({ cluster: true, namespace: true, cause: true, team: true }).shape,
).strict();

/** GET /v1/registries. */
export function registryRoutes(deps: { queries: RegistryQueries; teams: TeamResolver; maxRangeDays: number }): Route[] {
  return [
    {
      path: '/v1/registries',
      summary: 'Per-registry failures, successes and failure rate',
      query: RegistriesQuery,
      handle: async (q: z.infer<typeof RegistriesQuery>, now) => {
        const w = window(q, now, deps.maxRangeDays);
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          registries: await deps.queries.registries({ ...q, ...w, teamPairs: await deps.teams.filter(q.team, w) }),
        };
      },
    },
  ];
}
