import type { Diagnosis, FailingImage, FleetPull } from '../core/did-you-mean.ts';

/**
 * A large fleet for "did you mean" at scale (a unit test and bench/query-api.ts): `repositories`
 * repositories the fleet pulled, and `images` failing images, each with the diagnosis it must get. Names
 * are random words (seeded), so no two are within two edits of each other by accident and every
 * expectation follows from how the failing image was made:
 * - a typo (one or two edits) of a fleet repository: that repository, with the tag written when the
 *   fleet pulled it, else its most pulled tag;
 * - a fleet repository without its org: that repository (a missing prefix is one edit);
 * - a typo of a Docker Hub official image: the official image with the tag written;
 * - a name like nothing pulled: no suggestion.
 */
export function largeFleet(opts: { repositories: number; images: number; seed?: number }): {
  fleet: FleetPull[];
  official: string[];
  failing: { f: FailingImage; expected: Diagnosis }[];
} {
  let a = (opts.seed ?? 25) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const used = new Set<string>();
  /** A fresh word of 8 to 15 letters. */
  const word = () => {
    for (;;) {
      const w = Array.from({ length: 8 + int(8) }, () => String.fromCharCode(97 + int(26))).join('');
      if (!used.has(w)) {
        used.add(w);
        return w;
      }
    }
  };
  const official = ['nginx', 'postgres', 'redis', 'busybox', 'traefik', 'alpine', 'node', 'python', 'golang', 'httpd'];
  for (const o of official) used.add(o);

  const fleet: FleetPull[] = [];
  const repos: { registry: string; repository: string; tags: { tag: string; pulls: number }[] }[] = [];
  for (let i = 0; i < opts.repositories; i++) {
    const registry = i % 4 === 0 ? 'docker.io' : 'ghcr.io';
    const repository = `team${i % 97}/${word()}`;
    const tags = [
      { tag: `1.${i % 7}.0`, pulls: 50 + int(50) },
      { tag: `2.${i % 5}.1`, pulls: 1 + int(40) },
    ];
    repos.push({ registry, repository, tags });
    for (const t of tags)
      fleet.push({
        registry,
        repository,
        tag: t.tag,
        image: `${registry === 'docker.io' ? '' : `${registry}/`}${repository}:${t.tag}`,
        pulls: t.pulls,
        withSecrets: 0,
        withoutSecrets: 0,
      });
  }

  /** One edit in the second half of the word, and a second (n = 2) in the first: apart, so they add up. */
  const edit = (w: string, n: number) => {
    let s = w;
    const half = Math.floor(w.length / 2);
    for (let k = 0; k < n; k++) {
      const at = k === 0 ? half + int(half - 1) : int(half - 2);
      const op = int(4);
      if (op === 0) s = s.slice(0, at) + s[at + 1] + s[at] + s.slice(at + 2);
      else if (op === 1) s = s.slice(0, at) + s.slice(at + 1);
      else if (op === 2) s = s.slice(0, at) + (s[at] === 'z' ? 'y' : 'z') + s.slice(at + 1);
      else s = `${s.slice(0, at)}q${s.slice(at)}`;
    }
    return s === w ? `${w}x` : s;
  };

  const failing: { f: FailingImage; expected: Diagnosis }[] = [];
  const cause = 'not_found_or_unauthorized';
  for (let i = 0; i < opts.images; i++) {
    const kind = i % 10;
    const r = repos[(i * 7919) % repos.length]!;
    const [org, name] = r.repository.split('/') as [string, string];
    const prefix = r.registry === 'docker.io' ? '' : `${r.registry}/`;
    if (kind < 6) {
      // A typo; the tag written is one the fleet pulled (the second) or one it did not.
      const repository = `${org}/${edit(name, 1 + (i % 2))}`;
      const pulled = i % 3 !== 0;
      const tag = pulled ? r.tags[1]!.tag : '9.9.9';
      const want = pulled ? r.tags[1]! : r.tags[0]!;
      failing.push({
        f: { cause, registry: r.registry, repository, tag, image: `${prefix}${repository}:${tag}` },
        expected: { cause, suggestion: `${prefix}${r.repository}:${want.tag}`, evidence: 'similar_fleet_image' },
      });
    } else if (kind === 6) {
      // The org left out (on Docker Hub that reads as library/NAME).
      const repository = r.registry === 'docker.io' ? `library/${name}` : name;
      const tag = r.tags[0]!.tag;
      failing.push({
        f: { cause, registry: r.registry, repository, tag, image: `${prefix}${name}:${tag}` },
        expected: { cause, suggestion: `${prefix}${r.repository}:${tag}`, evidence: 'similar_fleet_image' },
      });
    } else if (kind === 7) {
      const o = official[i % official.length]!;
      const typo = o.length > 4 ? edit(o, 1) : `${o}x`;
      failing.push({
        f: { cause, registry: 'docker.io', repository: `library/${typo}`, tag: `${i}`, image: `${typo}:${i}` },
        expected: { cause, suggestion: `${o}:${i}`, evidence: 'docker_official_image' },
      });
    } else {
      const repository = `${org}/${word()}`;
      failing.push({
        f: { cause, registry: r.registry, repository, tag: '1', image: `${prefix}${repository}:1` },
        expected: { cause, suggestion: null, evidence: null },
      });
    }
  }
  return { fleet, official, failing };
}
