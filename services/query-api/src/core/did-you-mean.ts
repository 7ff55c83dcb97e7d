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
export type Evidence =
  | 'fleet_pulls_same_repository'
  | 'similar_fleet_image'
  | 'docker_official_image'
  | 'moved_image'
  | 'upstream_rate_limited';

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
  /** With evidence `moved_image`: the move that suggested it. */
  moved?: Move;
}

/** A registry namespace that moved: `from` (registry/path prefix, `/`-terminated) is served from `to` since `since`. */
export interface Move {
  from: string;
  to: string;
  /** ISO date (UTC) from which images under `from` are gone or frozen. */
  since: string;
  source: string;
}

/**
 * The shipped list of moved images (`data/moved-images.txt`): one move a line, `FROM TO SINCE SOURCE`, white
 * space between, `#` comments. A malformed line throws: the file ships with the service and its tests.
 */
export function parseMovedImages(text: string): Move[] {
  const moves: Move[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [from, to, since, source, ...rest] = line.split(/\s+/);
    if (
      !from?.endsWith('/') ||
      !to?.endsWith('/') ||
      !since ||
      !/^\d{4}-\d{2}-\d{2}$/.test(since) ||
      !source ||
      rest.length
    )
      throw new Error(`moved-images: malformed line: ${line}`);
    moves.push({ from, to, since, source });
  }
  return moves;
}

/** The moves in effect at `now` (their date reached), longest prefix first. */
export function movesAt(moves: readonly Move[], now: Date): Move[] {
  const day = now.toISOString().slice(0, 10);
  return moves.filter((m) => m.since <= day).sort((a, b) => b.from.length - a.from.length);
}

const NONE = (cause: string): Diagnosis => ({ cause, suggestion: null, evidence: null });

/**
 * The cause once a close name the fleet pulls (or an official image) is found for a repository that never
 * pulled anywhere: a denial that may mean "does not exist" (`not_found_or_unauthorized`, or Docker Hub's
 * `unauthorized`) is then most likely a typo, `not_found`. Other causes stay as they are.
 */
export function typoCause(cause: string): string {
  return cause === 'not_found_or_unauthorized' || cause === 'unauthorized' ? 'not_found' : cause;
}

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
  const max = maxDistanceFor(lastOf(a));
  const d = boundedEditDistance(a, b, max);
  if (d <= max) return d;
  // A missing or extra org prefix (or Docker Hub's `library/`): one name is the other's tail.
  if (a.endsWith(`/${b}`) || b.endsWith(`/${a}`)) return 1;
  return null;
}

/**
 * editDistance(a, b) when it is at most `max`, else max + 1, in O(max · length): only the diagonal band
 * |i - j| <= max can hold a distance within max, and the work stops once a whole row exceeds it.
 */
export function boundedEditDistance(a: string, b: string, max: number): number {
  if (a === b) return 0;
  const over = max + 1;
  if (Math.abs(a.length - b.length) > max) return over;
  // A common prefix and suffix cost nothing: only the middles are compared.
  let start = 0;
  while (start < a.length && start < b.length && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  if (start > 0 || endA < a.length) {
    a = a.slice(start, endA);
    b = b.slice(start, endB);
  }
  if (!a.length || !b.length) return Math.max(a.length, b.length);
  const w = b.length + 1;
  let prev2 = new Array<number>(w).fill(over);
  let prev = new Array<number>(w).fill(over);
  let cur = new Array<number>(w).fill(over);
  for (let j = 0; j <= Math.min(max, b.length); j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - max);
    const hi = Math.min(b.length, i + max);
    // The cells just outside the band read as "too far" (they may hold an older row's values).
    cur[lo - 1] = lo === 1 && i <= max ? i : over;
    if (hi < b.length) cur[hi + 1] = over;
    let rowMin = cur[lo - 1]!;
    const ai = a.charCodeAt(i - 1);
    for (let j = lo; j <= hi; j++) {
      const bj = b.charCodeAt(j - 1);
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ai === bj ? 0 : 1));
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj)
        d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = Math.min(d, over);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return over;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return Math.min(prev[b.length]!, over);
}

/**
 * A name's characters in 64 bits: bit c of the first word when a character of bucket c (its code mod 32)
 * appears, of the second when it appears twice or more. An edit changes the counts of at most two
 * characters by one, so flips at most two bits: differing bits / 2 is a lower bound of the distance.
 */
function signature(s: string): [number, number] {
  let once = 0;
  let twice = 0;
  for (let i = 0; i < s.length; i++) {
    const bit = 1 << (s.charCodeAt(i) & 31);
    twice |= once & bit;
    once |= bit;
  }
  return [once, twice];
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * At most this many edit distances per name looked up: only a fleet of thousands of names of the same
 * length and letters passes the cheaper filters that often, and the lookup then stays bounded (the
 * candidates are tried closest length first, then in name order; a missing org prefix is always found).
 */
export const MAX_DISTANCE_CHECKS = 1_000;
/** Lookups a RepositoryIndex remembers (its names do not change, so neither do their answers). */
const NEAR_MEMO = 20_000;

interface Entry {
  repository: string;
  short: string;
}

/** A repository close to a written name, and how far (repositoryDistance). */
export interface Near {
  repository: string;
  d: number;
}

/**
 * The repositories of one registry, indexed for "which are close to this name": sorted by the length of
 * the name as typed (a typo changes it by at most maxDistanceFor), with a character signature per name in
 * one typed array (scanning it costs nanoseconds a name), and by every tail after a `/` (the missing or
 * extra org prefix). Answers are exactly repositoryDistance's, and remembered.
 */
export class RepositoryIndex {
  /** Entries by short-name length, and where each length starts in them. */
  private readonly entries: Entry[];
  /** Each entry's signature: words 2i and 2i + 1. */
  private readonly sigs: Int32Array;
  private readonly starts = new Map<number, [number, number]>();
  private readonly byShort = new Map<string, Entry[]>();
  private readonly byTail = new Map<string, Entry[]>();
  private readonly memo = new Map<string, readonly Near[]>();
  readonly repositories: ReadonlySet<string>;

  constructor(
    readonly registry: string,
    repositories: Iterable<string>,
  ) {
    this.repositories = new Set(repositories);
    this.entries = [...this.repositories]
      .map((repository) => ({ repository, short: shortName(registry, repository) }))
      .sort((x, y) => x.short.length - y.short.length || (x.repository < y.repository ? -1 : 1));
    this.sigs = Int32Array.from(this.entries.flatMap((e) => signature(e.short)));
    const push = (m: Map<string, Entry[]>, k: string, e: Entry) => {
      const list = m.get(k);
      if (list) list.push(e);
      else m.set(k, [e]);
    };
    this.entries.forEach((e, i) => {
      const range = this.starts.get(e.short.length);
      if (range) range[1] = i + 1;
      else this.starts.set(e.short.length, [i, i + 1]);
      push(this.byShort, e.short, e);
      for (let k = e.short.indexOf('/'); k >= 0; k = e.short.indexOf('/', k + 1))
        push(this.byTail, e.short.slice(k + 1), e);
    });
  }

  /** Whether this index holds exactly these repositories (a set, or a map's keys). */
  holds(repositories: ReadonlySet<string> | ReadonlyMap<string, unknown>): boolean {
    if (repositories.size !== this.repositories.size) return false;
    for (const r of repositories.keys()) if (!this.repositories.has(r)) return false;
    return true;
  }

  /** The repositories within repositoryDistance of `wrote`, with their distances. */
  near(wrote: string): readonly Near[] {
    let out = this.memo.get(wrote);
    if (out) return out;
    out = this.find(wrote);
    if (this.memo.size >= NEAR_MEMO) this.memo.clear();
    this.memo.set(wrote, out);
    return out;
  }

  private find(wrote: string): Near[] {
    const a = shortName(this.registry, wrote);
    const max = maxDistanceFor(lastOf(a));
    const [once, twice] = signature(a);
    const bits = 2 * max;
    const found = new Map<string, number>();
    let checks = 0;
    for (let delta = 0; delta <= max; delta++)
      for (const len of delta ? [a.length - delta, a.length + delta] : [a.length]) {
        const range = this.starts.get(len);
        if (!range) continue;
        for (let i = range[0]; i < range[1] && checks < MAX_DISTANCE_CHECKS; i++) {
          if (popcount(once ^ this.sigs[2 * i]!) + popcount(twice ^ this.sigs[2 * i + 1]!) > bits) continue;
          const e = this.entries[i]!;
          if (e.repository === wrote) continue;
          checks++;
          const d = boundedEditDistance(a, e.short, max);
          if (d <= max) found.set(e.repository, d);
        }
      }
    // A missing org prefix (the candidate ends with /NAME) or an extra one (NAME ends with /CANDIDATE).
    const tails = [...(this.byTail.get(a) ?? [])];
    for (let i = a.indexOf('/'); i >= 0; i = a.indexOf('/', i + 1))
      tails.push(...(this.byShort.get(a.slice(i + 1)) ?? []));
    for (const e of tails)
      if (e.repository !== wrote && !found.has(e.repository)) {
        const d = boundedEditDistance(a, e.short, max);
        found.set(e.repository, d <= max ? d : 1);
      }
    return [...found].map(([repository, d]) => ({ repository, d }));
  }
}

/**
 * RepositoryIndexes kept across requests, one per registry, rebuilt only when the registry's set of
 * repositories changes (pull counts change all the time; the names rarely do). At most `max` registries.
 */
export class RepositoryIndexCache {
  private readonly indexes = new Map<string, RepositoryIndex>();

  constructor(private readonly max = 64) {}

  get(registry: string, repositories: ReadonlySet<string> | ReadonlyMap<string, unknown>): RepositoryIndex {
    const hit = this.indexes.get(registry);
    if (hit?.holds(repositories)) return hit;
    const index = new RepositoryIndex(registry, repositories.keys());
    this.indexes.delete(registry);
    this.indexes.set(registry, index);
    for (const k of this.indexes.keys()) {
      if (this.indexes.size <= this.max) break;
      this.indexes.delete(k);
    }
    return index;
  }
}

/** Docker Hub's official images: the names, and an index of their `library/` repositories. */
export class OfficialImages {
  readonly repositories: ReadonlySet<string>;
  readonly index: RepositoryIndex;

  constructor(names: readonly string[]) {
    this.repositories = new Set(names.map((n) => `library/${n}`));
    this.index = new RepositoryIndex(DOCKER_HUB, this.repositories);
  }
}

interface Repo {
  pulls: FleetPull[];
  total: number;
}

/**
 * One request's view of the fleet's successful pulls, for diagnosing many failing images: the pulls by
 * registry and repository, and each registry's RepositoryIndex (from `cache` when given, so a page of
 * failures costs a lookup per distinct image, and the name search runs once per fleet change).
 */
export class FleetView {
  private readonly repos = new Map<string, Map<string, Repo>>();
  private readonly indexes = new Map<string, RepositoryIndex>();
  private readonly memo = new Map<string, Diagnosis>();

  constructor(
    fleet: readonly FleetPull[],
    readonly official: OfficialImages,
    private readonly cache: RepositoryIndexCache = new RepositoryIndexCache(),
    /** The moves in effect (movesAt), longest prefix first. */
    private readonly moves: readonly Move[] = [],
  ) {
    for (const p of fleet) {
      let byRepo = this.repos.get(p.registry);
      if (!byRepo) {
        byRepo = new Map();
        this.repos.set(p.registry, byRepo);
      }
      const r = byRepo.get(p.repository);
      if (r) {
        r.pulls.push(p);
        r.total += p.pulls;
      } else byRepo.set(p.repository, { pulls: [p], total: p.pulls });
    }
  }

  /** The fleet's pulls of this repository (empty when none). */
  pulls(registry: string, repository: string): readonly FleetPull[] {
    return this.repos.get(registry)?.get(repository)?.pulls ?? [];
  }

  private index(registry: string): RepositoryIndex | null {
    const byRepo = this.repos.get(registry);
    if (!byRepo) return null;
    let index = this.indexes.get(registry);
    if (!index) {
      index = this.cache.get(registry, byRepo);
      this.indexes.set(registry, index);
    }
    return index;
  }

  /** diagnose(f) against this fleet, remembered for the view's lifetime. */
  diagnose(f: FailingImage): Diagnosis {
    const key = `${f.cause}\u0000${f.registry}\u0000${f.repository}\u0000${f.tag}`;
    let d = this.memo.get(key);
    if (!d) {
      d = this.diagnoseOnce(f);
      // A view may be kept across requests (diagnosis/diagnoser.ts): its memory stays bounded.
      if (this.memo.size >= NEAR_MEMO) this.memo.clear();
      this.memo.set(key, d);
    }
    return d;
  }

  /** The new home of an image whose namespace moved (not for invalid references: their name is what is wrong). */
  private moved(f: FailingImage): Diagnosis | null {
    if (f.cause === 'invalid_reference' || !this.moves.length) return null;
    const path = `${f.registry}/${f.repository}/`;
    const m = this.moves.find((x) => path.startsWith(x.from));
    if (!m) return null;
    const target = `${m.to}${path.slice(m.from.length, -1)}`;
    const slash = target.indexOf('/');
    return {
      cause: typoCause(f.cause),
      suggestion: familiar(target.slice(0, slash), target.slice(slash + 1), f.tag),
      evidence: 'moved_image',
      moved: m,
    };
  }

  private diagnoseOnce(f: FailingImage): Diagnosis {
    if (!SUGGESTIBLE_CAUSES.includes(f.cause)) return NONE(f.cause);
    if (f.cause === 'unauthorized' && f.registry !== DOCKER_HUB) return NONE(f.cause);
    if (!f.repository || !f.registry) return NONE(f.cause);

    const same = this.pulls(f.registry, f.repository);
    if (same.length) {
      const anonymousOnly = same.every((p) => p.withoutSecrets === p.pulls);
      const ambiguous = f.cause === 'not_found_or_unauthorized' || f.cause === 'unauthorized';
      if (ambiguous && !anonymousOnly)
        return { cause: 'unauthorized', suggestion: null, evidence: 'fleet_pulls_same_repository' };
      // The repository exists (and here is public, or not found was plain): the tag is what is wrong.
      if (same.some((p) => p.tag === f.tag)) return NONE(f.cause);
      const moved = this.moved(f);
      if (moved) return moved;
      const max = maxDistanceFor(f.tag);
      const tags = same
        .map((p) => ({ p, d: boundedEditDistance(f.tag, p.tag, max) }))
        .filter((x) => f.tag && x.d <= max)
        .sort((x, y) => x.d - y.d || y.p.pulls - x.p.pulls || x.p.tag.localeCompare(y.p.tag));
      const best = tags[0];
      return best
        ? { cause: f.cause, suggestion: best.p.image, evidence: 'fleet_pulls_same_repository' }
        : NONE(f.cause);
    }

    // A repository under a namespace that moved: its new home, before any close name.
    const moved = this.moved(f);
    if (moved) return moved;

    // An official image's name is right as written (its tag may not be): no other name is suggested.
    if (f.registry === DOCKER_HUB && this.official.repositories.has(f.repository)) return NONE(f.cause);

    // The fleet repository closest to the one written, then the most pulled, then by name.
    const byRepo = this.repos.get(f.registry);
    let fleetBest: { repo: Repo; repository: string; d: number } | null = null;
    for (const c of this.index(f.registry)?.near(f.repository) ?? []) {
      const repo = byRepo!.get(c.repository)!;
      if (
        !fleetBest ||
        c.d < fleetBest.d ||
        (c.d === fleetBest.d &&
          (repo.total > fleetBest.repo.total ||
            (repo.total === fleetBest.repo.total && c.repository.localeCompare(fleetBest.repository) < 0)))
      )
        fleetBest = { repo, repository: c.repository, d: c.d };
    }
    let officialBest: Near | null = null;
    if (f.registry === DOCKER_HUB)
      for (const c of this.official.index.near(f.repository))
        if (
          !officialBest ||
          c.d < officialBest.d ||
          (c.d === officialBest.d && c.repository.localeCompare(officialBest.repository) < 0)
        )
          officialBest = c;

    // The fleet's own images win ties: they are what this fleet runs.
    if (fleetBest && (!officialBest || fleetBest.d <= officialBest.d)) {
      const pulls = fleetBest.repo.pulls;
      const sameTag = pulls.find((p) => p.tag === f.tag);
      const mostPulled = [...pulls].sort((x, y) => y.pulls - x.pulls || x.tag.localeCompare(y.tag))[0]!;
      return { cause: typoCause(f.cause), suggestion: (sameTag ?? mostPulled).image, evidence: 'similar_fleet_image' };
    }
    if (officialBest)
      return {
        cause: typoCause(f.cause),
        suggestion: familiar(f.registry, officialBest.repository, f.tag),
        evidence: 'docker_official_image',
      };
    return NONE(f.cause);
  }
}

/**
 * The image the user most likely meant, and the evidence for it:
 * - the same repository pulled successfully elsewhere: the name is right. An ambiguous denial
 *   (`not_found_or_unauthorized`, or `unauthorized` from Docker Hub) is then missing credentials —
 *   unless every such pull was by a Pod known to have no pull secrets (then it is public, and the
 *   tag is what is wrong: a close tag that pulls is suggested);
 * - else the closest repository (same registry) the fleet pulled, then Docker Hub's official
 *   images; with the same tag where the fleet pulled that, else the fleet's most pulled tag of it
 *   (official images keep the tag written). An ambiguous denial is then read as a typo (`not_found`):
 *   the repository written never pulled anywhere, and a close one does;
 * - else nothing: a suggestion is never invented.
 * For many images against one fleet, use a FleetView: this builds one per call.
 */
export function diagnose(f: FailingImage, fleet: readonly FleetPull[], officialImages: readonly string[]): Diagnosis {
  return new FleetView(fleet, new OfficialImages(officialImages)).diagnose(f);
}

/** `nginx:1.27` for docker.io/library/nginx with tag 1.27 — the form people write. */
export function familiar(registry: string, repository: string, tag: string): string {
  const name = registry === DOCKER_HUB ? shortName(registry, repository) : `${registry}/${repository}`;
  return tag ? `${name}:${tag}` : name;
}

/** The hint of a denial read as a typo: the registry's words mean nothing more, so no credentials advice. */
export const TYPO_HINT =
  'Most likely a typo: nothing in the fleet ever pulled this repository, and the registry gives the same ' +
  'denial for a repository that does not exist as for a private one. Fix the image name.';

/**
 * The hint as shown: "Did you mean IMAGE?" first when there is a suggestion (for a denial read as a typo,
 * with TYPO_HINT instead of the stored hint's credentials advice); the credentials reading when the same
 * repository pulls elsewhere.
 */
export function diagnosedHint(hint: string, originalCause: string, d: Diagnosis): string {
  if (d.suggestion && d.moved)
    return (
      `Did you mean ${d.suggestion}? Images under ${d.moved.from} moved to ${d.moved.to} on ${d.moved.since} ` +
      `(${d.moved.source}): pull it from there, or mirror it to a registry you control.`
    );
  if (d.suggestion && d.cause === 'not_found' && originalCause !== 'not_found' && d.evidence !== null)
    return `Did you mean ${d.suggestion}? ${TYPO_HINT}`;
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

/** Causes a pull-through cache gives when its upstream refuses it: Harbor answers 404 (goharbor/harbor#23750). */
export const PROXY_MASKABLE_CAUSES = ['not_found', 'not_found_or_unauthorized'];

/**
 * The pull-through cache of Docker Hub serving `registry/repository`, if it is one: the longest configured
 * `host` or `host/project` prefix, else — on a host other than Docker Hub — the shape of a proxy project
 * mirroring an official image, `PROJECT/library/NAME` (Harbor's proxy-cache projects keep Docker Hub's
 * paths). Null otherwise.
 */
export function dockerHubProxyOf(registry: string, repository: string, proxyCaches: readonly string[]): string | null {
  if (registry === DOCKER_HUB || !registry || !repository) return null;
  const path = `${registry}/${repository}`;
  let best: string | null = null;
  for (const p of proxyCaches)
    if ((path.startsWith(`${p}/`) || path === p) && (!best || p.length > best.length)) best = p;
  if (best) return best;
  const parts = repository.split('/');
  return parts.length === 3 && parts[1] === 'library' ? `${registry}/${parts[0]}` : null;
}

/** Docker Hub's refusals in the fleet, as the diagnosis weighs them. */
export interface DockerHubRefusals {
  count: number;
  last: string | null;
}

/** How far back a Docker Hub 429 in the fleet makes a pull-through cache's not found suspect. */
export const PROXY_MASK_WINDOW_MS = 3_600_000;

/**
 * A not found from a pull-through cache of Docker Hub while Docker Hub rate-limits the fleet: no typo is
 * suggested (the name may be right), and the hint says what may be going on.
 */
export function proxyMaskedDiagnosis(
  cause: string,
  proxy: string,
  refusals: DockerHubRefusals,
): Diagnosis & { hint: string } {
  return {
    cause,
    suggestion: null,
    evidence: 'upstream_rate_limited',
    hint:
      `The proxy cache may be masking Docker Hub's rate limit: ${proxy} is a pull-through cache of Docker Hub, ` +
      `and a proxy cache answers "not found" for an image it has not cached when Docker Hub refuses it ` +
      `(goharbor/harbor#23750). Docker Hub refused ${refusals.count} pull${refusals.count === 1 ? '' : 's'} in ` +
      `the fleet in the last hour (last at ${refusals.last}). Check the proxy's upstream (its Docker Hub ` +
      `account and rate limit) before the image name; pulls recover when the limit does.`,
  };
}
