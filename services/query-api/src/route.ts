import type { z } from 'zod';
import type { Pair } from './core/teams.ts';
import { window } from './params.ts';

/**
 * One GET route of a family: its parameters (a strict zod schema, also its OpenAPI parameters), what it
 * answers (`handle`: parameters → reads → response shape) and the answer's schema for the OpenAPI
 * document. app.ts serves every route the same way (auth, isolation, metrics, errors).
 */
export interface Route {
  path: string;
  summary: string;
  query: z.ZodObject;
  /** The answer's schema, for the OpenAPI document (an object when absent). */
  response?: z.ZodType;
  handle: (q: never, now: Date, req: { accept?: string | undefined }) => Promise<unknown>;
  /** Also answers text/csv (a CsvBody). */
  csv?: boolean;
}

/** A body the app sends as text/csv. */
export class CsvBody {
  constructor(
    readonly text: string,
    readonly nextCursor: string | null,
  ) {}
}

/** What a windowed route needs to read its window: the bound on its length and the team filter. */
export interface WindowDeps {
  /** The team filter's pairs for a window (teams/resolver.ts). */
  teams: { filter(team: string | undefined, w: { from: Date; to: Date }): Promise<Pair[] | undefined> };
  maxRangeDays: number;
}

/**
 * A route's time window (the last 24 h by default, at most maxRangeDays) and its team filter's
 * (cluster, namespace) pairs for that window (undefined without a filter).
 */
export async function windowed(
  deps: WindowDeps,
  q: { from?: string | undefined; to?: string | undefined; team?: string | undefined },
  now: Date,
): Promise<{ from: Date; to: Date; teamPairs: Pair[] | undefined }> {
  const w = window(q, now, deps.maxRangeDays);
  return { ...w, teamPairs: await deps.teams.filter(q.team, w) };
}
