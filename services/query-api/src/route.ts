import type { z } from 'zod';

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
