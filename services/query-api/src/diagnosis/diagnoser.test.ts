import { describe, expect, it } from 'vitest';
import type { FleetPull } from '../core/did-you-mean.ts';
import { Diagnoser } from './diagnoser.ts';

const pull = (repository: string): FleetPull => ({
  registry: 'ghcr.io',
  repository,
  tag: '1',
  image: `ghcr.io/${repository}:1`,
  pulls: 5,
  withSecrets: 5,
  withoutSecrets: 0,
});
const item = { image: 'ghcr.io/acme/wbe:1', cause: 'not_found', hint: '' };

/** A fleet whose reads are counted, and answered when `release` is called (or at once). */
function fleet(immediate = true) {
  const state = { reads: 0, repository: 'acme/web', pending: [] as (() => void)[] };
  const fleetPulls = (_registries: string[], _now: Date) => {
    state.reads++;
    const answer = [pull(state.repository)];
    if (immediate) return Promise.resolve(answer);
    return new Promise<FleetPull[]>((resolve) => state.pending.push(() => resolve(answer)));
  };
  return { state, queries: { fleetPulls } };
}

describe('Diagnoser fleet pulls', () => {
  it('reads the fleet once per ttl, serving the same answer in between', async () => {
    let wall = 1_000_000;
    const f = fleet();
    const d = new Diagnoser(f.queries, [], [], 60_000, () => wall);
    const now = new Date('2026-12-07T12:00:00Z');
    const first = await d.diagnoseAll([item], now);
    expect(first[0]).toMatchObject({ suggestion: 'ghcr.io/acme/web:1', evidence: 'similar_fleet_image' });
    f.state.repository = 'acme/wbe';
    wall += 20_000;
    expect(await d.diagnoseAll([item], new Date(now.getTime() + 20_000))).toEqual(first);
    expect(f.state.reads).toBe(1);
    // Past half the ttl: still the held answer, and one read in the background.
    wall += 15_000;
    expect(await d.diagnoseAll([item], new Date(now.getTime() + 35_000))).toEqual(first);
    expect(f.state.reads).toBe(2);
    // That read (the repository written now pulls) answers the next request.
    const after = await d.diagnoseAll([item], new Date(now.getTime() + 36_000));
    expect(after[0]).toMatchObject({ suggestion: null, evidence: null, cause: 'not_found' });
    expect(f.state.reads).toBe(2);
  });

  it('reads again past the ttl, for an earlier time, and on every request with ttl 0', async () => {
    let wall = 0;
    const f = fleet();
    const d = new Diagnoser(f.queries, [], [], 60_000, () => wall);
    const now = new Date('2026-12-07T12:00:00Z');
    await d.diagnoseAll([item], now);
    await d.diagnoseAll([item], new Date(now.getTime() - 1));
    expect(f.state.reads).toBe(2);
    wall += 61_000;
    await d.diagnoseAll([item], new Date(now.getTime() + 61_000));
    expect(f.state.reads).toBe(3);

    const g = fleet();
    const uncached = new Diagnoser(g.queries, [], [], 0);
    await uncached.diagnoseAll([item], now);
    await uncached.diagnoseAll([item], now);
    expect(g.state.reads).toBe(2);
  });

  it('shares one read among concurrent requests', async () => {
    const f = fleet(false);
    const d = new Diagnoser(f.queries, [], [], 60_000, () => 0);
    const now = new Date('2026-12-07T12:00:00Z');
    const answers = Promise.all([1, 2, 3, 4].map(() => d.diagnoseAll([item], now)));
    await Promise.resolve();
    expect(f.state.reads).toBe(1);
    f.state.pending.forEach((release) => {
      release();
    });
    for (const a of await answers) expect(a[0]).toMatchObject({ suggestion: 'ghcr.io/acme/web:1' });
    expect(f.state.reads).toBe(1);
  });
});
