// Docker Hub's pull quota per egress address: which Pods share one, how much of it they used, and
// when the current rate would exhaust it. Pure: usage rows and the egress settings come in.

/** The egress settings, parsed (see diagnosis/egress-config.ts for the file). */
export interface EgressSettings {
  /** Default pulls per window (Docker Hub: 100 per 6 h anonymous, 200 authenticated). */
  limit: number;
  window: Duration;
  /** Clusters whose nodes each have their own address (one egress per node) and their own limits. */
  clusters: Record<string, { egress: 'cluster' | 'node'; limit?: number | undefined; window?: Duration | undefined }>;
  /** Named groups sharing one address: whole clusters and/or single nodes. */
  groups: {
    name: string;
    clusters: string[];
    nodes: { cluster: string; node: string }[];
    limit?: number | undefined;
    window?: Duration | undefined;
  }[];
}

export interface Duration {
  text: string;
  ms: number;
}

export interface Egress {
  egress: string;
  limit: number;
  window: Duration;
}

/**
 * The egress a Pod on `node` in `cluster` pulls through: a node in a group, a cluster in a group, per node, per
 * cluster.
 */
export function egressOf(s: EgressSettings, cluster: string, node: string): Egress {
  for (const g of s.groups)
    if (g.nodes.some((n) => n.cluster === cluster && n.node === node) || g.clusters.includes(cluster))
      return { egress: `group:${g.name}`, limit: g.limit ?? s.limit, window: g.window ?? s.window };
  const c = s.clusters[cluster];
  const limit = c?.limit ?? s.limit;
  const window = c?.window ?? s.window;
  if (c?.egress === 'node') return { egress: `node:${cluster}/${node}`, limit, window };
  return { egress: `cluster:${cluster}`, limit, window };
}

/** Every distinct window the settings use (the usage query sums each). */
export function windowsOf(s: EgressSettings): Duration[] {
  const all = [s.window, ...Object.values(s.clusters).map((c) => c.window), ...s.groups.map((g) => g.window)];
  const byMs = new Map<number, Duration>();
  for (const w of all) if (w && !byMs.has(w.ms)) byMs.set(w.ms, w);
  return [...byMs.values()];
}

/** Docker Hub activity of one node, as the usage query returns it. */
export interface NodeUsage {
  cluster: string;
  node: string;
  /** Counted pulls per window length (ms → pulls within that long before now). */
  used: Map<number, number>;
  /** Counted pulls in the last hour: the current rate. */
  lastHour: number;
  /** Pulls Docker Hub refused with 429 per window length. */
  rateLimited: Map<number, number>;
}

export interface EgressQuota {
  egress: string;
  clusters: string[];
  limit: number;
  used: number;
  remaining: number;
  ratePerHour: number;
  exhaustedAt: string | null;
  rateLimitedFailures: number;
  /** Only when it differs from the default window. */
  window?: string;
}

const HOUR = 3_600_000;

/** The share of the quota used from which an egress is `near` its limit, unless a dockerhub_quota rule says otherwise. */
export const DEFAULT_NEAR_SHARE = 0.8;

export type QuotaLevel = 'ok' | 'near' | 'full';

/** How close an egress is to its quota: the dashboard's colour and the alert rule's threshold are one number. */
export function quotaLevel(q: { used: number; limit: number }, nearShare: number): QuotaLevel {
  const share = q.used / q.limit;
  return share >= 1 ? 'full' : share >= nearShare ? 'near' : 'ok';
}

/**
 * When pulls at `ratePerHour` use up `remaining`, if that is within one window from now: now when
 * nothing remains. Pulls leaving the window meanwhile are not credited back, so the forecast errs
 * early, as a warning should.
 */
export function exhaustionTime(remaining: number, ratePerHour: number, windowMs: number, now: number): number | null {
  if (remaining <= 0) return now;
  if (ratePerHour <= 0) return null;
  const at = now + (remaining / ratePerHour) * HOUR;
  return at - now <= windowMs ? Math.round(at) : null;
}

/**
 * Quota per egress: nodes (and settings' groups and clusters, idle or not) folded into egresses,
 * most used first (by share of the limit, then name).
 */
export function quotaByEgress(s: EgressSettings, nodes: readonly NodeUsage[], now: number): EgressQuota[] {
  const acc = new Map<string, { e: Egress; clusters: Set<string>; used: number; lastHour: number; limited: number }>();
  const touch = (e: Egress, cluster: string | null) => {
    let a = acc.get(e.egress);
    if (!a) {
      a = { e, clusters: new Set(), used: 0, lastHour: 0, limited: 0 };
      acc.set(e.egress, a);
    }
    if (cluster) a.clusters.add(cluster);
    return a;
  };
  for (const g of s.groups) {
    const e = { egress: `group:${g.name}`, limit: g.limit ?? s.limit, window: g.window ?? s.window };
    const a = touch(e, null);
    for (const c of [...g.clusters, ...g.nodes.map((n) => n.cluster)]) a.clusters.add(c);
  }
  for (const [cluster, c] of Object.entries(s.clusters))
    if (c.egress === 'cluster' && !s.groups.some((g) => g.clusters.includes(cluster)))
      touch(egressOf(s, cluster, ''), cluster);
  for (const n of nodes) {
    const e = egressOf(s, n.cluster, n.node);
    const a = touch(e, n.cluster);
    a.used += n.used.get(e.window.ms) ?? 0;
    a.lastHour += n.lastHour;
    a.limited += n.rateLimited.get(e.window.ms) ?? 0;
  }
  return [...acc.values()]
    .map(({ e, clusters, used, lastHour, limited }) => {
      // The rate over the last hour, or over the whole window when that is shorter.
      const ratePerHour = e.window.ms < HOUR ? (used * HOUR) / e.window.ms : lastHour;
      const remaining = Math.max(0, e.limit - used);
      const at = exhaustionTime(remaining, ratePerHour, e.window.ms, now);
      const q: EgressQuota = {
        egress: e.egress,
        clusters: [...clusters].sort(),
        limit: e.limit,
        used,
        remaining,
        ratePerHour: Math.round(ratePerHour * 100) / 100,
        exhaustedAt: at === null ? null : new Date(at).toISOString(),
        rateLimitedFailures: limited,
      };
      if (e.window.ms !== s.window.ms) q.window = e.window.text;
      return q;
    })
    .sort((x, y) => y.used / y.limit - x.used / x.limit || x.egress.localeCompare(y.egress));
}

/**
 * An egress the alert rule flags: at least `threshold` of its limit used, or exhaustion forecast within
 * `forecastMs`.
 */
export function nearlyExhausted(q: EgressQuota, threshold: number, forecastMs: number, now: number): boolean {
  if (q.used >= threshold * q.limit) return true;
  return q.exhaustedAt !== null && Date.parse(q.exhaustedAt) - now <= forecastMs;
}
