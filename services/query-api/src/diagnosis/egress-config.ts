import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Duration, EgressSettings } from '../core/quota.ts';

/** A settings file that cannot be used: names the file and what is wrong with it. */
export class EgressConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`Docker Hub egress settings ${path}: ${message}`);
  }
}

const DurationText = z
  .string()
  .regex(/^\d+(m|h)$/, 'a duration like 30m or 6h')
  .refine((v) => Number(v.slice(0, -1)) > 0, 'longer than zero')
  .transform((text): Duration => ({ text, ms: Number(text.slice(0, -1)) * (text.endsWith('h') ? 3_600_000 : 60_000) }));
const Limit = z.number().int().min(1);
const name = z.string().min(1).max(256);

/**
 * PULLWATCH_DOCKERHUB_EGRESS_FILE: who shares which egress address. By default every cluster is one
 * egress (one NAT address) with Docker Hub's anonymous limit, 100 pulls per 6 h.
 *
 * ```yaml
 * limit: 100          # default pulls per window and egress
 * window: 6h
 * clusters:
 *   prod-us-east: { egress: node }   # each node has its own address
 *   prod-eu-west: { limit: 200 }     # authenticated pulls
 * groups:                            # several clusters or nodes behind one address
 *   - { name: eu-nat, clusters: [staging-eu, dev-eu], limit: 200 }
 *   - { name: gpu-pool, nodes: [{ cluster: prod-eu-west, node: gpu-1 }] }
 * ```
 */
export const EgressFileSchema = z
  .object({
    limit: Limit.default(100),
    window: DurationText.prefault('6h'),
    clusters: z
      .record(
        name,
        z
          .object({
            egress: z.enum(['cluster', 'node']).default('cluster'),
            limit: Limit.optional(),
            window: DurationText.optional(),
          })
          .strict(),
      )
      .default({}),
    groups: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, . _ -'),
            clusters: z.array(name).default([]),
            nodes: z.array(z.object({ cluster: name, node: name }).strict()).default([]),
            limit: Limit.optional(),
            window: DurationText.optional(),
          })
          .strict()
          .refine((g) => g.clusters.length + g.nodes.length > 0, 'a group needs clusters or nodes'),
      )
      .default([]),
  })
  .strict();

export const DEFAULT_EGRESS: EgressSettings = EgressFileSchema.parse({});

export function parseEgressSettings(text: string, path = 'egress settings'): EgressSettings {
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new EgressConfigError(path, `not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = EgressFileSchema.safeParse(doc);
  if (!r.success)
    throw new EgressConfigError(
      path,
      r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; '),
    );
  const names = new Set<string>();
  for (const g of r.data.groups) {
    if (names.has(g.name)) throw new EgressConfigError(path, `group name '${g.name}' is used twice`);
    names.add(g.name);
  }
  return r.data;
}

export function loadEgressSettings(path: string | undefined): EgressSettings {
  if (!path) return DEFAULT_EGRESS;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EgressConfigError(path, `cannot read it: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseEgressSettings(text, path);
}
