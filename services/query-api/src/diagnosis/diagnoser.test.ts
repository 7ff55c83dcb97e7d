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

describe('Diagnoser: a Docker Hub pull-through cache answering not found', () => {
  const NOW = new Date('2026-12-07T12:00:00Z');
  const proxied = (repository: string, tag: string): FleetPull => ({
    registry: 'harbor.example.com',
    repository,
    tag,
    image: `harbor.example.com/${repository}:${tag}`,
    pulls: 40,
    withSecrets: 0,
    withoutSecrets: 40,
  });
  const fleetPulls = async () => [proxied('dockerhub-proxy/library/nginx', '1.27.3'), proxied('cache/acme/web', '2')];
  const refused = (count: number) => {
    const asked: [string, string][] = [];
    return {
      asked,
      queries: {
        fleetPulls,
        dockerHubRefusals: async (from: Date, to: Date) => {
          asked.push([from.toISOString(), to.toISOString()]);
          return { count, last: count ? '2026-12-07T11:52:00.000Z' : null };
        },
      },
    };
  };
  const typo = { image: 'harbor.example.com/dockerhub-proxy/library/ngnix:1.27.3', cause: 'not_found', hint: 'stored' };

  it('says the proxy may be masking the rate limit, not "Did you mean", while Docker Hub refuses the fleet', async () => {
    const r = refused(7);
    const [d] = await new Diagnoser(r.queries, [], [], 0).diagnoseAll([typo], NOW);
    expect(d).toEqual({
      cause: 'not_found',
      suggestion: null,
      evidence: 'upstream_rate_limited',
      hint:
        "The proxy cache may be masking Docker Hub's rate limit: harbor.example.com/dockerhub-proxy is a " +
        'pull-through cache of Docker Hub, and a proxy cache answers "not found" for an image it has not cached ' +
        'when Docker Hub refuses it (goharbor/harbor#23750). Docker Hub refused 7 pulls in the fleet in the ' +
        "last hour (last at 2026-12-07T11:52:00.000Z). Check the proxy's upstream (its Docker Hub account and " +
        'rate limit) before the image name; pulls recover when the limit does.',
    });
    expect(r.asked).toEqual([['2026-12-07T11:00:00.000Z', '2026-12-07T12:00:00.000Z']]);
  });

  it('still suggests the typo through the proxy when Docker Hub refuses nothing', async () => {
    const r = refused(0);
    const [d] = await new Diagnoser(r.queries, [], [], 0).diagnoseAll([typo], NOW);
    expect(d).toEqual({
      cause: 'not_found',
      suggestion: 'harbor.example.com/dockerhub-proxy/library/nginx:1.27.3',
      evidence: 'similar_fleet_image',
      hint: 'Did you mean harbor.example.com/dockerhub-proxy/library/nginx:1.27.3? stored',
    });
  });

  it('knows configured proxies beyond the library/ shape, and leaves other hosts and causes alone', async () => {
    const r = refused(2);
    const items = [
      { image: 'harbor.example.com/cache/acme/wbe:2', cause: 'not_found', hint: 'h' },
      { image: 'ghcr.io/acme/wbe:2', cause: 'not_found', hint: 'h' },
      { image: 'harbor.example.com/dockerhub-proxy/library/nginx:1.27.3', cause: 'unauthorized', hint: 'h' },
    ];
    const unconfigured = await new Diagnoser(r.queries, [], [], 0).diagnoseAll(items, NOW);
    expect(unconfigured.map((d) => d.evidence)).toEqual(['similar_fleet_image', null, null]);
    // No item is a proxy's not found: Docker Hub's refusals are not even read.
    expect(r.asked).toEqual([]);
    const configured = await new Diagnoser(r.queries, [], [], 0, Date.now, ['harbor.example.com/cache']).diagnoseAll(
      items,
      NOW,
    );
    expect(configured.map((d) => [d.evidence, d.suggestion])).toEqual([
      ['upstream_rate_limited', null],
      [null, null],
      [null, null],
    ]);
    expect(configured[0]!.hint).toMatch(
      /^The proxy cache may be masking Docker Hub's rate limit: harbor\.example\.com\/cache is/,
    );
  });
});
