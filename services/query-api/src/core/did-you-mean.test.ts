import { describe, expect, it } from 'vitest';
import {
  diagnose,
  diagnosedHint,
  editDistance,
  type FailingImage,
  type FleetPull,
  parseOfficialImages,
  repositoryDistance,
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
      cause: 'not_found_or_unauthorized',
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
      cause: 'not_found_or_unauthorized',
      suggestion: 'acme/checkout:4.2.0',
      evidence: 'similar_fleet_image',
    });
  });

  it('falls back on Docker Hub official images, keeping the tag written', () => {
    expect(
      diagnose(failing({ repository: 'library/postgress', tag: '17.2', image: 'postgress:17.2' }), [], OFFICIAL),
    ).toEqual({
      cause: 'not_found_or_unauthorized',
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
    ).toEqual({ cause: 'unauthorized', suggestion: 'traefik:v3.1', evidence: 'docker_official_image' });
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
