import { describe, expect, it } from 'vitest';
import { classify } from '@pullwatch/classifier';
import { backoffSeconds, FleetSimulation, type Emitted } from './fleet.ts';
import { parseScenario } from './scenario.ts';

const origin = Date.parse('2026-11-24T12:00:00Z');

const scenario = parseScenario(`
name: test
seed: 7
backfill: 30m
images: [nginx:1.27, ghcr.io/acme/api:3.1.0]
clusters:
  - name: eu-1
    nodes: [{ name: eu-1-a }, { name: eu-1-arm, arch: arm64 }]
    namespaces: [shop]
    podsPerMinute: 4
  - name: us-1
    runtime: cri-o
    nodes: [{ name: us-1-a }]
    podsPerMinute: 4
incidents:
  - { kind: tag_removed, clusters: [eu-1], image: "ghcr.io/acme/web:9.9.9", start: -25m, pods: 1 }
  - { kind: dockerhub_rate_limit, clusters: [us-1], registry: docker.io, start: -20m, heal: 10m }
  - { kind: arch_mismatch, clusters: [eu-1], image: "quay.io/acme/ml:2.0", start: -15m, fix: 5m, pods: 1 }
`);

function run(until = origin): Emitted[] {
  return new FleetSimulation(scenario, origin).advance(until);
}

describe('FleetSimulation', () => {
  it('is deterministic for a seed and emits in time order', () => {
    const a = run();
    const b = run();
    expect(a.length).toBeGreaterThan(100);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const times = a.map((e) => Date.parse(e.event.lastTimestamp));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(Math.max(...times)).toBeLessThanOrEqual(origin);
  });

  it('aggregates repeats into one Event whose count grows, as the API server does', () => {
    const failed = run().filter((e) => e.event.message.startsWith('Failed to pull image "ghcr.io/acme/web:9.9.9"'));
    expect(failed.length).toBeGreaterThan(3);
    expect(new Set(failed.map((e) => e.event.metadata.uid)).size).toBe(1);
    expect(failed.map((e) => e.event.count)).toEqual(failed.map((_, i) => i + 1));
    expect(new Set(failed.map((e) => e.event.firstTimestamp)).size).toBe(1);
    const versions = failed.map((e) => Number(e.event.metadata.resourceVersion));
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(classify({ message: failed[0]!.event.message, reason: 'Failed' }).cause).toBe('not_found');
  });

  it('backs off like kubelet: 5 s doubling, capped at 300 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(backoffSeconds)).toEqual([5, 10, 20, 40, 80, 160, 300, 300]);
    const pulling = run()
      .filter((e) => e.event.reason === 'Pulling' && e.event.message.includes('acme/web:9.9.9'))
      .map((e) => Date.parse(e.event.lastTimestamp));
    const gaps = pulling.slice(1).map((t, i) => (t - pulling[i]!) / 1000);
    // Each gap is the back-off plus the failed attempt's own duration (≤ 2 s), in whole-second timestamps.
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(backoffSeconds(i + 1));
      expect(g).toBeLessThanOrEqual(backoffSeconds(i + 1) + 3);
    });
  });

  it('heals transient incidents and fixes permanent ones; unfixed ones stay stuck', () => {
    const events = run();
    const rateLimited = events.filter(
      (e) => e.cluster === 'us-1' && classify({ message: e.event.message }).cause === 'rate_limited',
    );
    expect(rateLimited.length).toBeGreaterThan(0);
    const healAt = origin - 10 * 60_000;
    expect(rateLimited.every((e) => Date.parse(e.event.lastTimestamp) < healAt + 2000)).toBe(true);
    const arch = events.filter((e) => e.event.message.includes('quay.io/acme/ml:2.0'));
    expect(arch.some((e) => e.event.reason === 'Pulled')).toBe(true);
    expect(arch.find((e) => e.event.reason === 'Failed')?.event.source.host).toBe('eu-1-arm');
    const web = events.filter((e) => e.event.message.includes('acme/web:9.9.9'));
    expect(web.some((e) => e.event.reason === 'Pulled')).toBe(false);
    expect(
      events.some((e) => e.event.reason === 'Pulled' && e.event.message.startsWith('Successfully pulled image')),
    ).toBe(true);
  });

  it('makes new objects on every run (uids and Pod names), as a real cluster would', () => {
    const a = new FleetSimulation(scenario, origin).advance(origin);
    const b = new FleetSimulation(scenario, origin + 3600_000).advance(origin + 3600_000);
    const uids = new Set(a.map((e) => e.event.metadata.uid));
    expect(b.some((e) => uids.has(e.event.metadata.uid))).toBe(false);
    const pods = new Set(a.map((e) => e.event.involvedObject.name));
    expect(b.filter((e) => pods.has(e.event.involvedObject.name))).toEqual([]);
  });

  it('continues live from where the backfill stopped', () => {
    const sim = new FleetSimulation(scenario, origin);
    const backfill = sim.advance(origin);
    const live = sim.advance(origin + 60_000);
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((e) => Date.parse(e.event.lastTimestamp) > origin - 1000)).toBe(true);
    expect(backfill.length).toBeGreaterThan(live.length);
  });

  it('rejects invalid scenarios with the path of the problem', () => {
    expect(() => parseScenario('name: x\nimages: [a]\nclusters: [{name: A, nodes: [{name: n}]}]')).toThrow(
      /clusters\.0\.name/,
    );
    expect(() =>
      parseScenario(
        'name: x\nimages: [a]\nclusters: [{name: a, nodes: [{name: n}]}]\nincidents: [{kind: typo, clusters: ' +
          '[b], start: 0}]',
      ),
    ).toThrow(/unknown cluster 'b'.*needs an image|needs an image|unknown cluster/);
    expect(() =>
      parseScenario('name: x\nbackfill: soon\nimages: [a]\nclusters: [{name: a, nodes: [{name: n}]}]'),
    ).toThrow(/backfill/);
  });
});
