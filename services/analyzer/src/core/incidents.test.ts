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

describe('formIncidents for an incident longer than the look-back', () => {
  const H = 60 * M;
  const lookback = 24 * H;
  // A registry outage failing every minute in two clusters for 30 hours (3 failures a bucket).
  const minutes = 30 * 60;
  const all = Array.from({ length: minutes + 1 }, (_, m) =>
    b('quay.io', 'registry_unavailable', m % 2 ? 'a' : 'b', 'quay.io/x:1', m),
  );
  const windowAt = (nowMs: number) => {
    const windowStartMs = nowMs - lookback;
    return { windowStartMs, buckets: all.filter((x) => x.minuteMs >= windowStartMs && x.minuteMs <= nowMs) };
  };

  it('keeps one id and its start, with exact failures, once its start left the look-back', () => {
    // After 20 hours the whole incident is inside the window.
    const early = windowAt(T0 + 20 * H);
    const [before, ...r0] = formIncidents(early.buckets, none, t, T0 + 20 * H);
    expect(r0).toEqual([]);
    expect(before).toMatchObject({ startMs: T0, status: 'open', scope: 'fleet', failures: (20 * 60 + 1) * 3 });

    // After 30 hours the window starts 6 hours in: the open incident is carried from ClickHouse.
    const now = T0 + 30 * H;
    const late = windowAt(now);
    const failuresBeforeWindow = all.filter((x) => x.minuteMs < late.windowStartMs).reduce((n, x) => n + x.failures, 0);
    const carried = {
      ...before!,
      failuresBeforeWindow,
    };
    const incs = formIncidents(late.buckets, none, t, now, { windowStartMs: late.windowStartMs, open: [carried] });
    expect(incs).toEqual([
      {
        id: before!.id,
        registry: 'quay.io',
        cause: 'registry_unavailable',
        scope: 'fleet',
        clusters: ['a', 'b'],
        images: ['quay.io/x:1'],
        failures: (minutes + 1) * 3,
        startMs: T0,
        lastSeenMs: now + 30_000,
        endMs: null,
        status: 'open',
      },
    ]);
    // Every minute after gives the same id again.
    const next = windowAt(now + M);
    const again = formIncidents(next.buckets, none, t, now + M, { windowStartMs: next.windowStartMs, open: [carried] });
    expect(again.map((i) => [i.id, i.startMs, i.status])).toEqual([[before!.id, T0, 'open']]);
  });

  it('resolves a carried incident that has no failures left in the window', () => {
    const [open] = formIncidents(all.slice(0, 60), none, t, T0 + 60 * M);
    const now = T0 + 30 * H;
    const incs = formIncidents([], none, t, now, {
      windowStartMs: now - lookback,
      open: [{ ...open!, failuresBeforeWindow: open!.failures }],
    });
    expect(incs).toEqual([{ ...open!, endMs: open!.lastSeenMs, status: 'resolved' }]);
  });

  it('does not carry into a run that begins after a quiet gap: that is a new incident', () => {
    const [open] = formIncidents(all.slice(0, 60), none, t, T0 + 60 * M);
    const now = T0 + 30 * H;
    const windowStartMs = now - lookback;
    const fresh = [b('quay.io', 'registry_unavailable', 'a', 'quay.io/x:1', (now - T0) / M - 5)];
    const incs = formIncidents(fresh, none, t, now, {
      windowStartMs,
      open: [{ ...open!, failuresBeforeWindow: open!.failures }],
    });
    expect(incs.map((i) => [i.id === open!.id, i.status, i.startMs])).toEqual([
      [false, 'open', now - 5 * M],
      [true, 'resolved', T0],
    ]);
  });
});
