import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The clusters a token may send events for: every cluster (`*`) or the ones named. */
export type ClusterGrant = '*' | readonly string[];

export interface IngestToken {
  token: string;
  clusters: ClusterGrant;
}

const TokenEntry = z.object({
  token: z.string().trim().min(16, 'at least 16 characters'),
  clusters: z
    .union([z.literal('*'), z.array(z.union([z.literal('*'), z.string().regex(CLUSTER, 'a cluster name')])).min(1)])
    .transform((c): ClusterGrant => (c === '*' || c.includes('*') ? '*' : c)),
});

/**
 * The tokens file: YAML (a list of `{token, clusters}`, or `{tokens: [...]}`) or JSON Lines (one
 * `{"token", "clusters"}` per line). `clusters` is a list of cluster names, or `*` for all.
 */
export function parseIngestTokens(text: string, source: string): IngestToken[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (!lines.length) return [];
  let entries: unknown[];
  try {
    const jsonLines = lines.every((l) => l.startsWith('{') && l.endsWith('}'));
    const docs: unknown[] = jsonLines ? lines.map((l) => JSON.parse(l) as unknown) : [parseYaml(text) as unknown];
    entries = docs.flatMap((d) => {
      if (Array.isArray(d)) return d;
      if (d && typeof d === 'object' && 'tokens' in d) {
        if (!Array.isArray(d.tokens)) throw new Error('tokens: expected a list of {token, clusters}');
        return d.tokens;
      }
      return [d];
    });
  } catch (err) {
    throw new Error(`${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return entries.map((e, i) => {
    const r = TokenEntry.safeParse(e);
    if (!r.success)
      throw new Error(
        `${source}: entry ${i + 1}: ` +
          `${r.error.issues.map((x) => `${x.path.join('.') || 'entry'}: ${x.message}`).join('; ')}`,
      );
    return r.data;
  });
}

export function readIngestTokensFile(path: string): IngestToken[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(
      `PULLWATCH_INGEST_TOKENS_FILE: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return parseIngestTokens(text, `PULLWATCH_INGEST_TOKENS_FILE ${path}`);
}

/** One grant per distinct token (a token listed twice gets the union of its clusters). */
export function mergeTokens(tokens: IngestToken[]): IngestToken[] {
  const byToken = new Map<string, ClusterGrant>();
  for (const t of tokens) {
    const prev = byToken.get(t.token);
    if (prev === '*' || t.clusters === '*') byToken.set(t.token, '*');
    else byToken.set(t.token, [...new Set([...(prev ?? []), ...t.clusters])]);
  }
  return [...byToken].map(([token, clusters]) => ({ token, clusters }));
}

export const allows = (grant: ClusterGrant, cluster: string): boolean => grant === '*' || grant.includes(cluster);
