import { z } from 'zod';
import type { Diagnoser } from '../diagnosis/diagnoser.ts';
import { DiagnosisFields, incidentsWithDiagnosis } from '../diagnosis/routes.ts';
import { team, Window } from '../params.ts';
import { type Route, type WindowDeps, windowed } from '../route.ts';
import type { IncidentQueries } from './queries.ts';

export const IncidentsQuery = Window.extend({
  status: z.enum(['open', 'resolved', 'all']).default('all'),
  team: team.describe(
    "Only incidents in which this team's Pods failed: one of their clusters and images in the team's namespaces",
  ),
}).strict();

/** GET /v1/incidents, each with "did you mean" from its images. */
export function incidentRoutes(deps: WindowDeps & { queries: IncidentQueries; diagnoser: Diagnoser }): Route[] {
  return [
    {
      path: '/v1/incidents',
      summary: 'Incidents across clusters',
      query: IncidentsQuery,
      response: z.object({ from: z.string(), to: z.string(), incidents: z.array(DiagnosisFields.loose()) }),
      handle: async (q: z.infer<typeof IncidentsQuery>, now) => {
        const w = await windowed(deps, q, now);
        const incidents = await deps.queries.incidents({ ...q, ...w });
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          incidents: await incidentsWithDiagnosis(deps.diagnoser, incidents, now),
        };
      },
    },
  ];
}
