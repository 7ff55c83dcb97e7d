import { z } from 'zod';
import { failuresCursor } from '../core/failures-cursor.ts';
import type { Diagnoser } from '../diagnosis/diagnoser.ts';
import { DiagnosisFields, withDiagnosis } from '../diagnosis/routes.ts';
import { Filters, Window } from '../params.ts';
import { type Route, type WindowDeps, windowed } from '../route.ts';
import { WorkloadTeamFields } from '../workload-fields.ts';
import type { FailureQueries } from './queries.ts';

const NOT_A_CURSOR = 'not a cursor this API returned';

export const FailuresQuery = Window.extend(Filters.shape)
  .extend({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z
      .string()
      .max(200)
      .refine((c) => failuresCursor(c) !== null, NOT_A_CURSOR)
      .optional(),
  })
  .strict();

/** GET /v1/failures, each failure with "did you mean". */
export function failureRoutes(deps: WindowDeps & { queries: FailureQueries; diagnoser: Diagnoser }): Route[] {
  return [
    {
      path: '/v1/failures',
      summary: 'Failure observations, newest first, with keyset pagination',
      query: FailuresQuery,
      response: z.object({
        failures: z.array(DiagnosisFields.extend(WorkloadTeamFields).loose()),
        nextCursor: z.string().nullable(),
      }),
      handle: async (q: z.infer<typeof FailuresQuery>, now) => {
        const page = await deps.queries.failures({ ...q, ...(await windowed(deps, q, now)) });
        return { ...page, failures: await withDiagnosis(deps.diagnoser, page.failures, now) };
      },
    },
  ];
}
