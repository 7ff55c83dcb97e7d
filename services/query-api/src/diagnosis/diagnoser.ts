import { readFileSync } from 'node:fs';
import { parseReference } from '@pullwatch/classifier';
import {
  type Diagnosis,
  DOCKER_HUB,
  diagnosedHint,
  type DockerHubRefusals,
  dockerHubProxyOf,
  type Evidence,
  type FailingImage,
  type FleetPull,
  FleetView,
  type Move,
  movesAt,
  OfficialImages,
  parseMovedImages,
  parseOfficialImages,
  PROXY_MASK_WINDOW_MS,
  PROXY_MASKABLE_CAUSES,
  proxyMaskedDiagnosis,
  RepositoryIndexCache,
  SUGGESTIBLE_CAUSES,
} from '../core/did-you-mean.ts';
import type { DiagnosisQueries } from './queries.ts';

export const officialImagesPath = new URL('../../data/docker-official-images.txt', import.meta.url).pathname;
let official: string[] | null = null;
/** Docker Hub's official images, read once from the shipped list. */
export function officialImages(): string[] {
  official ??= parseOfficialImages(readFileSync(officialImagesPath, 'utf8'));
  return official;
}

/** The reference of an image as written; for an invalid one, the repair (lower-case, no scheme) when that parses. */
function referenceOf(
  image: string,
): { registry: string; repository: string; tag: string; repaired: string | null } | null {
  const r = parseReference(image);
  if (r.ok)
    return {
      registry: r.reference.registry,
      repository: r.reference.repository,
      tag: r.reference.tag ?? '',
      repaired: null,
    };
  const fixed = image.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '').toLowerCase();
  const f = parseReference(fixed);
  return f.ok
    ? {
        registry: f.reference.registry,
        repository: f.reference.repository,
        tag: f.reference.tag ?? '',
        repaired: fixed,
      }
    : null;
}

export const movedImagesPath = new URL('../../data/moved-images.txt', import.meta.url).pathname;
let moved: Move[] | null = null;
/** The registry namespaces that moved, with their dates, read once from the shipped list. */
export function movedImages(): Move[] {
  moved ??= parseMovedImages(readFileSync(movedImagesPath, 'utf8'));
  return moved;
}

export interface Diagnosed {
  cause: string;
  suggestion: string | null;
  evidence: Evidence | null;
  hint: string;
}

/** How long the fleet's successful pulls read for "did you mean" are reused: new names show within this. */
export const FLEET_PULLS_TTL_MS = 60_000;

interface FleetEntry {
  /** The request time the pulls were read for, and when (wall clock). */
  now: number;
  readAt: number;
  pulls: readonly FleetPull[];
  /** A read under way for this key (single-flight), if any. */
  refreshing: Promise<readonly FleetPull[]> | null;
}

/** Registry sets whose fleet pulls are kept (each set is one key; a page names a handful of registries). */
const FLEET_KEYS = 64;

/**
 * "Did you mean" for the items of a request: diagnoses each distinct item from memory against the fleet's
 * successful pulls (for the registries the suggestible items name). Those pulls are a 30-day aggregate that
 * changes slowly: they are read once per `ttlMs` per set of registries (one read at a time per set, the
 * next one started in the background once half the time has passed), not once per request. The name
 * indexes behind them are kept too (core/did-you-mean.ts RepositoryIndexCache) and rebuilt only when a
 * registry's set of repositories changes. `ttlMs` 0 reads them on every request.
 */
export class Diagnoser {
  private readonly cache = new RepositoryIndexCache();
  private readonly official: OfficialImages;
  private readonly fleet = new Map<string, FleetEntry>();
  private readonly views = new WeakMap<readonly FleetPull[], { day: string; view: FleetView }>();

  constructor(
    private readonly queries: Pick<DiagnosisQueries, 'fleetPulls'> &
      Partial<Pick<DiagnosisQueries, 'dockerHubRefusals'>>,
    official: readonly string[] = officialImages(),
    private readonly moves: readonly Move[] = movedImages(),
    private readonly ttlMs = FLEET_PULLS_TTL_MS,
    private readonly clock: () => number = Date.now,
    /** Pull-through caches of Docker Hub (`host` or `host/project`), besides the `PROJECT/library/NAME` shape. */
    private readonly proxyCaches: readonly string[] = [],
  ) {
    this.official = new OfficialImages(official);
  }

  /** The fleet's pulls for these registries at `now`: from the cache while fresh, else read (single-flight). */
  private async fleetPulls(registries: string[], now: Date): Promise<readonly FleetPull[]> {
    if (!registries.length || this.ttlMs <= 0) return this.queries.fleetPulls(registries, now);
    const key = registries.join('\u0000');
    const entry = this.fleet.get(key);
    const t = now.getTime();
    const wall = this.clock();
    // Valid for requests within ttl after the time read for (a request asking about an earlier time reads).
    const fresh = (e: FleetEntry) => t >= e.now && t - e.now < this.ttlMs && wall - e.readAt < this.ttlMs;
    if (entry && fresh(entry)) {
      if (wall - entry.readAt >= this.ttlMs / 2 && !entry.refreshing)
        void this.read(key, registries, now).catch(() => {});
      return entry.pulls;
    }
    if (entry?.refreshing) {
      const pulls = await entry.refreshing;
      const e = this.fleet.get(key);
      if (e && fresh(e)) return pulls;
    }
    return this.read(key, registries, now);
  }

  /**
   * The FleetView of a read's pulls: kept with them while they are reused (its maps and remembered
   * diagnoses then cost nothing per request), rebuilt when the day (the moves in effect) changes.
   */
  private view(pulls: readonly FleetPull[], now: Date): FleetView {
    const day = now.toISOString().slice(0, 10);
    const held = this.views.get(pulls);
    if (held?.day === day) return held.view;
    const view = new FleetView(pulls, this.official, this.cache, movesAt(this.moves, now));
    this.views.set(pulls, { day, view });
    return view;
  }

  private read(key: string, registries: string[], now: Date): Promise<readonly FleetPull[]> {
    const readAt = this.clock();
    const p = this.queries.fleetPulls(registries, now);
    const held = this.fleet.get(key);
    if (held) held.refreshing = p;
    else this.fleet.set(key, { now: now.getTime(), readAt: Number.NEGATIVE_INFINITY, pulls: [], refreshing: p });
    return p.then(
      (pulls) => {
        this.fleet.delete(key);
        this.fleet.set(key, { now: now.getTime(), readAt, pulls, refreshing: null });
        for (const k of this.fleet.keys()) {
          if (this.fleet.size <= FLEET_KEYS) break;
          this.fleet.delete(k);
        }
        return pulls;
      },
      (err: unknown) => {
        const e = this.fleet.get(key);
        if (e?.refreshing === p) e.refreshing = null;
        throw err;
      },
    );
  }

  async diagnoseAll(items: readonly { image: string; cause: string; hint: string }[], now: Date): Promise<Diagnosed[]> {
    const refs = items.map((i) => (SUGGESTIBLE_CAUSES.includes(i.cause) && i.image ? referenceOf(i.image) : null));
    const registries = [...new Set(refs.flatMap((r) => (r ? [r.registry] : [])))].sort();
    const fleet = this.view(await this.fleetPulls(registries, now), now);
    // A not found from a pull-through cache of Docker Hub: asked once whether Docker Hub refuses the fleet.
    const proxies = items.map((item, i) => {
      const ref = refs[i];
      return ref && PROXY_MASKABLE_CAUSES.includes(item.cause)
        ? dockerHubProxyOf(ref.registry, ref.repository, this.proxyCaches)
        : null;
    });
    let refusals: DockerHubRefusals | null = null;
    if (this.queries.dockerHubRefusals && proxies.some((p) => p !== null)) {
      const r = await this.queries.dockerHubRefusals(new Date(now.getTime() - PROXY_MASK_WINDOW_MS), now);
      if (r.count > 0) refusals = r;
    }
    const cache = new Map<string, Diagnosis>();
    return items.map((item, i) => {
      const ref = refs[i];
      if (!ref) return { cause: item.cause, suggestion: null, evidence: null, hint: item.hint };
      const proxy = proxies[i];
      if (proxy && refusals) return proxyMaskedDiagnosis(item.cause, proxy, refusals);
      const key = `${item.cause}\u0000${item.image}`;
      let d = cache.get(key);
      if (!d) {
        d = diagnoseOne({ cause: item.cause, image: item.image, ...ref }, ref.repaired, fleet);
        cache.set(key, d);
      }
      return { ...d, hint: diagnosedHint(item.hint, item.cause, d) };
    });
  }
}

function diagnoseOne(f: FailingImage, repaired: string | null, fleet: FleetView): Diagnosis {
  if (repaired === null) return fleet.diagnose(f);
  // An invalid reference whose repair names a repository the fleet pulls (or an official image): that.
  if (fleet.pulls(f.registry, f.repository).length)
    return { cause: f.cause, suggestion: repaired, evidence: 'fleet_pulls_same_repository' };
  if (f.registry === DOCKER_HUB && fleet.official.repositories.has(f.repository))
    return { cause: f.cause, suggestion: repaired, evidence: 'docker_official_image' };
  const d = fleet.diagnose({ ...f, cause: 'not_found' });
  return { ...d, cause: f.cause };
}
