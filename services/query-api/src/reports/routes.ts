import { z } from 'zod';
import { CursorError, DIMENSIONS, type Dimension, decodeCursor, page, toCsv } from '../core/report.ts';
import { ParamError, Window, window } from '../params.ts';
import { CsvBody, type Route } from '../route.ts';
import type { ReportQueries } from './queries.ts';

const name = z.string().min(1).max(512);

/** Refused before any read: a cursor is checked when the request is, not after the report ran. */
function isCursor(cursor: string): boolean {
  try {
    decodeCursor(cursor);
    return true;
  } catch {
    return false;
  }
}
const DIMENSION_LIST = new RegExp(`^(${DIMENSIONS.join('|')})(,(${DIMENSIONS.join('|')}))*$`);

export const ReportQuery = Window.extend({
  groupBy: z
    .string()
    .regex(DIMENSION_LIST, `comma-separated dimensions: ${DIMENSIONS.join(', ')}`)
    .refine((s) => new Set(s.split(',')).size === s.split(',').length, 'a dimension given twice')
    .default('cluster')
    .describe(`One or more of ${DIMENSIONS.join(', ')}, comma-separated`),
  cluster: name.optional(),
  namespace: name.optional(),
  team: name.optional().describe('Namespaces mapped to this team in PULLWATCH_TEAMS_FILE'),
  registry: name.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .max(2000)
    .refine(isCursor, 'not a cursor this API returned')
    .optional()
    .describe('nextCursor of the previous page'),
  format: z.enum(['json', 'csv']).optional().describe('csv, or send Accept: text/csv'),
}).strict();

const Metrics = z.object({
  failures: z.number().int(),
  successes: z.number().int(),
  failureRate: z.number(),
  pods: z.number().int().describe('Pods with failures'),
  stuckPodHours: z.number().describe('Hours Pods spent failing to pull inside the window'),
  incidents: z
    .number()
    .int()
    .nullable()
    .describe('Incidents active in the window; null when grouped or filtered by namespace, team or workload'),
  medianRecoverySeconds: z
    .number()
    .nullable()
    .describe('Median first failure → recovery of Pods recovered in the window'),
});
export const ReportResponse = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.array(z.enum(DIMENSIONS)),
  groups: z.array(
    Metrics.extend({
      key: z
        .record(z.string(), z.union([z.string(), z.boolean(), z.null()]))
        .describe('The group: one field per dimension; a workload adds cluster, namespace, workloadKind and inferred'),
    }),
  ),
  totals: Metrics,
  nextCursor: z.string().nullable(),
});

/** The reporting routes (issue 17). */
export function reportRoutes(deps: { queries: ReportQueries; maxRangeDays: number }): Route[] {
  return [
    {
      path: '/v1/reports/failures',
      summary:
        'Failures, successes, failure rate, failing Pods, stuck Pod hours, incidents and median recovery per ' +
        'group (cluster, namespace, team, workload, registry, cause, image), keyset-paged; CSV with Accept: ' +
        'text/csv or format=csv',
      query: ReportQuery,
      response: ReportResponse,
      csv: true,
      handle: async (q: z.infer<typeof ReportQuery>, now: Date, req?: { accept?: string | undefined }) => {
        const w = window(q, now, deps.maxRangeDays);
        const groupBy = q.groupBy.split(',') as Dimension[];
        const { groups, totals } = await deps.queries.failures({
          ...w,
          groupBy,
          cluster: q.cluster,
          namespace: q.namespace,
          team: q.team,
          registry: q.registry,
        });
        let p: ReturnType<typeof page>;
        try {
          p = page(groups, q.limit, q.cursor);
        } catch (err) {
          if (err instanceof CursorError) throw new ParamError('cursor', err.message);
          throw err;
        }
        const csv = q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/i.test(req?.accept ?? ''));
        if (csv) return new CsvBody(toCsv(groupBy, p.groups), p.nextCursor);
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          groupBy: DIMENSIONS.filter((d) => groupBy.includes(d)),
          groups: p.groups,
          totals,
          nextCursor: p.nextCursor,
        };
      },
    },
  ];
}
