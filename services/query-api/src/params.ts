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

const NOT_A_CURSOR = 'not a cursor this API returned';
/** ClickHouse DateTime64(3) text as the API writes it, within the type's range (1900–2299). */
const CH_TIME = /^(19\d\d|2[0-2]\d\d)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d{1,3})?$/;
const UINT32_MAX = 4_294_967_295;

/** A failure's position in /v1/failures' order: what a nextCursor holds. */
export interface FailuresCursor {
  time: string;
  uid: string;
  count: number;
}

/** The cursor /v1/failures returns for the last failure of a page. */
export const encodeFailuresCursor = (c: FailuresCursor) =>
  Buffer.from(JSON.stringify([c.time, c.uid, c.count])).toString('base64url');

/**
 * A /v1/failures cursor decoded, or null for anything the API did not return: base64url JSON of
 * [DateTime64 text, uid, UInt32 count] and nothing else, so no value can reach ClickHouse that its
 * parameter types refuse.
 */
export function failuresCursor(cursor: string): FailuresCursor | null {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return null;
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(c) || c.length !== 3) return null;
  const [time, uid, count] = c as unknown[];
  if (typeof time !== 'string' || typeof uid !== 'string' || typeof count !== 'number') return null;
  if (!Number.isInteger(count) || count < 0 || count > UINT32_MAX) return null;
  const m = CH_TIME.exec(time);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  // A calendar time that exists (Date.UTC would roll 2026-02-30 over into March).
  const t = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  if (t.getUTCMonth() !== mo! - 1 || t.getUTCDate() !== d! || t.getUTCHours() !== h! || t.getUTCMinutes() !== mi!)
    return null;
  if (t.getUTCSeconds() !== s!) return null;
  return { time, uid, count };
}

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
  .extend({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z
      .string()
      .max(200)
      .refine((c) => failuresCursor(c) !== null, NOT_A_CURSOR)
      .optional(),
  })
  .strict();
export const StuckQuery = z
  .object({ cluster: name.optional(), team, minutes: z.coerce.number().int().min(0).max(100_000).default(5) })
  .strict();
export const AlertsQuery = z.object({ status: z.enum(['firing', 'resolved', 'all']).default('all') }).strict();
export const RisksQuery = Window.extend({ cluster: name.optional(), team }).strict();
export const TeamsQuery = Window.extend({ cluster: name.optional() }).strict();

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
