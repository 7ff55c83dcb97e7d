import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const defaultScenarioPath = join(dirname(fileURLToPath(import.meta.url)), '../scenarios/default-fleet.yaml');

/** `90m`, `-2h`, `45s`, or a number of seconds. */
const Duration = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?(s|m|h)$/, 'a duration like 30s, 15m, -2h')])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const n = Number(v.slice(0, -1));
    return n * { s: 1, m: 60, h: 3600 }[v.slice(-1) as 's' | 'm' | 'h'];
  });

const Runtime = z.enum(['containerd', 'cri-o']);

const Node = z.object({ name: z.string().min(1), arch: z.enum(['amd64', 'arm64']).default('amd64') });

const Cluster = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  runtime: Runtime.default('containerd'),
  nodes: z.array(Node).min(1),
  namespaces: z.array(z.string().min(1)).min(1).default(['default']),
  /** New Pods per minute from the background workloads (successful pulls: the denominator). */
  podsPerMinute: z.number().nonnegative().default(6),
});

export const INCIDENT_KINDS = [
  'typo',
  'tag_removed',
  'missing_pull_secret',
  'dockerhub_rate_limit',
  'registry_outage',
  'dns_failure',
  'arch_mismatch',
  'disk_full',
  // The registries' 2026 message families (issue 23).
  'dockerhub_account_rate_limit',
  'dockerhub_abuse_limit',
  'registry_rate_limit',
  'ecr_expired_token',
  'registry_unauthorized',
  'proxy_not_found',
] as const;

/** Kinds that break the Pods of one image; the others break every pull from their registry. */
export const POD_SCOPED_KINDS: readonly (typeof INCIDENT_KINDS)[number][] = [
  'typo',
  'tag_removed',
  'missing_pull_secret',
  'arch_mismatch',
  'disk_full',
  'ecr_expired_token',
  'registry_unauthorized',
];

const Incident = z.object({
  kind: z.enum(INCIDENT_KINDS),
  /** Clusters affected; registry-wide kinds affect every new pull there from the registry. */
  clusters: z.array(z.string()).min(1),
  /** When it starts, relative to the simulator's start (negative: in the backfilled past). */
  start: Duration,
  /** Heals by itself after this long (transient causes). */
  heal: Duration.optional(),
  /** Someone fixes it after this long (permanent causes); without heal or fix it stays stuck. */
  fix: Duration.optional(),
  /**
   * The image the broken Pods use (Pod-scoped kinds); for a registry-wide kind, Pods of this image are started
   * too (`pods` per cluster), so a scenario can show a registry's message without background pulls from it.
   */
  image: z.string().optional(),
  /** The registry that fails (the kinds that are not Pod-scoped: rate limits, outages, a proxy's not found). */
  registry: z.string().optional(),
  /** dockerhub_account_rate_limit: the Docker ID Docker Hub names (`as 'ID'`). */
  account: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a Docker ID')
    .optional(),
  /** How many Pods a Pod-scoped incident breaks, per cluster. */
  pods: z.number().int().positive().default(2),
  namespace: z.string().optional(),
  node: z.string().optional(),
});

export const ScenarioSchema = z
  .object({
    name: z.string().min(1),
    seed: z.number().int().default(1),
    /** How much history to generate at start, sent at once, before going live. */
    backfill: Duration.default(3600),
    /** Images the background workloads pull (all succeed unless an incident says otherwise). */
    images: z.array(z.string().min(1)).min(1),
    clusters: z.array(Cluster).min(1),
    incidents: z.array(Incident).default([]),
  })
  .superRefine((s, ctx) => {
    const names = new Set(s.clusters.map((c) => c.name));
    s.incidents.forEach((inc, i) => {
      for (const c of inc.clusters)
        if (!names.has(c))
          ctx.addIssue({ code: 'custom', path: ['incidents', i, 'clusters'], message: `unknown cluster '${c}'` });
      const needsImage = POD_SCOPED_KINDS.includes(inc.kind);
      if (needsImage && !inc.image)
        ctx.addIssue({ code: 'custom', path: ['incidents', i, 'image'], message: `${inc.kind} needs an image` });
      if (!needsImage && !inc.registry && !inc.image)
        ctx.addIssue({
          code: 'custom',
          path: ['incidents', i, 'registry'],
          message: `${inc.kind} needs a registry (or an image)`,
        });
      if (inc.kind === 'dockerhub_account_rate_limit' && !inc.account)
        ctx.addIssue({ code: 'custom', path: ['incidents', i, 'account'], message: `${inc.kind} needs an account` });
    });
  });

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioIncident = Scenario['incidents'][number];
export type ScenarioCluster = Scenario['clusters'][number];

export function parseScenario(text: string, source = 'scenario'): Scenario {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = ScenarioSchema.safeParse(data);
  if (!r.success) {
    throw new Error(
      `${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  }
  return r.data;
}

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read scenario ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseScenario(text, path);
}
