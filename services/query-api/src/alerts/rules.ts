import { DEFAULT_NEAR_SHARE } from '../core/quota.ts';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

const Duration = z
  .string()
  .regex(/^\d+(s|m|h)$/, 'a duration like 30s, 15m or 24h')
  .transform((v) => Number(v.slice(0, -1)) * { s: 1000, m: 60_000, h: 3_600_000 }[v.slice(-1) as 's' | 'm' | 'h']);
const base = {
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'letters, digits and _'),
  severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  for: Duration.default(0),
};

export const RuleSchema = z.discriminatedUnion('kind', [
  z.object({
    ...base,
    kind: z.literal('registry_failure_rate'),
    threshold: z.number().gt(0).max(1),
    window: Duration,
    minAttempts: z.number().int().min(1).default(20),
  }),
  z.object({
    ...base,
    kind: z.literal('rate_limit_rising'),
    factor: z.number().gt(1),
    window: Duration,
    baseline: Duration,
    minFailures: z.number().int().min(1).default(10),
  }),
  z.object({ ...base, kind: z.literal('fleet_incident') }),
  z.object({
    ...base,
    kind: z.literal('stuck_pods'),
    threshold: z.number().int().min(0),
    stuckFor: Duration.default(600_000),
  }),
  // An egress address near its Docker Hub pull quota (see GET /v1/quota/docker-hub).
  z.object({
    ...base,
    kind: z.literal('dockerhub_quota'),
    /** Share of the limit used that fires it. */
    threshold: z.number().gt(0).max(1).default(DEFAULT_NEAR_SHARE),
    /** …or exhaustion forecast within this long. */
    forecast: Duration.default(3_600_000),
  }),
]);
export type Rule = z.infer<typeof RuleSchema>;

export const defaultRulesPath = new URL('../../alert-rules.yaml', import.meta.url).pathname;

export function loadRules(path: string = defaultRulesPath): Rule[] {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`alert rules ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = z.object({ rules: z.array(RuleSchema) }).safeParse(doc);
  if (!r.success)
    throw new Error(
      `alert rules ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const names = new Set<string>();
  for (const rule of r.data.rules) {
    if (names.has(rule.name)) throw new Error(`alert rules ${path}: rule name '${rule.name}' is used twice`);
    names.add(rule.name);
  }
  return r.data.rules;
}
