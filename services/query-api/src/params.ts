import { z } from 'zod';
import { CAUSES } from '@pullwatch/classifier';

/** A request parameter that is wrong: answered 400, naming the parameter. */
export class ParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(`${param}: ${message}`);
  }
}

const isoTime = z
  .string()
  .refine(
    (s) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && Number.isFinite(Date.parse(s)),
    'not an ISO 8601 time',
  );
const name = z.string().min(1).max(512);
/** A team filter (core/teams.ts): what it selects is resolved against the namespaces of the window. */
export const team = name
  .optional()
  .describe(
    'Only the namespaces of this team: named for it in PULLWATCH_TEAMS_FILE, else labelled with it (the ' +
      "collector's Namespace label stored with their pulls); a team nobody has matches nothing",
  );

export const Window = z.object({ from: isoTime.optional(), to: isoTime.optional() });
export const Filters = z.object({
  cluster: name.optional(),
  namespace: name.optional(),
  registry: name.optional(),
  cause: z.enum(CAUSES).optional(),
  image: name.optional(),
  team,
});

export const RegistriesQuery = Window.extend(
  Filters.pick({ cluster: true, namespace: true, cause: true, team: true }).shape,
).strict();
export const HotspotsQuery = Window.extend({
  groupBy: z.enum(['cluster', 'node']).optional(),
  registry: name.optional(),
  cluster: name.optional(),
  team,
}).strict();
export const IncidentsQuery = Window.extend({
  status: z.enum(['open', 'resolved', 'all']).default('all'),
  team: team.describe(
    "Only incidents in which this team's Pods failed: one of their clusters and images in the team's namespaces",
  ),
}).strict();
export const TrendsQuery = Window.extend({
  interval: z.enum(['1m', '5m', '1h', '1d']).default('1h'),
  registry: name.optional(),
  cluster: name.optional(),
  cause: z.enum(CAUSES).optional(),
  team,
}).strict();
export const FailuresQuery = Window.extend(Filters.shape)
  .extend({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(200).optional() })
  .strict();
export const StuckQuery = z
  .object({ cluster: name.optional(), team, minutes: z.coerce.number().int().min(0).max(100_000).default(5) })
  .strict();
export const AlertsQuery = z.object({ status: z.enum(['firing', 'resolved', 'all']).default('all') }).strict();
export const RisksQuery = Window.extend({ cluster: name.optional(), team }).strict();
export const TeamsQuery = Window.extend({ cluster: name.optional() }).strict();

/** Parses query parameters with a schema; the first problem becomes a ParamError naming its parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const flat: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(v)) throw new ParamError(k, 'given more than once');
    flat[k] = v;
  }
  const r = schema.safeParse(flat);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new ParamError(issue.keys[0] ?? 'query', 'unknown parameter');
    throw new ParamError(String(issue.path[0] ?? 'query'), issue.message);
  }
  return r.data;
}

/** The time window: default the last 24 h, bounded. */
export function window(
  q: { from?: string | undefined; to?: string | undefined },
  now: Date,
  maxDays: number,
): { from: Date; to: Date } {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 24 * 3600_000);
  if (from >= to) throw new ParamError('from', 'must be before to');
  if (to.getTime() - from.getTime() > maxDays * 86_400_000)
    throw new ParamError('from', `the window may span at most ${maxDays} days`);
  return { from, to };
}

export const chTime = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
export const isoOf = (chText: string | null) =>
  chText ? `${chText.replace(' ', 'T')}${chText.includes('.') ? '' : '.000'}Z` : null;
