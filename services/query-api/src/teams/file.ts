import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { NO_TEAMS, type Teams, teamsFrom } from '../core/teams.ts';

/** A team mapping file that cannot be used: names the file and what is wrong. */
export class TeamsConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`team mapping ${path}: ${message}`);
  }
}

const name = z.string().min(1).max(256);

/**
 * PULLWATCH_TEAMS_FILE: which team owns which namespace, optionally per cluster (a cluster's entry
 * wins over the fleet-wide one). A namespace in neither has team null: never guessed.
 *
 * ```yaml
 * namespaces:          # fleet-wide
 *   shop: web-team
 *   db: data-team
 * clusters:            # per cluster, overriding the above
 *   prod-eu-west:
 *     shop: eu-web-team
 * ```
 */
export const TeamsFileSchema = z
  .object({
    namespaces: z.record(name, name).default({}),
    clusters: z.record(name, z.record(name, name)).default({}),
  })
  .strict();
export type TeamsFile = z.infer<typeof TeamsFileSchema>;

/** Reads and validates the file; no path, no mapping (every team null). */
export function loadTeams(path: string | undefined): Teams {
  if (!path) return NO_TEAMS;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TeamsConfigError(path, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new TeamsConfigError(path, `not YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = TeamsFileSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new TeamsConfigError(path, `${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  return teamsFrom(r.data);
}
