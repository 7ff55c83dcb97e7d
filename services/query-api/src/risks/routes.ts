import type { z } from 'zod';
import { name, team, Window } from '../params.ts';
import { type Route, type WindowDeps, windowed } from '../route.ts';
import type { RiskQueries } from './queries.ts';

export const RisksQuery = Window.extend({ cluster: name.optional(), team }).strict();

/** GET /v1/risks (a report route: it runs in the report pool whatever its window). */
export function riskRoutes(deps: WindowDeps & { queries: RiskQueries }): Route[] {
  return [
    {
      path: '/v1/risks',
      summary:
        'Preventive flags: mutable tags, Always-pull against rate-limited registries, private registries ' +
        'without pull secrets',
      query: RisksQuery,
      handle: async (q: z.infer<typeof RisksQuery>, now) => {
        const w = await windowed(deps, q, now);
        const risks = await deps.queries.risks({ ...q, ...w });
        return { from: w.from.toISOString(), to: w.to.toISOString(), ...risks };
      },
    },
  ];
}
