import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EGRESS,
  EgressConfigError,
  loadEgressSettings,
  parseEgressSettings,
} from '../diagnosis/egress-config.ts';
import { egressOf, exhaustionTime, nearlyExhausted, type NodeUsage, quotaByEgress, quotaLevel } from './quota.ts';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const H6 = 6 * 3_600_000;
const usage = (cluster: string, node: string, used: number, lastHour: number, limited = 0): NodeUsage => ({
  cluster,
  node,
  used: new Map([[H6, used]]),
  lastHour,
  rateLimited: new Map([[H6, limited]]),
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
      {
        egress: 'cluster:idle',
        clusters: ['idle'],
        limit: 100,
        used: 0,
        remaining: 100,
        ratePerHour: 0,
        exhaustedAt: null,
        rateLimitedFailures: 0,
      },
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
