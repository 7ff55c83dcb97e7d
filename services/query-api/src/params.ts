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
/** A name a filter compares (a cluster, namespace, registry, image or team). */
export const name = z.string().min(1).max(512);
/** A team filter (core/teams.ts): what it selects is resolved against the namespaces of the window. */
export const team = name
  .optional()
  .describe(
    'Only the namespaces of this team: named for it in PULLWATCH_TEAMS_FILE, else labelled with it (the ' +
      "collector's Namespace label stored with their pulls); a team nobody has matches nothing",
  );

export const Window = z.object({ from: isoTime.optional(), to: isoTime.optional() });
/**
 * The filters of /v1/failures (/v1/registries takes some of them): one added here does not compile until
 * failures/queries.ts maps it to its column.
 */
export const Filters = z.object({
  cluster: name.optional(),
  namespace: name.optional(),
  registry: name.optional(),
  cause: z.enum(CAUSES).optional(),
  image: name.optional(),
  team,
});

/** Names that would reach an object's prototype if ever used as a key: refused, never read. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/** Parses query parameters with a schema; the first problem becomes a ParamError naming its parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const flat: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (RESERVED.has(k)) throw new ParamError(k, 'a reserved name');
    if (Array.isArray(v)) throw new ParamError(k, 'given more than once');
    if (typeof v !== 'string') throw new ParamError(k, 'not a plain value');
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
