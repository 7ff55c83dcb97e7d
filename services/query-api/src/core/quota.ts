// Docker Hub's pull quota per egress address (anonymous pulls) and per account (authenticated pulls):
// which Pods share one, how much of it they used, and when the current rate would exhaust it. Pure: usage
// rows and the egress settings come in.

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
    /** The address prefixes the group pulls from (documentation of the bucket: addresses are not in the data). */
    prefixes?: string[] | undefined;
    limit?: number | undefined;
    window?: Duration | undefined;
  }[];
  /** Default authenticated pulls per window and account (Docker Hub Personal: 200 per 6 h). */
  accountLimit?: number | undefined;
  accountWindow?: Duration | undefined;
  /** Docker Hub accounts and the clusters and namespaces that pull with their credentials. */
  accounts?: AccountSettings[] | undefined;
  /** `host` or `host/project` prefixes of pull-through caches of Docker Hub. */
  proxyCaches?: string[] | undefined;
}

export interface AccountSettings {
  name: string;
  limit?: number | undefined;
  window?: Duration | undefined;
  clusters: string[];
  namespaces: { cluster: string; namespace: string }[];
  /** pull-secrets: only Pods with imagePullSecrets pull as the account; all: every pull there (node credentials). */
  pulls: 'pull-secrets' | 'all';
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

/** Docker Hub Personal's authenticated limit: 200 pulls per 6 h and account. */
export const DEFAULT_ACCOUNT_LIMIT = 200;
const SIX_HOURS: Duration = { text: '6h', ms: 6 * 3_600_000 };

const accountLimit = (s: EgressSettings, a?: AccountSettings) => a?.limit ?? s.accountLimit ?? DEFAULT_ACCOUNT_LIMIT;
const accountWindow = (s: EgressSettings, a?: AccountSettings) => a?.window ?? s.accountWindow ?? SIX_HOURS;

/**
 * The configured account a pull in `namespace` of `cluster` is made as, if any: a namespace's account before
 * its cluster's; with `pulls: pull-secrets`, only for Pods known to have imagePullSecrets.
 */
export function accountOf(
  s: EgressSettings,
  cluster: string,
  namespace: string,
  withPullSecrets: boolean,
): AccountSettings | null {
  const accounts = s.accounts ?? [];
  const a =
    accounts.find((x) => x.namespaces.some((n) => n.cluster === cluster && n.namespace === namespace)) ??
    accounts.find((x) => x.clusters.includes(cluster));
  return a && (a.pulls === 'all' || withPullSecrets) ? a : null;
}

/** Every distinct window the settings use (the usage query sums each). */
export function windowsOf(s: EgressSettings): Duration[] {
  const all = [
    s.window,
    ...Object.values(s.clusters).map((c) => c.window),
    ...s.groups.map((g) => g.window),
    ...(s.accounts?.length ? [accountWindow(s), ...s.accounts.map((a) => a.window)] : []),
  ];
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

/**
 * Docker Hub activity of one (cluster, node, namespace, credentials, account) as the usage query returns it:
 * `namespace` is '' unless an account names namespaces; `account` is the Docker ID a 429 names (`… pull
 * rate limit as 'ID'`), '' for every other row.
 */
export interface PullUsage extends NodeUsage {
  namespace: string;
  withPullSecrets: boolean;
  account: string;
  /** The last 429 of the row (epoch ms), null when none. */
  lastRateLimited: number | null;
}

/** Authenticated Docker Hub activity of one account in one cluster. */
export interface AccountUsage {
  account: string;
  cluster: string;
  used: Map<number, number>;
  lastHour: number;
  rateLimited: Map<number, number>;
  lastRateLimited: number | null;
}

const addInto = (into: Map<number, number>, from: Map<number, number>) => {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
};

/**
 * Each usage row to its bucket: a 429 naming an account to that account; pulls the settings say are made
 * with an account's credentials to the account; the rest (anonymous pulls, anonymous 429s) to the node's
 * egress, as before accounts.
 */
export function splitUsage(
  s: EgressSettings,
  rows: readonly PullUsage[],
): { nodes: NodeUsage[]; accounts: AccountUsage[] } {
  const nodes = new Map<string, NodeUsage>();
  const accounts = new Map<string, AccountUsage>();
  for (const r of rows) {
    // The node is listed whoever's bucket its pulls go to: it shares the egress address either way.
    const key = `${r.cluster}\u0000${r.node}`;
    let n = nodes.get(key);
    if (!n) {
      n = { cluster: r.cluster, node: r.node, used: new Map(), lastHour: 0, rateLimited: new Map() };
      nodes.set(key, n);
    }
    const account = r.account || accountOf(s, r.cluster, r.namespace, r.withPullSecrets)?.name;
    if (!account) {
      addInto(n.used, r.used);
      n.lastHour += r.lastHour;
      addInto(n.rateLimited, r.rateLimited);
      continue;
    }
    const akey = `${account}\u0000${r.cluster}`;
    let a = accounts.get(akey);
    if (!a) {
      a = { account, cluster: r.cluster, used: new Map(), lastHour: 0, rateLimited: new Map(), lastRateLimited: null };
      accounts.set(akey, a);
    }
    addInto(a.used, r.used);
    a.lastHour += r.lastHour;
    addInto(a.rateLimited, r.rateLimited);
    if (r.lastRateLimited !== null) a.lastRateLimited = Math.max(a.lastRateLimited ?? 0, r.lastRateLimited);
  }
  return { nodes: [...nodes.values()], accounts: [...accounts.values()] };
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
  /** Only for a group with prefixes: the address prefixes Docker Hub counts as this bucket. */
  prefixes?: string[];
}

export interface AccountQuota {
  account: string;
  /** false: named only by Docker Hub's 429s (its pulls are not attributed: used counts none of them). */
  configured: boolean;
  clusters: string[];
  limit: number;
  window: string;
  used: number;
  remaining: number;
  ratePerHour: number;
  exhaustedAt: string | null;
  rateLimitedFailures: number;
  /** The last 429 naming the account in the window. */
  lastRateLimitedAt: string | null;
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

/** A refusal this recent says an account is out of pulls now, whatever the fleet's own count says. */
export const RECENT_REFUSAL_MS = 3_600_000;

/**
 * An account's level: as an egress's, except `full` when Docker Hub refused it within the last hour — an
 * account's pulls outside the fleet (CI, laptops) use its quota too, and the fleet cannot count those.
 */
export function accountLevel(q: AccountQuota, nearShare: number, now: number): QuotaLevel {
  return refusedRecently(q, now) ? 'full' : quotaLevel(q, nearShare);
}

/** Docker Hub refused the account within RECENT_REFUSAL_MS of `now`. */
export function refusedRecently(q: Pick<AccountQuota, 'lastRateLimitedAt'>, now: number): boolean {
  return q.lastRateLimitedAt !== null && now - Date.parse(q.lastRateLimitedAt) <= RECENT_REFUSAL_MS;
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
      const prefixes = e.egress.startsWith('group:')
        ? s.groups.find((g) => `group:${g.name}` === e.egress)?.prefixes
        : undefined;
      if (prefixes?.length) q.prefixes = prefixes;
      return q;
    })
    .sort((x, y) => y.used / y.limit - x.used / x.limit || x.egress.localeCompare(y.egress));
}

const rateOf = (used: number, lastHour: number, windowMs: number) =>
  // The rate over the last hour, or over the whole window when that is shorter.
  windowMs < HOUR ? (used * HOUR) / windowMs : lastHour;

/**
 * Quota per Docker Hub account: the configured accounts (idle or not) and every account a 429 named, one
 * bucket each however many clusters share its credentials; most used first (share of the limit, then name).
 */
export function quotaByAccount(s: EgressSettings, usage: readonly AccountUsage[], now: number): AccountQuota[] {
  const acc = new Map<
    string,
    { a?: AccountSettings; clusters: Set<string>; used: number; lastHour: number; limited: number; last: number | null }
  >();
  const touch = (account: string) => {
    let x = acc.get(account);
    if (!x) {
      x = { clusters: new Set(), used: 0, lastHour: 0, limited: 0, last: null };
      acc.set(account, x);
    }
    return x;
  };
  for (const a of s.accounts ?? []) {
    const x = touch(a.name);
    x.a = a;
    for (const c of [...a.clusters, ...a.namespaces.map((n) => n.cluster)]) x.clusters.add(c);
  }
  for (const u of usage) {
    const x = touch(u.account);
    const w = accountWindow(s, x.a).ms;
    x.clusters.add(u.cluster);
    x.used += u.used.get(w) ?? 0;
    x.lastHour += u.lastHour;
    const limited = u.rateLimited.get(w) ?? 0;
    x.limited += limited;
    if (limited && u.lastRateLimited !== null) x.last = Math.max(x.last ?? 0, u.lastRateLimited);
  }
  return [...acc.entries()]
    .map(([account, x]): AccountQuota => {
      const limit = accountLimit(s, x.a);
      const window = accountWindow(s, x.a);
      const ratePerHour = rateOf(x.used, x.lastHour, window.ms);
      const remaining = Math.max(0, limit - x.used);
      const at = exhaustionTime(remaining, ratePerHour, window.ms, now);
      return {
        account,
        configured: x.a !== undefined,
        clusters: [...x.clusters].sort(),
        limit,
        window: window.text,
        used: x.used,
        remaining,
        ratePerHour: Math.round(ratePerHour * 100) / 100,
        exhaustedAt: at === null ? null : new Date(at).toISOString(),
        rateLimitedFailures: x.limited,
        lastRateLimitedAt: x.last === null ? null : new Date(x.last).toISOString(),
      };
    })
    .sort((x, y) => y.used / y.limit - x.used / x.limit || x.account.localeCompare(y.account));
}

/**
 * An egress or account the alert rule flags: at least `threshold` of its limit used, or exhaustion forecast
 * within `forecastMs`.
 */
export function nearlyExhausted(
  q: Pick<EgressQuota, 'used' | 'limit' | 'exhaustedAt'>,
  threshold: number,
  forecastMs: number,
  now: number,
): boolean {
  if (q.used >= threshold * q.limit) return true;
  return q.exhaustedAt !== null && Date.parse(q.exhaustedAt) - now <= forecastMs;
}
