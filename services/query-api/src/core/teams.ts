/**
 * Teams as a filter (issue 17). A namespace's team is the one PULLWATCH_TEAMS_FILE names for it (a
 * cluster's entry first, then the fleet-wide one); for a namespace the file does not name, the
 * collector's team label stored on its pulls (`pull_events.team`, the latest non-empty one in the
 * window); otherwise it has none. The aggregates the routes read have no team column (and the file
 * exists only in the API), so a team filter becomes the (cluster, namespace) pairs of that team.
 */
/** A team mapping (PULLWATCH_TEAMS_FILE, validated by teams/file.ts): fleet-wide, then per cluster. */
export interface TeamMapping {
  namespaces: Record<string, string>;
  clusters: Record<string, Record<string, string>>;
}

export interface Teams {
  /** The team of a namespace in a cluster, or null when the mapping does not say. */
  of(cluster: string, namespace: string): string | null;
}

/** A cluster's entry wins over the fleet-wide one; a namespace in neither has no team. */
export function teamsFrom(file: TeamMapping): Teams {
  const fleet = new Map(Object.entries(file.namespaces));
  const perCluster = new Map(Object.entries(file.clusters).map(([c, m]) => [c, new Map(Object.entries(m))]));
  return { of: (cluster, namespace) => perCluster.get(cluster)?.get(namespace) ?? fleet.get(namespace) ?? null };
}

export const NO_TEAMS: Teams = { of: () => null };

/** A namespace with pulls in a window, and the latest team label stored on them ('' = none). */
export interface SeenNamespace {
  cluster: string;
  namespace: string;
  label: string;
}

export type Pair = readonly [cluster: string, namespace: string];

export interface TeamSummary {
  team: string;
  /** The clusters the team's namespaces are in, sorted. */
  clusters: string[];
  /** How many (cluster, namespace) pairs belong to it. */
  namespaces: number;
}

/** The team of a namespace: the mapping file's, else its stored label, else null (never guessed). */
export function teamOf(teams: Teams, n: SeenNamespace): string | null {
  return teams.of(n.cluster, n.namespace) ?? (n.label === '' ? null : n.label);
}

/** Every namespace's team, as a function: the file's, else the label stored in `seen`, else null. */
export function teamLookup(
  seen: readonly SeenNamespace[],
  teams: Teams,
): (cluster: string, namespace: string) => string | null {
  const labels = new Map(seen.map((n) => [`${n.cluster}\u0000${n.namespace}`, n.label]));
  return (cluster, namespace) =>
    teamOf(teams, { cluster, namespace, label: labels.get(`${cluster}\u0000${namespace}`) ?? '' });
}

const comparePairs = (a: Pair, b: Pair) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;

/** The (cluster, namespace) pairs of a team, sorted; none for a team nobody has. */
export function pairsOf(team: string, seen: readonly SeenNamespace[], teams: Teams): Pair[] {
  return seen
    .filter((n) => teamOf(teams, n) === team)
    .map((n): Pair => [n.cluster, n.namespace])
    .sort(comparePairs);
}

/** Every team with a namespace in `seen` (in `cluster` when given), by name. */
export function teamSummaries(seen: readonly SeenNamespace[], teams: Teams, cluster?: string): TeamSummary[] {
  const byTeam = new Map<string, { clusters: Set<string>; namespaces: number }>();
  for (const n of seen) {
    if (cluster !== undefined && n.cluster !== cluster) continue;
    const team = teamOf(teams, n);
    if (team === null) continue;
    const t = byTeam.get(team) ?? { clusters: new Set<string>(), namespaces: 0 };
    t.clusters.add(n.cluster);
    t.namespaces += 1;
    byTeam.set(team, t);
  }
  return [...byTeam.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([team, t]) => ({ team, clusters: [...t.clusters].sort(), namespaces: t.namespaces }));
}

const MINUTE = 60_000;

/**
 * For reads about now (stuck Pods, Pods still failing) without a window of their own: the pulls of
 * the last day decide the teams (a Pod failing now has failed within it).
 */
export const NOW_LOOKBACK_MS = 24 * 3_600_000;

/**
 * The window whose pulls decide the teams for a read of [from, to): whole minutes around it and one
 * more, as a per-minute aggregate row read for [from, to) holds pulls up to a minute past `to`.
 */
export function labelWindow(w: { from: Date; to: Date }): { from: Date; to: Date } {
  return {
    from: new Date(Math.floor(w.from.getTime() / MINUTE) * MINUTE),
    to: new Date(Math.ceil(w.to.getTime() / MINUTE) * MINUTE + MINUTE),
  };
}
