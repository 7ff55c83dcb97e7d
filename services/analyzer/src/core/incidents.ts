import { createHash } from 'node:crypto';

/** Failures of one registry/cause/cluster/image in one minute, as read from ClickHouse. */
export interface FailureBucket {
  registry: string;
  cause: string;
  cluster: string;
  image: string;
  minuteMs: number;
  lastMs: number;
  failures: number;
}

/** The last successful pull per registry+cluster and per image (for resolving). */
export interface SuccessMarks {
  byRegistryCluster: Map<string, number>;
  byImage: Map<string, number>;
}

export interface IncidentThresholds {
  /** Clusters that must fail with the same registry and cause for a `fleet` incident. */
  fleetMinClusters: number;
  /** …within this window. */
  fleetWindowMs: number;
  /** A gap this long ends an incident; this long without failures resolves it. */
  quietMs: number;
}

export interface Incident {
  id: string;
  registry: string;
  cause: string;
  scope: 'fleet' | 'cluster' | 'image';
  clusters: string[];
  images: string[];
  failures: number;
  startMs: number;
  lastSeenMs: number;
  endMs: number | null;
  status: 'open' | 'resolved';
}

// Causes that belong to one image (a typo, a removed tag, no build for the platform), not to the registry.
const IMAGE_CAUSES = new Set([
  'not_found',
  'invalid_reference',
  'not_found_or_unauthorized',
  'platform_mismatch',
  'pull_policy_never',
  'policy_denied',
]);

/**
 * Forms incidents from failure buckets: failures of the same registry and cause (and, for
 * image-bound causes, the same image) that follow each other without a quiet gap. Deterministic:
 * the same buckets give the same incidents and ids, whichever analyzer computes them.
 */
export function formIncidents(
  buckets: FailureBucket[],
  successes: SuccessMarks,
  t: IncidentThresholds,
  nowMs: number,
): Incident[] {
  const groups = new Map<string, FailureBucket[]>();
  for (const b of buckets) {
    if (b.cause === 'no_cause' || b.cause === 'unknown' || !b.registry) continue;
    const key = IMAGE_CAUSES.has(b.cause)
      ? `${b.registry}\u0000${b.cause}\u0000${b.image}`
      : `${b.registry}\u0000${b.cause}`;
    const list = groups.get(key) ?? [];
    list.push(b);
    groups.set(key, list);
  }
  const incidents: Incident[] = [];
  for (const [key, list] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    list.sort(
      (a, b) => a.minuteMs - b.minuteMs || a.cluster.localeCompare(b.cluster) || a.image.localeCompare(b.image),
    );
    let run: FailureBucket[] = [];
    const flush = () => {
      if (run.length) incidents.push(toIncident(key, run, successes, t, nowMs));
      run = [];
    };
    for (const b of list) {
      const last = run.length ? Math.max(...run.map((r) => r.lastMs)) : null;
      if (last !== null && b.minuteMs - last > t.quietMs) flush();
      run.push(b);
    }
    flush();
  }
  return incidents;
}

function toIncident(
  key: string,
  run: FailureBucket[],
  successes: SuccessMarks,
  t: IncidentThresholds,
  nowMs: number,
): Incident {
  const [registry, cause] = key.split('\u0000') as [string, string];
  const clusters = [...new Set(run.map((b) => b.cluster))].sort();
  const images = [...new Set(run.map((b) => b.image))].sort();
  const startMs = Math.min(...run.map((b) => b.minuteMs));
  const lastSeenMs = Math.max(...run.map((b) => b.lastMs));
  let scope: Incident['scope'];
  if (IMAGE_CAUSES.has(cause)) scope = 'image';
  else scope = spreadsWithin(run, t) ? 'fleet' : 'cluster';
  const recoveredAt =
    scope === 'image'
      ? successes.byImage.get(images[0]!)
      : Math.max(...clusters.map((c) => successes.byRegistryCluster.get(`${registry}\u0000${c}`) ?? 0));
  const recovered = recoveredAt !== undefined && recoveredAt > lastSeenMs;
  const quiet = nowMs - lastSeenMs > t.quietMs;
  const id = createHash('sha256')
    .update(`${registry}|${cause}|${scope === 'image' ? images[0] : ''}|${startMs}`)
    .digest('hex')
    .slice(0, 16);
  return {
    id,
    registry,
    cause,
    scope,
    clusters,
    images,
    failures: run.reduce((n, b) => n + b.failures, 0),
    startMs,
    lastSeenMs,
    endMs: recovered ? recoveredAt! : quiet ? lastSeenMs : null,
    status: recovered || quiet ? 'resolved' : 'open',
  };
}

/** Whether enough distinct clusters failed within one fleet window. */
function spreadsWithin(run: FailureBucket[], t: IncidentThresholds): boolean {
  for (let i = 0; i < run.length; i++) {
    const seen = new Set<string>();
    for (let j = i; j < run.length && run[j]!.minuteMs - run[i]!.minuteMs <= t.fleetWindowMs; j++) {
      seen.add(run[j]!.cluster);
      if (seen.size >= t.fleetMinClusters) return true;
    }
  }
  return false;
}
