import { readFileSync } from 'node:fs';
import { parseReference } from '@pullwatch/classifier';
import {
  type Diagnosis,
  DOCKER_HUB,
  diagnosedHint,
  type Evidence,
  type FailingImage,
  FleetView,
  OfficialImages,
  parseOfficialImages,
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

export interface Diagnosed {
  cause: string;
  suggestion: string | null;
  evidence: Evidence | null;
  hint: string;
}

/**
 * "Did you mean" for the items of a request: reads the fleet's successful pulls once per request (for the
 * registries the suggestible items name), then diagnoses each distinct item from memory. The name
 * indexes behind it are kept across requests (core/did-you-mean.ts RepositoryIndexCache) and rebuilt
 * only when a registry's set of repositories changes.
 */
export class Diagnoser {
  private readonly cache = new RepositoryIndexCache();
  private readonly official: OfficialImages;

  constructor(
    private readonly queries: Pick<DiagnosisQueries, 'fleetPulls'>,
    official: readonly string[] = officialImages(),
  ) {
    this.official = new OfficialImages(official);
  }

  async diagnoseAll(items: readonly { image: string; cause: string; hint: string }[], now: Date): Promise<Diagnosed[]> {
    const refs = items.map((i) => (SUGGESTIBLE_CAUSES.includes(i.cause) && i.image ? referenceOf(i.image) : null));
    const registries = [...new Set(refs.flatMap((r) => (r ? [r.registry] : [])))].sort();
    const fleet = new FleetView(await this.queries.fleetPulls(registries, now), this.official, this.cache);
    const cache = new Map<string, Diagnosis>();
    return items.map((item, i) => {
      const ref = refs[i];
      if (!ref) return { cause: item.cause, suggestion: null, evidence: null, hint: item.hint };
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
