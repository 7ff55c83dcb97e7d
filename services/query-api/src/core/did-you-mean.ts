// "Did you mean …?": which image a failing Pod most likely meant, and whether a denial is a typo or
// missing credentials. Pure: the fleet's successful pulls and Docker Hub's official images come in as
// arguments.

/**
 * Damerau–Levenshtein distance (optimal string alignment: insertions, deletions, substitutions and
 * transpositions of two adjacent characters, each costing 1).
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!;
    const prev = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row[j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** How far a name may be from another to count as a typo of it: 1 for names of up to 4 characters, else 2. */
export function maxDistanceFor(name: string): number {
  return name.length <= 4 ? 1 : 2;
}

/** Causes whose failure may be a mistyped image (Docker Hub answers "unauthorized" for missing repositories). */
export const SUGGESTIBLE_CAUSES = ['not_found', 'not_found_or_unauthorized', 'invalid_reference', 'unauthorized'];

export const DOCKER_HUB = 'docker.io';

/** The evidence a diagnosis used. */
export type Evidence = 'fleet_pulls_same_repository' | 'similar_fleet_image' | 'docker_official_image';

/** A repository and tag the fleet pulled successfully (in the last 30 days). */
export interface FleetPull {
  registry: string;
  /** Normalised repository path, e.g. `library/nginx`. */
  repository: string;
  tag: string;
  /** The image as the Pods wrote it, e.g. `nginx:1.27.3`. */
  image: string;
  pulls: number;
  /** Pulls by Pods known to have imagePullSecrets. */
  withSecrets: number;
  /** Pulls by Pods known to have none. */
  withoutSecrets: number;
}

export interface FailingImage {
  cause: string;
  registry: string;
  /** Normalised repository path ('' when the reference did not parse). */
  repository: string;
  tag: string;
  /** The image as written in the Pod spec. */
  image: string;
}

export interface Diagnosis {
  /** The cause after weighing the fleet's evidence (an ambiguous denial may become `unauthorized`). */
  cause: string;
  suggestion: string | null;
  evidence: Evidence | null;
}

const NONE = (cause: string): Diagnosis => ({ cause, suggestion: null, evidence: null });

/** The name a user types for a repository: Docker Hub's `library/` dropped. */
function shortName(registry: string, repository: string): string {
  return registry === DOCKER_HUB && repository.startsWith('library/') ? repository.slice(8) : repository;
}

/** The last path component: `acme/web` → `web`. */
const lastOf = (repository: string) => repository.slice(repository.lastIndexOf('/') + 1);

/**
 * How far `candidate` is from what the user wrote, or null when it is not a plausible typo: the
 * edit distance of the names as typed (within maxDistanceFor of the written name's last component),
 * or 1 when only an org prefix (or Docker Hub's `library/`) is missing or extra.
 */
export function repositoryDistance(registry: string, wrote: string, candidate: string): number | null {
  if (wrote === candidate) return null;
  const a = shortName(registry, wrote);
  const b = shortName(registry, candidate);
  const d = editDistance(a, b);
  if (d <= maxDistanceFor(lastOf(a))) return d;
  // A missing or extra org prefix (or Docker Hub's `library/`): one name is the other's tail.
  if (a.endsWith(`/${b}`) || b.endsWith(`/${a}`)) return 1;
  return null;
}

/** `nginx:1.27` for docker.io/library/nginx with tag 1.27 — the form people write. */
export function familiar(registry: string, repository: string, tag: string): string {
  const name = registry === DOCKER_HUB ? shortName(registry, repository) : `${registry}/${repository}`;
  return tag ? `${name}:${tag}` : name;
}

/**
 * The image the user most likely meant, and the evidence for it:
 * - the same repository pulled successfully elsewhere: the name is right. An ambiguous denial
 *   (`not_found_or_unauthorized`, or `unauthorized` from Docker Hub) is then missing credentials —
 *   unless every such pull was by a Pod known to have no pull secrets (then it is public, and the
 *   tag is what is wrong: a close tag that pulls is suggested);
 * - else the closest repository (same registry) the fleet pulled, then Docker Hub's official
 *   images; with the same tag where the fleet pulled that, else the fleet's most pulled tag of it
 *   (official images keep the tag written);
 * - else nothing: a suggestion is never invented.
 */
export function diagnose(f: FailingImage, fleet: readonly FleetPull[], officialImages: readonly string[]): Diagnosis {
  if (!SUGGESTIBLE_CAUSES.includes(f.cause)) return NONE(f.cause);
  if (f.cause === 'unauthorized' && f.registry !== DOCKER_HUB) return NONE(f.cause);
  if (!f.repository || !f.registry) return NONE(f.cause);
  const sameRegistry = fleet.filter((p) => p.registry === f.registry);

  const same = sameRegistry.filter((p) => p.repository === f.repository);
  if (same.length) {
    const anonymousOnly = same.every((p) => p.withoutSecrets === p.pulls);
    const ambiguous = f.cause === 'not_found_or_unauthorized' || f.cause === 'unauthorized';
    if (ambiguous && !anonymousOnly)
      return { cause: 'unauthorized', suggestion: null, evidence: 'fleet_pulls_same_repository' };
    // The repository exists (and here is public, or not found was plain): the tag is what is wrong.
    if (same.some((p) => p.tag === f.tag)) return NONE(f.cause);
    const tags = same
      .map((p) => ({ p, d: editDistance(f.tag, p.tag) }))
      .filter((x) => f.tag && x.d <= maxDistanceFor(f.tag))
      .sort((x, y) => x.d - y.d || y.p.pulls - x.p.pulls || x.p.tag.localeCompare(y.p.tag));
    const best = tags[0];
    return best ? { cause: f.cause, suggestion: best.p.image, evidence: 'fleet_pulls_same_repository' } : NONE(f.cause);
  }

  // An official image's name is right as written (its tag may not be): no other name is suggested.
  if (f.registry === DOCKER_HUB && officialImages.some((name) => `library/${name}` === f.repository))
    return NONE(f.cause);

  // Fleet repositories close to the one written, by distance, then most pulled.
  const byRepo = new Map<string, FleetPull[]>();
  for (const p of sameRegistry) byRepo.set(p.repository, [...(byRepo.get(p.repository) ?? []), p]);
  const close = [...byRepo.entries()]
    .map(([repository, pulls]) => ({
      repository,
      pulls,
      total: pulls.reduce((n, p) => n + p.pulls, 0),
      d: repositoryDistance(f.registry, f.repository, repository),
    }))
    .filter((c): c is typeof c & { d: number } => c.d !== null)
    .sort((x, y) => x.d - y.d || y.total - x.total || x.repository.localeCompare(y.repository));

  const official =
    f.registry === DOCKER_HUB
      ? officialImages
          .map((name) => ({
            repository: `library/${name}`,
            d: repositoryDistance(f.registry, f.repository, `library/${name}`),
          }))
          .filter((c): c is { repository: string; d: number } => c.d !== null)
          .sort((x, y) => x.d - y.d || x.repository.localeCompare(y.repository))
      : [];

  const fleetBest = close[0];
  const officialBest = official[0];
  // The fleet's own images win ties: they are what this fleet runs.
  if (fleetBest && (!officialBest || fleetBest.d <= officialBest.d)) {
    const sameTag = fleetBest.pulls.find((p) => p.tag === f.tag);
    const mostPulled = [...fleetBest.pulls].sort((x, y) => y.pulls - x.pulls || x.tag.localeCompare(y.tag))[0]!;
    return { cause: f.cause, suggestion: (sameTag ?? mostPulled).image, evidence: 'similar_fleet_image' };
  }
  if (officialBest)
    return {
      cause: f.cause,
      suggestion: familiar(f.registry, officialBest.repository, f.tag),
      evidence: 'docker_official_image',
    };
  return NONE(f.cause);
}

/**
 * The hint as shown: "Did you mean IMAGE?" first when there is a suggestion; the credentials reading when the
 * cause changed.
 */
export function diagnosedHint(hint: string, originalCause: string, d: Diagnosis): string {
  if (d.suggestion) return `Did you mean ${d.suggestion}? ${hint}`.trimEnd();
  if (d.cause !== originalCause && d.evidence === 'fleet_pulls_same_repository')
    return (
      `This repository pulls successfully elsewhere in the fleet, so the name is right: the Pod lacks ` +
      `credentials. Set up an imagePullSecret (or node credential provider / workload identity) with pull ` +
      `access to this repository.`
    );
  return hint;
}

/** Docker Hub's official image names from the shipped list (one a line, # comments). */
export function parseOfficialImages(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
