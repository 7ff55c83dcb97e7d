import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../test/support/seeded.ts';
import { readFileSync } from 'node:fs';
import { largeFleet } from '../test-support/fleet.ts';
import {
  boundedEditDistance,
  type Diagnosis,
  diagnose,
  diagnosedHint,
  TYPO_HINT,
  editDistance,
  type FailingImage,
  type FleetPull,
  FleetView,
  familiar,
  MAX_DISTANCE_CHECKS,
  movesAt,
  parseMovedImages,
  maxDistanceFor,
  OfficialImages,
  parseOfficialImages,
  RepositoryIndex,
  RepositoryIndexCache,
  repositoryDistance,
  SUGGESTIBLE_CAUSES,
} from './did-you-mean.ts';

const OFFICIAL = ['nginx', 'node', 'redis', 'postgres', 'alpine', 'busybox', 'traefik', 'httpd'];
const pull = (o: Partial<FleetPull> & { repository: string; tag: string; image: string }): FleetPull => ({
  registry: 'docker.io',
  pulls: 10,
  withSecrets: 0,
  withoutSecrets: 0,
  ...o,
});
const failing = (o: Partial<FailingImage> & { repository: string; image: string }): FailingImage => ({
  cause: 'not_found_or_unauthorized',
  registry: 'docker.io',
  tag: '1.27.3',
  ...o,
});

describe('editDistance (Damerau–Levenshtein, adjacent transpositions)', () => {
  it.each([
    ['nginx', 'nginx', 0],
    ['ngnix', 'nginx', 1],
    ['nginx', 'ngin', 1],
    ['redis', 'rediss', 1],
    ['postgress', 'postgres', 1],
    ['pstgres', 'postgres', 1],
    ['busybx', 'busybox', 1],
    ['ca', 'abc', 3],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%s → %s = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe('repositoryDistance', () => {
  it('scales with the name: ≤ 2 edits, ≤ 1 for names of 4 characters or fewer', () => {
    expect(repositoryDistance('docker.io', 'library/pstgrs', 'library/postgres')).toBe(2);
    expect(repositoryDistance('docker.io', 'library/pstgr', 'library/postgres')).toBe(null);
    expect(repositoryDistance('docker.io', 'library/nod', 'library/node')).toBe(1);
    expect(repositoryDistance('docker.io', 'library/nd', 'library/node')).toBe(null);
  });
  it('counts a missing or extra org or library/ prefix as one edit', () => {
    expect(repositoryDistance('docker.io', 'acme/nginx', 'library/nginx')).toBe(1);
    expect(repositoryDistance('docker.io', 'library/checkout', 'acme/checkout')).toBe(1);
    expect(repositoryDistance('ghcr.io', 'checkout', 'acme/checkout')).toBe(1);
    expect(repositoryDistance('ghcr.io', 'acme/checkout', 'other/checkout')).toBe(null);
  });
  it('is null for the same repository', () => {
    expect(repositoryDistance('docker.io', 'library/nginx', 'library/nginx')).toBe(null);
  });
});

describe('diagnose', () => {
  it('suggests the fleet image with the same tag for a typo', () => {
    const fleet = [
      pull({ repository: 'library/nginx', tag: '1.27.3', image: 'nginx:1.27.3', pulls: 3 }),
      pull({ repository: 'library/nginx', tag: '1.26.0', image: 'nginx:1.26.0', pulls: 50 }),
    ];
    expect(diagnose(failing({ repository: 'library/ngnix', image: 'ngnix:1.27.3' }), fleet, OFFICIAL)).toEqual({
      cause: 'not_found',
      suggestion: 'nginx:1.27.3',
      evidence: 'similar_fleet_image',
    });
  });

  it("suggests the fleet's most pulled tag when the written tag was never pulled", () => {
    const fleet = [
      pull({ repository: 'acme/checkout', tag: '4.2.0', image: 'acme/checkout:4.2.0', pulls: 7 }),
      pull({ repository: 'acme/checkout', tag: '4.1.0', image: 'acme/checkout:4.1.0', pulls: 2 }),
    ];
    expect(
      diagnose(failing({ repository: 'acme/chekout', tag: '9.9', image: 'acme/chekout:9.9' }), fleet, OFFICIAL),
    ).toEqual({
      cause: 'not_found',
      suggestion: 'acme/checkout:4.2.0',
      evidence: 'similar_fleet_image',
    });
  });

  it('falls back on Docker Hub official images, keeping the tag written', () => {
    expect(
      diagnose(failing({ repository: 'library/postgress', tag: '17.2', image: 'postgress:17.2' }), [], OFFICIAL),
    ).toEqual({
      cause: 'not_found',
      suggestion: 'postgres:17.2',
      evidence: 'docker_official_image',
    });
    // An org prefix too many on an official image.
    expect(
      diagnose(
        failing({ cause: 'unauthorized', repository: 'acme/traefik', tag: 'v3.1', image: 'acme/traefik:v3.1' }),
        [],
        OFFICIAL,
      ),
    ).toEqual({ cause: 'not_found', suggestion: 'traefik:v3.1', evidence: 'docker_official_image' });
  });

  it('never invents a suggestion for an image with no close match', () => {
    const fleet = [pull({ repository: 'library/nginx', tag: '1.27.3', image: 'nginx:1.27.3' })];
    expect(
      diagnose(failing({ repository: 'acme/ledger', tag: '5.2.0', image: 'acme/ledger:5.2.0' }), fleet, OFFICIAL),
    ).toEqual({
      cause: 'not_found_or_unauthorized',
      suggestion: null,
      evidence: null,
    });
    // A 4-character name two edits away is not a typo of it.
    expect(
      diagnose(failing({ repository: 'library/nxdf', tag: '20', image: 'nxdf:20' }), [], ['node']).suggestion,
    ).toBe(null);
  });

  it('does not second-guess an official image name or causes that are no typo', () => {
    expect(
      diagnose(failing({ repository: 'library/redis', tag: '9.9.9', image: 'redis:9.9.9' }), [], OFFICIAL),
    ).toEqual({
      cause: 'not_found_or_unauthorized',
      suggestion: null,
      evidence: null,
    });
    expect(
      diagnose(failing({ cause: 'rate_limited', repository: 'library/ngnix', image: 'ngnix:1' }), [], OFFICIAL)
        .suggestion,
    ).toBe(null);
    // unauthorized means credentials outside Docker Hub.
    expect(
      diagnose(
        failing({
          cause: 'unauthorized',
          registry: 'ghcr.io',
          repository: 'acme/chekout',
          image: 'ghcr.io/acme/chekout:1',
        }),
        [pull({ registry: 'ghcr.io', repository: 'acme/checkout', tag: '1', image: 'ghcr.io/acme/checkout:1' })],
        OFFICIAL,
      ).suggestion,
    ).toBe(null);
  });

  it('turns an ambiguous denial into unauthorized when the same repository pulls elsewhere with credentials', () => {
    const fleet = [
      pull({
        registry: 'registry.corp.example:5000',
        repository: 'payments/ledger',
        tag: '5.1.0',
        image: 'registry.corp.example:5000/payments/ledger:5.1.0',
        withSecrets: 10,
      }),
    ];
    const f = failing({
      registry: 'registry.corp.example:5000',
      repository: 'payments/ledger',
      tag: '5.2.0',
      image: 'registry.corp.example:5000/payments/ledger:5.2.0',
    });
    const d = diagnose(f, fleet, OFFICIAL);
    expect(d).toEqual({ cause: 'unauthorized', suggestion: null, evidence: 'fleet_pulls_same_repository' });
    expect(diagnosedHint('Check the repository name first', f.cause, d)).toMatch(
      /^This repository pulls successfully elsewhere/,
    );
  });

  it('suggests a close tag of a public repository that pulls elsewhere', () => {
    const fleet = [pull({ repository: 'library/nginx', tag: '1.27.3', image: 'nginx:1.27.3', withoutSecrets: 10 })];
    expect(
      diagnose(
        failing({ cause: 'not_found', repository: 'library/nginx', tag: '1.27.33', image: 'nginx:1.27.33' }),
        fleet,
        OFFICIAL,
      ),
    ).toEqual({ cause: 'not_found', suggestion: 'nginx:1.27.3', evidence: 'fleet_pulls_same_repository' });
    // The same tag pulls elsewhere: nothing to suggest.
    expect(
      diagnose(failing({ cause: 'not_found', repository: 'library/nginx', image: 'nginx:1.27.3' }), fleet, OFFICIAL),
    ).toEqual({
      cause: 'not_found',
      suggestion: null,
      evidence: null,
    });
  });
});

describe('the typo case: a denial that may mean "does not exist"', () => {
  // CRI-O on Docker Hub: `reading manifest 1.27.3 in docker.io/library/ngnix: requested access to the
  // resource is denied`, stored as not_found_or_unauthorized.
  const STORED_HINT = 'Check the repository name first; if it exists and is private, set up an imagePullSecret.';
  const typo = failing({ repository: 'library/ngnix', tag: '1.27.3', image: 'ngnix:1.27.3' });

  it('is a typo when a close name pulls and this repository never pulled anywhere: no credentials advice', () => {
    const fleet = [pull({ repository: 'library/nginx', tag: '1.27.3', image: 'nginx:1.27.3', withoutSecrets: 4 })];
    const d = diagnose(typo, fleet, OFFICIAL);
    expect(d).toEqual({ cause: 'not_found', suggestion: 'nginx:1.27.3', evidence: 'similar_fleet_image' });
    const hint = diagnosedHint(STORED_HINT, typo.cause, d);
    expect(hint).toBe(`Did you mean nginx:1.27.3? ${TYPO_HINT}`);
    expect(hint).not.toMatch(/imagePullSecret|credential/i);
    // Docker Hub's plain unauthorized (rows stored before the ambiguous reading) reads the same way.
    const old = { ...typo, cause: 'unauthorized' };
    const dOld = diagnose(old, fleet, OFFICIAL);
    expect(dOld.cause).toBe('not_found');
    expect(diagnosedHint('Set up an imagePullSecret …', 'unauthorized', dOld)).toBe(
      `Did you mean nginx:1.27.3? ${TYPO_HINT}`,
    );
  });

  it('is credentials when the same repository pulls elsewhere with them, even with a close name in the fleet', () => {
    const fleet = [
      pull({ repository: 'library/nginx', tag: '1.27.3', image: 'nginx:1.27.3' }),
      pull({
        repository: 'library/ngnix',
        tag: '1.27.3',
        image: 'ngnix:1.27.3',
        withSecrets: 3,
        withoutSecrets: 0,
        pulls: 3,
      }),
    ];
    const d = diagnose(typo, fleet, OFFICIAL);
    expect(d).toEqual({ cause: 'unauthorized', suggestion: null, evidence: 'fleet_pulls_same_repository' });
    expect(diagnosedHint(STORED_HINT, typo.cause, d)).toMatch(
      /^This repository pulls successfully elsewhere .*imagePullSecret/,
    );
  });

  it('stays ambiguous, with the stored hint, when nothing in the fleet tells', () => {
    const none = failing({ repository: 'qwxyzzy/frobnicator', tag: '3', image: 'qwxyzzy/frobnicator:3' });
    const d = diagnose(none, [pull({ repository: 'library/nginx', tag: '1.27.3', image: 'nginx:1.27.3' })], OFFICIAL);
    expect(d).toEqual({ cause: 'not_found_or_unauthorized', suggestion: null, evidence: null });
    expect(diagnosedHint(STORED_HINT, none.cause, d)).toBe(STORED_HINT);
  });

  it('keeps a plain not found hint after the suggestion', () => {
    const d = diagnose(
      { ...typo, cause: 'not_found' },
      [pull({ repository: 'library/nginx', tag: '1.27.3', image: 'nginx:1.27.3' })],
      OFFICIAL,
    );
    expect(d.cause).toBe('not_found');
    expect(diagnosedHint('Check the image name and tag.', 'not_found', d)).toBe(
      `Did you mean ${d.suggestion}? Check the image name and tag.`,
    );
  });
});

describe('moved images', () => {
  const MOVES = parseMovedImages(
    '# comment\n' +
      'docker.io/bitnami/ docker.io/bitnamilegacy/ 2025-08-28 https://github.com/bitnami/containers/issues/83267\n' +
      '\n' +
      'k8s.gcr.io/ registry.k8s.io/ 2023-04-03 https://kubernetes.io/blog/2023/02/06/k8s-gcr-io-freeze-announcement/\n',
  );
  const view = (now: string, fleet: FleetPull[] = []) =>
    new FleetView(fleet, new OfficialImages(OFFICIAL), undefined, movesAt(MOVES, new Date(now)));
  const bitnami = failing({
    cause: 'not_found',
    repository: 'bitnami/redis',
    tag: '7.2.4',
    image: 'bitnami/redis:7.2.4',
  });

  it('reads the shipped list: FROM TO SINCE SOURCE, and refuses a malformed line', () => {
    expect(MOVES).toEqual([
      {
        from: 'docker.io/bitnami/',
        to: 'docker.io/bitnamilegacy/',
        since: '2025-08-28',
        source: 'https://github.com/bitnami/containers/issues/83267',
      },
      {
        from: 'k8s.gcr.io/',
        to: 'registry.k8s.io/',
        since: '2023-04-03',
        source: 'https://kubernetes.io/blog/2023/02/06/k8s-gcr-io-freeze-announcement/',
      },
    ]);
    expect(() => parseMovedImages('docker.io/bitnami docker.io/bitnamilegacy/ 2025-08-28 x')).toThrow(/malformed/);
    expect(() => parseMovedImages('a/ b/ 28.08.2025 x')).toThrow(/malformed/);
    const shipped = parseMovedImages(readFileSync(new URL('../../data/moved-images.txt', import.meta.url), 'utf8'));
    expect(shipped.map((m) => [m.from, m.to, m.since])).toEqual([
      ['docker.io/bitnami/', 'docker.io/bitnamilegacy/', '2025-08-28'],
      ['k8s.gcr.io/', 'registry.k8s.io/', '2023-04-03'],
    ]);
  });

  it('suggests the new home, same path and tag, from the move date on, with the move in the hint', () => {
    const d = view('2025-09-30T00:00:00Z').diagnose(bitnami);
    expect(d).toEqual({
      cause: 'not_found',
      suggestion: 'bitnamilegacy/redis:7.2.4',
      evidence: 'moved_image',
      moved: MOVES[0],
    });
    expect(diagnosedHint('Check the image name and tag.', 'not_found', d)).toBe(
      'Did you mean bitnamilegacy/redis:7.2.4? Images under docker.io/bitnami/ moved to docker.io/bitnamilegacy/ ' +
        'on 2025-08-28 (https://github.com/bitnami/containers/issues/83267): pull it from there, or mirror it to a ' +
        'registry you control.',
    );
    // Before the move only the name heuristics speak (an org prefix too many on an official image).
    expect(view('2025-08-27T23:59:59Z').diagnose(bitnami)).toEqual({
      cause: 'not_found',
      suggestion: 'redis:7.2.4',
      evidence: 'docker_official_image',
    });
    // Docker Hub's ambiguous denial of a moved repository is the move, too.
    expect(view('2025-09-30T00:00:00Z').diagnose({ ...bitnami, cause: 'not_found_or_unauthorized' }).cause).toBe(
      'not_found',
    );
    expect(
      view('2026-01-01T00:00:00Z').diagnose(
        failing({
          cause: 'not_found',
          registry: 'k8s.gcr.io',
          repository: 'pause',
          tag: '3.10',
          image: 'k8s.gcr.io/pause:3.10',
        }),
      ).suggestion,
    ).toBe('registry.k8s.io/pause:3.10');
  });

  it('gives way to the fleet: a tag that pulls elsewhere, or credentials', () => {
    const sameTag = [
      pull({ repository: 'bitnami/redis', tag: '7.2.4', image: 'bitnami/redis:7.2.4', withoutSecrets: 10 }),
    ];
    expect(view('2025-09-30T00:00:00Z', sameTag).diagnose(bitnami)).toEqual({
      cause: 'not_found',
      suggestion: null,
      evidence: null,
    });
    const withSecrets = [
      pull({ repository: 'bitnami/redis', tag: 'latest', image: 'bitnami/redis:latest', withSecrets: 10 }),
    ];
    expect(
      view('2025-09-30T00:00:00Z', withSecrets).diagnose({ ...bitnami, cause: 'not_found_or_unauthorized' }),
    ).toEqual({ cause: 'unauthorized', suggestion: null, evidence: 'fleet_pulls_same_repository' });
    // Public and pulling with another tag: the move still explains this tag's absence.
    const latest = [
      pull({ repository: 'bitnami/redis', tag: 'latest', image: 'bitnami/redis:latest', withoutSecrets: 10 }),
    ];
    expect(view('2025-09-30T00:00:00Z', latest).diagnose(bitnami).suggestion).toBe('bitnamilegacy/redis:7.2.4');
  });
});

describe('diagnosedHint and the official list', () => {
  it('starts the hint with "Did you mean IMAGE?"', () => {
    expect(
      diagnosedHint('Check the name.', 'not_found', {
        cause: 'not_found',
        suggestion: 'nginx:1',
        evidence: 'docker_official_image',
      }),
    ).toBe('Did you mean nginx:1? Check the name.');
    expect(
      diagnosedHint('Check the name.', 'not_found', { cause: 'not_found', suggestion: null, evidence: null }),
    ).toBe('Check the name.');
  });
  it('parses names, skipping comments and blank lines', () => {
    expect(parseOfficialImages('# c\nnginx\n\n redis \n')).toEqual(['nginx', 'redis']);
  });
});

/** The definition, by brute force: every fleet repository's repositoryDistance with the full edit distance. */
function fullRepositoryDistance(registry: string, wrote: string, candidate: string): number | null {
  if (wrote === candidate) return null;
  const short = (r: string) => (registry === 'docker.io' && r.startsWith('library/') ? r.slice(8) : r);
  const a = short(wrote);
  const b = short(candidate);
  const d = editDistance(a, b);
  if (d <= maxDistanceFor(a.slice(a.lastIndexOf('/') + 1))) return d;
  if (a.endsWith(`/${b}`) || b.endsWith(`/${a}`)) return 1;
  return null;
}

const typoOf = (cause: string) =>
  cause === 'not_found_or_unauthorized' || cause === 'unauthorized' ? 'not_found' : cause;

/** diagnose as first written (a scan of every repository per image): what the index must agree with. */
function referenceDiagnose(f: FailingImage, fleet: readonly FleetPull[], official: readonly string[]): Diagnosis {
  const none = { cause: f.cause, suggestion: null, evidence: null };
  if (!SUGGESTIBLE_CAUSES.includes(f.cause)) return none;
  if (f.cause === 'unauthorized' && f.registry !== 'docker.io') return none;
  if (!f.repository || !f.registry) return none;
  const sameRegistry = fleet.filter((p) => p.registry === f.registry);
  const same = sameRegistry.filter((p) => p.repository === f.repository);
  if (same.length) {
    const anonymousOnly = same.every((p) => p.withoutSecrets === p.pulls);
    const ambiguous = f.cause === 'not_found_or_unauthorized' || f.cause === 'unauthorized';
    if (ambiguous && !anonymousOnly)
      return { cause: 'unauthorized', suggestion: null, evidence: 'fleet_pulls_same_repository' };
    if (same.some((p) => p.tag === f.tag)) return none;
    const tags = same
      .map((p) => ({ p, d: editDistance(f.tag, p.tag) }))
      .filter((x) => f.tag && x.d <= maxDistanceFor(f.tag))
      .sort((x, y) => x.d - y.d || y.p.pulls - x.p.pulls || x.p.tag.localeCompare(y.p.tag));
    return tags[0] ? { cause: f.cause, suggestion: tags[0].p.image, evidence: 'fleet_pulls_same_repository' } : none;
  }
  if (f.registry === 'docker.io' && official.some((n) => `library/${n}` === f.repository)) return none;
  const byRepo = new Map<string, FleetPull[]>();
  for (const p of sameRegistry) byRepo.set(p.repository, [...(byRepo.get(p.repository) ?? []), p]);
  const close = [...byRepo.entries()]
    .map(([repository, pulls]) => ({
      repository,
      pulls,
      total: pulls.reduce((n, p) => n + p.pulls, 0),
      d: fullRepositoryDistance(f.registry, f.repository, repository),
    }))
    .filter((c): c is typeof c & { d: number } => c.d !== null)
    .sort((x, y) => x.d - y.d || y.total - x.total || x.repository.localeCompare(y.repository));
  const off =
    f.registry === 'docker.io'
      ? official
          .map((n) => ({
            repository: `library/${n}`,
            d: fullRepositoryDistance(f.registry, f.repository, `library/${n}`),
          }))
          .filter((c): c is { repository: string; d: number } => c.d !== null)
          .sort((x, y) => x.d - y.d || x.repository.localeCompare(y.repository))
      : [];
  const fb = close[0];
  const ob = off[0];
  if (fb && (!ob || fb.d <= ob.d)) {
    const sameTag = fb.pulls.find((p) => p.tag === f.tag);
    const mostPulled = [...fb.pulls].sort((x, y) => y.pulls - x.pulls || x.tag.localeCompare(y.tag))[0]!;
    return { cause: typoOf(f.cause), suggestion: (sameTag ?? mostPulled).image, evidence: 'similar_fleet_image' };
  }
  if (ob)
    return {
      cause: typoOf(f.cause),
      suggestion: familiar(f.registry, ob.repository, f.tag),
      evidence: 'docker_official_image',
    };
  return none;
}

describe('boundedEditDistance', () => {
  it('is editDistance when that is within the bound, else bound + 1, for 30,000 random pairs', () => {
    const r = seededRandom(7);
    const word = (alphabet: string, n: number) => Array.from({ length: n }, () => r.pick([...alphabet])).join('');
    const wrong: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      // Small alphabets and shared prefixes and suffixes: transpositions, repeats and affixes interact.
      const alphabet = r.pick(['ab', 'abc', 'abcdefgh']);
      const a = word(alphabet, r.int(12));
      let b = r.next() < 0.5 ? word(alphabet, r.int(12)) : a;
      for (let k = r.int(4); k > 0 && b.length > 1; k--) {
        const at = r.int(b.length - 1);
        b = r.pick([
          b.slice(0, at) + b[at + 1] + b[at] + b.slice(at + 2),
          b.slice(0, at) + b.slice(at + 1),
          `${b.slice(0, at)}${r.pick([...alphabet])}${b.slice(at)}`,
        ]);
      }
      const max = r.int(4);
      const full = editDistance(a, b);
      const got = boundedEditDistance(a, b, max);
      if (got !== Math.min(full, max + 1)) wrong.push(`${a} ${b} max ${max}: ${got}, want ${Math.min(full, max + 1)}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('costs O(bound × length): names of 1 MiB are compared in milliseconds', () => {
    const a = 'a'.repeat(1 << 20);
    const cpu = process.cpuUsage();
    expect(boundedEditDistance(a, `b${a.slice(2)}b`, 2)).toBe(2);
    expect(boundedEditDistance(a, 'b'.repeat(1 << 20), 2)).toBe(3);
    expect(repositoryDistance('docker.io', `library/${a}`, 'library/nginx')).toBeNull();
    const used = process.cpuUsage(cpu);
    // The full table would be 2^40 cells.
    expect((used.user + used.system) / 1000).toBeLessThan(1000);
  });
});

describe('RepositoryIndex', () => {
  it('finds exactly the repositories repositoryDistance accepts, in dense random fleets', () => {
    const r = seededRandom(11);
    const wrong: string[] = [];
    for (let fleetNo = 0; fleetNo < 25; fleetNo++) {
      const registry = r.pick(['docker.io', 'ghcr.io']);
      const name = () => Array.from({ length: 2 + r.int(6) }, () => r.pick(['a', 'b', 'c', 'd'])).join('');
      const repo = () =>
        r.pick([() => name(), () => `${r.pick(['org', 'library', 'x'])}/${name()}`, () => `o/${name()}/${name()}`])();
      const repos = [...new Set(Array.from({ length: 120 }, repo))];
      const index = new RepositoryIndex(registry, repos);
      for (let q = 0; q < 40; q++) {
        const wrote = r.next() < 0.3 ? r.pick(repos) : repo();
        const want = repos
          .map((c) => ({ repository: c, d: fullRepositoryDistance(registry, wrote, c) }))
          .filter((x) => x.d !== null)
          .sort((x, y) => (x.repository < y.repository ? -1 : 1));
        const got = [...index.near(wrote)].sort((x, y) => (x.repository < y.repository ? -1 : 1));
        if (JSON.stringify(got) !== JSON.stringify(want))
          wrong.push(`${registry} ${wrote}: ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('is kept across requests while the set of repositories stays the same, and rebuilt when it changes', () => {
    const cache = new RepositoryIndexCache();
    const first = cache.get('ghcr.io', new Set(['acme/web', 'acme/api']));
    expect(
      cache.get(
        'ghcr.io',
        new Map([
          ['acme/api', 1],
          ['acme/web', 2],
        ]),
      ),
    ).toBe(first);
    const changed = cache.get('ghcr.io', new Set(['acme/web', 'acme/api', 'acme/worker']));
    expect(changed).not.toBe(first);
    expect(changed.near('acme/wroker')).toEqual([{ repository: 'acme/worker', d: 1 }]);
    expect(cache.get('quay.io', new Set(['acme/web']))).not.toBe(changed);
  });

  it(`stays bounded (${MAX_DISTANCE_CHECKS} distances a name) in a fleet of 20,000 names alike`, () => {
    // Every name of length 8 over four letters: the length and signature filters let them all through.
    const r = seededRandom(3);
    const repos = new Set<string>();
    while (repos.size < 20_000) repos.add(Array.from({ length: 8 }, () => r.pick(['a', 'b', 'c', 'd'])).join(''));
    const index = new RepositoryIndex('ghcr.io', repos);
    const cpu = process.cpuUsage();
    for (let i = 0; i < 200; i++)
      index.near(`${Array.from({ length: 8 }, () => r.pick(['a', 'b', 'c', 'd'])).join('')}x`);
    const used = process.cpuUsage(cpu);
    // Unbounded, each lookup would compare 20,000 names.
    expect((used.user + used.system) / 1000).toBeLessThan(2000);
  }, 60_000);
});

describe('FleetView', () => {
  it('diagnoses as the scan of every repository did, for random fleets and failing images', () => {
    const r = seededRandom(5);
    const wrong: string[] = [];
    const official = ['nginx', 'node', 'redis', 'abcd', 'abdc'];
    for (let round = 0; round < 30; round++) {
      const name = () => Array.from({ length: 3 + r.int(5) }, () => r.pick(['a', 'b', 'c', 'd', 'e'])).join('');
      const fleet: FleetPull[] = [];
      for (let i = 0; i < 80; i++) {
        const registry = r.pick(['docker.io', 'ghcr.io']);
        const repository = r.pick([`library/${name()}`, `acme/${name()}`, name()]);
        const tag = r.pick(['1', '1.1', '2', 'latest', '1.2']);
        const pulls = 1 + r.int(3);
        const withSecrets = r.int(pulls + 1);
        fleet.push({
          registry,
          repository,
          tag,
          image: `${registry}/${repository}:${tag}`,
          pulls,
          withSecrets,
          withoutSecrets: pulls - withSecrets,
        });
      }
      const view = new FleetView(fleet, new OfficialImages(official));
      for (let q = 0; q < 80; q++) {
        const base = r.pick(fleet);
        const f: FailingImage = {
          cause: r.pick([...SUGGESTIBLE_CAUSES, 'rate_limited']),
          registry: r.next() < 0.8 ? base.registry : r.pick(['docker.io', 'ghcr.io']),
          repository: r.pick([base.repository, `library/${name()}`, `acme/${name()}`, name(), name(), name()]),
          tag: r.pick(['1', '1.1', '2', '12', 'latest', 'lates', '']),
          image: 'x',
        };
        const want = referenceDiagnose(f, fleet, official);
        const got = view.diagnose(f);
        if (JSON.stringify(got) !== JSON.stringify(want))
          wrong.push(`${JSON.stringify(f)}: ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('answers a page of 1,000 failing images against 20,000 repositories in milliseconds, exactly', () => {
    const { fleet, official, failing } = largeFleet({ repositories: 20_000, images: 1_000 });
    expect(new Set(fleet.map((p) => `${p.registry}/${p.repository}`)).size).toBe(20_000);
    expect(new Set(failing.map((x) => x.f.image)).size).toBe(1_000);
    const off = new OfficialImages(official);
    const cache = new RepositoryIndexCache();
    const page = () => {
      const cpu = process.cpuUsage();
      const view = new FleetView(fleet, off, cache);
      const got = failing.map(({ f }) => view.diagnose(f));
      const used = process.cpuUsage(cpu);
      return { got, ms: (used.user + used.system) / 1000 };
    };
    // The first page builds the name indexes; later pages of the same fleet reuse them.
    const first = page();
    const again = page();
    expect(first.got).toEqual(failing.map((x) => x.expected));
    expect(again.got).toEqual(first.got);
    expect(failing.filter((x) => x.expected.suggestion !== null).length).toBe(800);
    // CPU time (a loaded CI machine stretches wall time): the scan of every repository took about a
    // second per image, some 17 minutes for this page.
    expect(first.ms).toBeLessThan(3000);
    expect(again.ms).toBeLessThan(500);
  }, 60_000);
});
