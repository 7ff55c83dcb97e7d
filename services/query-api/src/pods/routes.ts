import { z } from 'zod';
import { NOW_LOOKBACK_MS } from '../core/teams.ts';
import type { Diagnoser } from '../diagnosis/diagnoser.ts';
import { DiagnosisFields, withDiagnosis } from '../diagnosis/routes.ts';
import { name, team } from '../params.ts';
import type { Route } from '../route.ts';
import type { TeamResolver } from '../teams/resolver.ts';
import { WorkloadTeamFields } from '../workload-fields.ts';
import type { PodQueries } from './queries.ts';

export const StuckQuery = z
  .object({ cluster: name.optional(), team, minutes: z.coerce.number().int().min(0).max(100_000).default(5) })
  .strict();

/** GET /v1/pods/stuck, each Pod with "did you mean". */
export function podRoutes(deps: { queries: PodQueries; diagnoser: Diagnoser; teams: TeamResolver }): Route[] {
  return [
    {
      path: '/v1/pods/stuck',
      summary: 'Pods still failing to pull, with cause, since when, attempts and hint',
      query: StuckQuery,
      response: z.object({ pods: z.array(DiagnosisFields.extend(WorkloadTeamFields).loose()) }),
      handle: async (q: z.infer<typeof StuckQuery>, now) => {
        const pairs = await deps.teams.filter(q.team, { from: new Date(now.getTime() - NOW_LOOKBACK_MS), to: now });
        return {
          pods: await withDiagnosis(deps.diagnoser, await deps.queries.stuck({ ...q, teamPairs: pairs }, now), now),
        };
      },
    },
  ];
}
