import { z } from 'zod';
import type { Diagnoser } from '../diagnosis/diagnoser.ts';
import { DiagnosisFields, incidentsWithDiagnosis } from '../diagnosis/routes.ts';
import { team, window, Window } from '../params.ts';
import type { Route } from '../route.ts';
import type { TeamResolver } from '../teams/resolver.ts';
import type { IncidentQueries } from './queries.ts';

export const IncidentsQuery = Window.extend({
  status: z.enum(['open', 'resolved', 'all']).default('all'),
  team: team.describe(
    "Only incidents in which this team's Pods failed: one of their clusters and images in the team's namespaces",
  ),
}).strict();

/** GET /v1/incidents, each with "did you mean" from its images. */
export function incidentRoutes(deps: {
  queries: IncidentQueries;
  diagnoser: Diagnoser;
  teams: TeamResolver;
  maxRangeDays: number;
}): Route[] {
  return [
    {
      path: '/v1/incidents',
      summary: 'Incidents across clusters',
      query: IncidentsQuery,
      response: z.object({ from: z.string(), to: z.string(), incidents: z.array(DiagnosisFields.loose()) }),
      handle: async (q: z.infer<typeof IncidentsQuery>, now) => {
        const w = window(q, now, deps.maxRangeDays);
        const incidents = await deps.queries.incidents({ ...q, ...w, teamPairs: await deps.teams.filter(q.team, w) });
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          incidents: await incidentsWithDiagnosis(deps.diagnoser, incidents, now),
        };
      },
    },
  ];
}
