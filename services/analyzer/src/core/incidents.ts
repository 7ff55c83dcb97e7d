import { createHash } from 'node:crypto';
import { isConcreteCause, isImageCause as isImageCauseOf } from '@pullwatch/classifier';

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

/**
 * An incident stored as `open` that began before the look-back window: the window's buckets no longer
 * hold its start, so its identity and what it had before the window come from ClickHouse.
 */
export interface CarriedIncident {
  id: string;
  registry: string;
  cause: string;
  scope: Incident['scope'];
  startMs: number;
  lastSeenMs: number;
  /** All failures stored for it (used when it has no failures left in the window). */
  failures: number;
  clusters: string[];
  images: string[];
  /** Its failures from its start up to the window start (exact, read from ClickHouse). */
  failuresBeforeWindow: number;
}

/** The incidents that outlive the look-back: carried into the window that starts at `windowStartMs`. */
export interface Carry {
  windowStartMs: number;
  open: CarriedIncident[];
}

/** The grouping key of an incident: registry and cause, plus the image for image-bound causes. */
export function incidentKey(registry: string, cause: string, image: string): string {
  return isImageCauseOf(cause) ? `${registry}\u0000${cause}\u0000${image}` : `${registry}\u0000${cause}`;
}

/** Whether a cause belongs to one image (its incidents are keyed by image, scope `image`). */
export function isImageCause(cause: string): boolean {
  return isImageCauseOf(cause);
}

/**
 * Forms incidents from failure buckets: failures of the same registry and cause (and, for
 * image-bound causes, the same image) that follow each other without a quiet gap. Deterministic:
 * the same buckets give the same incidents and ids, whichever analyzer computes them.
 *
 * The id hashes the incident's start, which for an incident longer than the look-back lies before the
 * buckets: `carry` hands in such incidents still open, and the run that continues one (the first of
 * its key, beginning within a quiet gap of the window start) keeps its id, start and earlier figures.
 * A carried incident with no failures left in the window is resolved.
 */
export function formIncidents(
  buckets: FailureBucket[],
  successes: SuccessMarks,
  t: IncidentThresholds,
  nowMs: number,
  carry: Carry = { windowStartMs: Number.NEGATIVE_INFINITY, open: [] },
): Incident[] {
  const carried = new Map<string, CarriedIncident>();
  for (const o of carry.open) {
    if (o.startMs >= carry.windowStartMs) continue; // its start is in the buckets: its id follows from them
    carried.set(incidentKey(o.registry, o.cause, o.images[0] ?? ''), o);
  }
  const groups = new Map<string, FailureBucket[]>();
  for (const b of buckets) {
    if (!isConcreteCause(b.cause) || !b.registry) continue;
    const key = incidentKey(b.registry, b.cause, b.image);
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
    let first = true;
    const flush = () => {
      if (!run.length) return;
      const earlier = carried.get(key);
      const continues = first && earlier !== undefined && run[0]!.minuteMs - carry.windowStartMs <= t.quietMs;
      incidents.push(toIncident(key, run, successes, t, nowMs, continues ? earlier : undefined));
      if (continues) carried.delete(key);
      first = false;
      run = [];
    };
    for (const b of list) {
      const last = run.length ? Math.max(...run.map((r) => r.lastMs)) : null;
      if (last !== null && b.minuteMs - last > t.quietMs) flush();
      run.push(b);
    }
    flush();
  }
  // Carried incidents without failures in the window have been quiet for longer than the window.
  for (const o of [...carried.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    incidents.push({
      id: o.id,
      registry: o.registry,
      cause: o.cause,
      scope: o.scope,
      clusters: o.clusters,
      images: o.images,
      failures: o.failures,
      startMs: o.startMs,
      lastSeenMs: o.lastSeenMs,
      endMs: o.lastSeenMs,
      status: 'resolved',
    });
  }
  return incidents;
}

function toIncident(
  key: string,
  run: FailureBucket[],
  successes: SuccessMarks,
  t: IncidentThresholds,
  nowMs: number,
  earlier?: CarriedIncident,
): Incident {
  const [registry, cause] = key.split('\u0000') as [string, string];
  const clusters = [...new Set([...(earlier?.clusters ?? []), ...run.map((b) => b.cluster)])].sort();
  const images = [...new Set([...(earlier?.images ?? []), ...run.map((b) => b.image)])].sort();
  const startMs = earlier?.startMs ?? Math.min(...run.map((b) => b.minuteMs));
  const lastSeenMs = Math.max(...run.map((b) => b.lastMs));
  let scope: Incident['scope'];
  if (isImageCauseOf(cause)) scope = 'image';
  else scope = earlier?.scope === 'fleet' || spreadsWithin(run, t) ? 'fleet' : 'cluster';
  const recoveredAt =
    scope === 'image'
      ? successes.byImage.get(images[0]!)
      : Math.max(...clusters.map((c) => successes.byRegistryCluster.get(`${registry}\u0000${c}`) ?? 0));
  const recovered = recoveredAt !== undefined && recoveredAt > lastSeenMs;
  const quiet = nowMs - lastSeenMs > t.quietMs;
  const id = earlier?.id ?? incidentId(registry, cause, scope === 'image' ? images[0]! : '', startMs);
  return {
    id,
    registry,
    cause,
    scope,
    clusters,
    images,
    failures: (earlier?.failuresBeforeWindow ?? 0) + run.reduce((n, b) => n + b.failures, 0),
    startMs,
    lastSeenMs,
    endMs: recovered ? recoveredAt! : quiet ? lastSeenMs : null,
    status: recovered || quiet ? 'resolved' : 'open',
  };
}

/** An incident's id: its key and start, so every analyzer computing it from the same data agrees. */
export function incidentId(registry: string, cause: string, image: string, startMs: number): string {
  return createHash('sha256').update(`${registry}|${cause}|${image}|${startMs}`).digest('hex').slice(0, 16);
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
