import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
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
 * An address prefix an egress group pulls from, `ADDRESS/LENGTH`. Docker Hub counts anonymous IPv6 pulls per
 * /64 at least, and per a wider provider prefix when it says so in `docker-ratelimit-source`: an IPv6 prefix
 * longer than /64 would split what Docker Hub counts as one.
 */
const Prefix = z
  .string()
  .max(64)
  .superRefine((v, ctx) => {
    const [address = '', length, ...rest] = v.split('/');
    const bits = Number(length);
    const v6 = isIPv6(address);
    if (rest.length || length === undefined || !/^\d{1,3}$/.test(length) || !(v6 || isIPv4(address)))
      ctx.addIssue({
        code: 'custom',
        message: `'${v}' is not an address prefix like 2600:1f18::/48 or 203.0.113.0/24`,
      });
    else if (v6 && bits > 64)
      ctx.addIssue({
        code: 'custom',
        message: `'${v}': Docker Hub counts IPv6 pulls per /64 or a wider prefix, so a prefix longer than /64 cannot be a bucket`,
      });
    else if (!v6 && bits > 32) ctx.addIssue({ code: 'custom', message: `'${v}': an IPv4 prefix is at most /32` });
  })
  .transform((v) => v.toLowerCase());

/** `host` or `host/project`: a pull-through cache of Docker Hub (a Harbor proxy-cache project, a mirror). */
const ProxyCache = z
  .string()
  .max(512)
  .regex(
    /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    'a registry host, optionally with a project path, like harbor.example.com/dockerhub-proxy',
  );

/** A Docker Hub account whose credentials some clusters or namespaces pull with. */
const Account = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,255}$/, "the account's Docker ID (letters, digits, . _ - @)"),
    limit: Limit.optional(),
    window: DurationText.optional(),
    clusters: z.array(name).default([]),
    namespaces: z.array(z.object({ cluster: name, namespace: name }).strict()).default([]),
    /**
     * pull-secrets: only Pods with imagePullSecrets pull as the account (the others pull anonymously, through
     * their egress); all: every pull there does (node-level credentials: a kubelet credential provider, the
     * runtime's own registry auth).
     */
    pulls: z.enum(['pull-secrets', 'all']).default('pull-secrets'),
  })
  .strict()
  .refine((a) => a.clusters.length + a.namespaces.length > 0, 'an account needs clusters or namespaces');

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
 * groups:                            # several clusters or nodes behind one address (or prefix)
 *   - { name: eu-nat, clusters: [staging-eu, dev-eu], limit: 200 }
 *   - { name: gpu-pool, nodes: [{ cluster: prod-eu-west, node: gpu-1 }] }
 *   - { name: aws-v6, clusters: [prod-us-east], prefixes: ['2600:1f18::/48'] }  # docker-ratelimit-source
 * accountLimit: 200                  # authenticated pulls per window and account (Docker Hub Personal)
 * accountWindow: 6h
 * accounts:                          # authenticated pulls count per Docker Hub account, across the fleet
 *   - { name: ci-bot, clusters: [prod-eu-west, prod-us-east] }            # Pods with imagePullSecrets
 *   - { name: acme-team, namespaces: [{ cluster: dev, namespace: ml }], limit: 5000, window: 24h }
 *   - { name: edge-nodes, clusters: [edge], pulls: all }                  # node-level credentials
 * proxyCaches: [harbor.example.com/dockerhub-proxy]   # pull-through caches of Docker Hub
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
            prefixes: z.array(Prefix).max(64).optional(),
            limit: Limit.optional(),
            window: DurationText.optional(),
          })
          .strict()
          .refine((g) => g.clusters.length + g.nodes.length > 0, 'a group needs clusters or nodes'),
      )
      .default([]),
    accountLimit: Limit.default(200),
    accountWindow: DurationText.prefault('6h'),
    accounts: z.array(Account).max(1000).default([]),
    proxyCaches: z.array(ProxyCache).max(1000).default([]),
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
  const prefixes = new Map<string, string>();
  for (const g of r.data.groups)
    for (const p of g.prefixes ?? []) {
      const other = prefixes.get(p);
      if (other !== undefined)
        throw new EgressConfigError(path, `prefix ${p} is in two groups ('${other}' and '${g.name}')`);
      prefixes.set(p, g.name);
    }
  // Each cluster and namespace pulls as one account: two would make the bucket of a pull a guess.
  const owner = new Map<string, string>();
  const claim = (key: string, what: string, account: string) => {
    const other = owner.get(key);
    if (other !== undefined)
      throw new EgressConfigError(path, `${what} is in two accounts ('${other}' and '${account}')`);
    owner.set(key, account);
  };
  const accounts = new Set<string>();
  for (const a of r.data.accounts) {
    if (accounts.has(a.name)) throw new EgressConfigError(path, `account '${a.name}' is listed twice`);
    accounts.add(a.name);
    for (const c of a.clusters) claim(`${c}\u0000`, `cluster '${c}'`, a.name);
    for (const n of a.namespaces)
      claim(`${n.cluster}\u0000${n.namespace}`, `namespace ${n.cluster}/${n.namespace}`, a.name);
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
