import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EGRESS,
  EgressConfigError,
  loadEgressSettings,
  parseEgressSettings,
} from '../diagnosis/egress-config.ts';
import {
  accountLevel,
  accountOf,
  egressOf,
  exhaustionTime,
  nearlyExhausted,
  type NodeUsage,
  type PullUsage,
  quotaByAccount,
  quotaByEgress,
  quotaLevel,
  splitUsage,
  windowsOf,
} from './quota.ts';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const H6 = 6 * 3_600_000;
const usage = (cluster: string, node: string, used: number, lastHour: number, limited = 0): NodeUsage => ({
  cluster,
  node,
  used: new Map([[H6, used]]),
  lastHour,
  rateLimited: new Map([[H6, limited]]),
});

/** What the quota says of an egress no pull in the window counted against: its whole limit left. */
const unused = (egress: string, cluster: string, limit = 100) => ({
  egress,
  clusters: [cluster],
  limit,
  used: 0,
  remaining: limit,
  ratePerHour: 0,
  exhaustedAt: null,
  rateLimitedFailures: 0,
});

describe('Docker Hub quota per egress', () => {
  it('defaults to one egress per cluster, 100 pulls per 6 h', () => {
    expect(egressOf(DEFAULT_EGRESS, 'prod', 'n1')).toEqual({
      egress: 'cluster:prod',
      limit: 100,
      window: { text: '6h', ms: H6 },
    });
    const q = quotaByEgress(
      DEFAULT_EGRESS,
      [usage('prod', 'n1', 50, 10, 0), usage('prod', 'n2', 35, 10, 4), usage('dev', 'd1', 2, 0)],
      NOW,
    );
    expect(q).toEqual([
      {
        egress: 'cluster:prod',
        clusters: ['prod'],
        limit: 100,
        used: 85,
        remaining: 15,
        ratePerHour: 20,
        // 15 left at 20 an hour: 45 minutes.
        exhaustedAt: '2026-11-24T12:45:00.000Z',
        rateLimitedFailures: 4,
      },
      {
        egress: 'cluster:dev',
        clusters: ['dev'],
        limit: 100,
        used: 2,
        remaining: 98,
        ratePerHour: 0,
        exhaustedAt: null,
        rateLimitedFailures: 0,
      },
    ]);
  });

  it('splits clusters per node and groups clusters and nodes as the settings say', () => {
    const s = parseEgressSettings(`
limit: 100
window: 6h
clusters:
  us: { egress: node, limit: 200 }
  idle: {}
groups:
  - { name: eu-nat, clusters: [eu, stg], limit: 150, window: 1h }
`);
    expect(egressOf(s, 'us', 'a')).toEqual({ egress: 'node:us/a', limit: 200, window: { text: '6h', ms: H6 } });
    expect(egressOf(s, 'stg', 'x').egress).toBe('group:eu-nat');
    const eu: NodeUsage = {
      cluster: 'eu',
      node: 'e1',
      used: new Map([
        [3_600_000, 30],
        [H6, 90],
      ]),
      lastHour: 30,
      rateLimited: new Map(),
    };
    expect(quotaByEgress(s, [usage('us', 'a', 10, 1), eu], NOW)).toEqual([
      {
        egress: 'group:eu-nat',
        clusters: ['eu', 'stg'],
        limit: 150,
        used: 30,
        remaining: 120,
        ratePerHour: 30,
        exhaustedAt: null,
        rateLimitedFailures: 0,
        window: '1h',
      },
      {
        egress: 'node:us/a',
        clusters: ['us'],
        limit: 200,
        used: 10,
        remaining: 190,
        ratePerHour: 1,
        exhaustedAt: null,
        rateLimitedFailures: 0,
      },
      unused('cluster:idle', 'idle'),
    ]);
  });

  it('forecasts exhaustion only within one window; now when nothing remains', () => {
    expect(exhaustionTime(0, 0, H6, NOW)).toBe(NOW);
    expect(exhaustionTime(60, 10, H6, NOW)).toBe(NOW + H6);
    expect(exhaustionTime(61, 10, H6, NOW)).toBe(null);
    expect(exhaustionTime(5, 0, H6, NOW)).toBe(null);
  });

  it('flags ≥ 80 % used, or exhaustion within the hour', () => {
    const q = {
      egress: 'cluster:a',
      clusters: ['a'],
      limit: 100,
      used: 80,
      remaining: 20,
      ratePerHour: 0,
      exhaustedAt: null,
      rateLimitedFailures: 0,
    };
    expect(nearlyExhausted(q, 0.8, 3_600_000, NOW)).toBe(true);
    expect(nearlyExhausted({ ...q, used: 79 }, 0.8, 3_600_000, NOW)).toBe(false);
    expect(nearlyExhausted({ ...q, used: 10, exhaustedAt: '2026-11-24T12:59:00.000Z' }, 0.8, 3_600_000, NOW)).toBe(
      true,
    );
    expect(nearlyExhausted({ ...q, used: 10, exhaustedAt: '2026-11-24T13:01:00.000Z' }, 0.8, 3_600_000, NOW)).toBe(
      false,
    );
  });

  it('rejects settings it cannot use, naming the problem', () => {
    expect(() => parseEgressSettings('window: 6 hours', 'f.yaml')).toThrow(/f.yaml: window: a duration like 30m or 6h/);
    expect(() => parseEgressSettings('groups: [{ name: g }]', 'f.yaml')).toThrow(/a group needs clusters or nodes/);
    expect(() => parseEgressSettings('limits: 5', 'f.yaml')).toThrow(/Unrecognized key/);
  });
});

describe('PULLWATCH_DOCKERHUB_EGRESS_FILE', () => {
  it('fails at start with a typed error naming a file it cannot read', () => {
    expect(loadEgressSettings(undefined)).toBe(DEFAULT_EGRESS);
    expect(() => loadEgressSettings('/nonexistent/egress.yaml')).toThrow(EgressConfigError);
    expect(() => loadEgressSettings('/nonexistent/egress.yaml')).toThrow(/egress\.yaml: cannot read it/);
  });
});

describe('quotaLevel', () => {
  it('is full from the limit on, near from the rule threshold on, ok below', () => {
    const at = (used: number, near = 0.8) => quotaLevel({ used, limit: 100 }, near);
    expect([at(0), at(79), at(80), at(99), at(100), at(140)]).toEqual(['ok', 'ok', 'near', 'near', 'full', 'full']);
    expect([at(49, 0.5), at(50, 0.5)]).toEqual(['ok', 'near']);
  });
});

describe('Docker Hub quota per account', () => {
  const settings = parseEgressSettings(`
clusters:
  edge: { egress: node }
accounts:
  - { name: ci-bot, clusters: [prod, stg] }
  - { name: ml-team, namespaces: [{ cluster: prod, namespace: ml }], limit: 5000, window: 24h }
  - { name: edge-nodes, clusters: [edge], pulls: all }
`);
  const H24 = 24 * 3_600_000;
  const row = (
    cluster: string,
    node: string,
    namespace: string,
    withPullSecrets: boolean,
    used: number,
    lastHour: number,
    extra: Partial<PullUsage> = {},
  ): PullUsage => ({
    cluster,
    node,
    namespace,
    withPullSecrets,
    account: '',
    used: new Map([
      [H6, used],
      [H24, used],
    ]),
    lastHour,
    rateLimited: new Map(),
    lastRateLimited: null,
    ...extra,
  });

  it('maps a namespace before its cluster, and pull-secrets accounts only to Pods with secrets', () => {
    expect(accountOf(settings, 'prod', 'ml', true)?.name).toBe('ml-team');
    expect(accountOf(settings, 'prod', 'shop', true)?.name).toBe('ci-bot');
    expect(accountOf(settings, 'prod', 'shop', false)).toBe(null);
    expect(accountOf(settings, 'edge', 'x', false)?.name).toBe('edge-nodes');
    expect(accountOf(settings, 'dev', 'x', true)).toBe(null);
    expect(windowsOf(settings).map((w) => w.text)).toEqual(['6h', '24h']);
  });

  it('puts authenticated pulls and 429s naming an account in one bucket across clusters, the rest in the egress', () => {
    const refusedAt = NOW - 20 * 60_000;
    const rows = [
      // ci-bot's secret in prod and stg: one bucket.
      row('prod', 'p1', 'shop', true, 120, 30),
      row('stg', 's1', 'shop', true, 50, 10),
      // Anonymous pulls in prod: the cluster's NAT address, as without accounts.
      row('prod', 'p1', 'shop', false, 40, 5),
      // A 429 naming ci-bot, from a Pod without secrets in stg: Docker Hub says whose bucket it is.
      row('stg', 's2', 'shop', false, 0, 0, {
        account: 'ci-bot',
        rateLimited: new Map([
          [H6, 3],
          [H24, 3],
        ]),
        lastRateLimited: refusedAt,
      }),
      // An anonymous 429 in prod stays with the egress.
      row('prod', 'p2', 'shop', false, 0, 0, { rateLimited: new Map([[H6, 2]]), lastRateLimited: refusedAt }),
      // A 429 naming an account no setting knows.
      row('dev', 'd1', 'x', false, 0, 0, {
        account: 'laptop-user',
        rateLimited: new Map([[H6, 1]]),
        lastRateLimited: NOW - 3 * 3_600_000,
      }),
      // Node credentials in edge: every pull is edge-nodes'.
      row('edge', 'e1', 'x', false, 7, 1),
    ];
    const { nodes, accounts } = splitUsage(settings, rows);
    expect(quotaByEgress(settings, nodes, NOW)).toEqual([
      {
        egress: 'cluster:prod',
        clusters: ['prod'],
        limit: 100,
        used: 40,
        remaining: 60,
        ratePerHour: 5,
        exhaustedAt: null,
        rateLimitedFailures: 2,
      },
      // Nodes whose pulls all went to accounts still share their address: listed, with nothing used.
      unused('cluster:dev', 'dev'),
      unused('cluster:stg', 'stg'),
      unused('node:edge/e1', 'edge'),
    ]);
    const q = quotaByAccount(settings, accounts, NOW);
    expect(q).toEqual([
      {
        account: 'ci-bot',
        configured: true,
        clusters: ['prod', 'stg'],
        limit: 200,
        window: '6h',
        used: 170,
        remaining: 30,
        ratePerHour: 40,
        // 30 left at 40 an hour: 45 minutes.
        exhaustedAt: '2026-11-24T12:45:00.000Z',
        rateLimitedFailures: 3,
        lastRateLimitedAt: new Date(refusedAt).toISOString(),
      },
      {
        account: 'edge-nodes',
        configured: true,
        clusters: ['edge'],
        limit: 200,
        window: '6h',
        used: 7,
        remaining: 193,
        ratePerHour: 1,
        exhaustedAt: null,
        rateLimitedFailures: 0,
        lastRateLimitedAt: null,
      },
      {
        account: 'laptop-user',
        configured: false,
        clusters: ['dev'],
        limit: 200,
        window: '6h',
        used: 0,
        remaining: 200,
        ratePerHour: 0,
        exhaustedAt: null,
        rateLimitedFailures: 1,
        lastRateLimitedAt: new Date(NOW - 3 * 3_600_000).toISOString(),
      },
      {
        account: 'ml-team',
        configured: true,
        clusters: ['prod'],
        limit: 5000,
        window: '24h',
        used: 0,
        remaining: 5000,
        ratePerHour: 0,
        exhaustedAt: null,
        rateLimitedFailures: 0,
        lastRateLimitedAt: null,
      },
    ]);
    // Refused within the hour: full, whatever the fleet counted (the account pulls outside the fleet too).
    expect(q.map((a) => accountLevel(a, 0.8, NOW))).toEqual(['full', 'ok', 'ok', 'ok']);
  });

  it('lets a group name the IPv6 provider prefix Docker Hub buckets it by', () => {
    const s = parseEgressSettings(`
groups:
  - { name: aws-v6, clusters: [prod], prefixes: ['2600:1F18::/48', '203.0.113.0/24'] }
`);
    expect(quotaByEgress(s, [usage('prod', 'a', 3, 1)], NOW)).toEqual([
      {
        egress: 'group:aws-v6',
        clusters: ['prod'],
        limit: 100,
        used: 3,
        remaining: 97,
        ratePerHour: 1,
        exhaustedAt: null,
        rateLimitedFailures: 0,
        prefixes: ['2600:1f18::/48', '203.0.113.0/24'],
      },
    ]);
  });

  it('rejects account and prefix settings it cannot use, naming the problem', () => {
    const bad = (yaml: string) => () => parseEgressSettings(yaml, 'f.yaml');
    expect(bad("groups: [{ name: g, clusters: [a], prefixes: ['2600:1f18::/80'] }]")).toThrow(
      /groups\.0\.prefixes\.0: '2600:1f18::\/80': Docker Hub counts IPv6 pulls per \/64 or a wider prefix/,
    );
    expect(bad("groups: [{ name: g, clusters: [a], prefixes: ['nat-gw'] }]")).toThrow(
      /'nat-gw' is not an address prefix/,
    );
    expect(bad("groups: [{ name: g, clusters: [a], prefixes: ['10.0.0.0/33'] }]")).toThrow(/at most \/32/);
    expect(
      bad("groups: [{ name: g, clusters: [a], prefixes: ['::/0'] }, { name: h, clusters: [b], prefixes: ['::/0'] }]"),
    ).toThrow(/f\.yaml: prefix ::\/0 is in two groups \('g' and 'h'\)/);
    expect(bad('accounts: [{ name: ci }]')).toThrow(/accounts\.0: an account needs clusters or namespaces/);
    expect(bad("accounts: [{ name: 'bad name', clusters: [a] }]")).toThrow(
      /accounts\.0\.name: the account's Docker ID/,
    );
    expect(bad('accounts: [{ name: a, clusters: [x] }, { name: b, clusters: [x] }]')).toThrow(
      /cluster 'x' is in two accounts \('a' and 'b'\)/,
    );
    expect(bad('accounts: [{ name: a, clusters: [x] }, { name: a, clusters: [y] }]')).toThrow(
      /account 'a' is listed twice/,
    );
    expect(bad('accounts: [{ name: a, clusters: [x], pulls: some }]')).toThrow(/accounts\.0\.pulls/);
    expect(bad("proxyCaches: ['https://harbor.example.com']")).toThrow(/proxyCaches\.0: a registry host/);
    expect(
      parseEgressSettings('proxyCaches: [harbor.example.com/dockerhub-proxy, mirror.local:5000]').proxyCaches,
    ).toEqual(['harbor.example.com/dockerhub-proxy', 'mirror.local:5000']);
  });
});
