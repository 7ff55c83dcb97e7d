import { z } from 'zod';
import { name, window, Window } from '../params.ts';
import type { Route } from '../route.ts';
import type { TeamResolver } from './resolver.ts';

export const TeamsQuery = Window.extend({ cluster: name.optional() }).strict();

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

/** GET /v1/teams: the values the other routes' team filter takes. */
export function teamRoutes(deps: { teams: TeamResolver; maxRangeDays: number }): Route[] {
  return [
    {
      path: '/v1/teams',
      summary:
        'Teams with pulls in the window (from PULLWATCH_TEAMS_FILE and the stored Namespace team labels), with ' +
        "their clusters and how many namespaces they have: the values the routes' team filter takes",
      query: TeamsQuery,
      response: TeamsResponse,
      handle: async (q: z.infer<typeof TeamsQuery>, now) => {
        const w = window(q, now, deps.maxRangeDays);
        return { from: w.from.toISOString(), to: w.to.toISOString(), teams: await deps.teams.list(w, q.cluster) };
      },
    },
  ];
}
