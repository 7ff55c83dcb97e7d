import { describe, expect, it } from 'vitest';
import { formIncidents, type FailureBucket } from './incidents.ts';

const M = 60_000;
const T0 = Date.UTC(2026, 10, 24, 10, 0);
const b = (
  registry: string,
  cause: string,
  cluster: string,
  image: string,
  minute: number,
  failures = 3,
): FailureBucket => ({
  registry,
  cause,
  cluster,
  image,
  minuteMs: T0 + minute * M,
  lastMs: T0 + minute * M + 30_000,
  failures,
});
const t = { fleetMinClusters: 2, fleetWindowMs: 10 * M, quietMs: 15 * M };
const none = { byRegistryCluster: new Map<string, number>(), byImage: new Map<string, number>() };

describe('formIncidents', () => {
  it('scopes a registry outage in three clusters as one fleet incident', () => {
    const buckets = [
      b('quay.io', 'registry_unavailable', 'a', 'quay.io/x:1', 0),
      b('quay.io', 'registry_unavailable', 'b', 'quay.io/y:1', 2),
      b('quay.io', 'registry_unavailable', 'c', 'quay.io/x:1', 4),
      b('quay.io', 'registry_unavailable', 'a', 'quay.io/x:1', 6),
    ];
    const [inc, ...rest] = formIncidents(buckets, none, t, T0 + 8 * M);
    expect(rest).toEqual([]);
    expect(inc).toMatchObject({
      registry: 'quay.io',
      cause: 'registry_unavailable',
      scope: 'fleet',
      clusters: ['a', 'b', 'c'],
      failures: 12,
      status: 'open',
      endMs: null,
    });
    // Deterministic: the same input gives the same id.
    expect(formIncidents([...buckets].reverse(), none, t, T0 + 8 * M)[0]!.id).toBe(inc!.id);
  });

  it('keeps a rate limit behind one NAT a cluster incident, and a typo an image incident', () => {
    const incs = formIncidents(
      [
        b('docker.io', 'rate_limited', 'us', 'redis:7', 0),
        b('docker.io', 'rate_limited', 'us', 'nginx:1', 1),
        b('docker.io', 'not_found_or_unauthorized', 'eu', 'ngnix:1', 0),
        b('docker.io', 'not_found_or_unauthorized', 'us', 'ngnix:1', 3),
      ],
      none,
      t,
      T0 + 5 * M,
    );
    expect(incs.map((i) => [i.cause, i.scope, i.clusters.join(',')])).toEqual([
      ['not_found_or_unauthorized', 'image', 'eu,us'],
      ['rate_limited', 'cluster', 'us'],
    ]);
  });

  it('does not call clusters failing far apart a fleet incident', () => {
    const [inc] = formIncidents(
      [b('ghcr.io', 'registry_unavailable', 'a', 'i', 0), b('ghcr.io', 'registry_unavailable', 'b', 'i', 12)],
      none,
      t,
      T0 + 13 * M,
    );
    expect(inc!.scope).toBe('cluster');
  });

  it('resolves when quiet, or when pulls succeed again; splits on quiet gaps', () => {
    const buckets = [
      b('quay.io', 'registry_unavailable', 'a', 'x', 0),
      b('quay.io', 'registry_unavailable', 'a', 'x', 40),
    ];
    const incs = formIncidents(buckets, none, t, T0 + 41 * M);
    expect(incs.map((i) => i.status)).toEqual(['resolved', 'open']);
    const healed = formIncidents(
      [buckets[1]!],
      { byRegistryCluster: new Map([['quay.io\u0000a', T0 + 41 * M]]), byImage: new Map() },
      t,
      T0 + 42 * M,
    );
    expect(healed[0]).toMatchObject({ status: 'resolved', endMs: T0 + 41 * M });
  });
});
