import { describe, expect, it } from 'vitest';
import type { AccountQuota, EgressQuota } from '../core/quota.ts';
import { activeInstances, type AlertState, type Signals, step } from './evaluate.ts';
import { RuleSchema } from './rules.ts';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const rule = RuleSchema.parse({ name: 'DockerHubQuotaNearlyExhausted', kind: 'dockerhub_quota' });
const quota = (egress: string, used: number, exhaustedAt: string | null): EgressQuota => ({
  egress,
  clusters: [egress.slice(8)],
  limit: 100,
  used,
  remaining: 100 - used,
  ratePerHour: 0,
  exhaustedAt,
  rateLimitedFailures: 0,
});
const account = (name: string, used: number, over: Partial<AccountQuota> = {}): AccountQuota => ({
  account: name,
  configured: true,
  clusters: ['prod', 'stg'],
  limit: 200,
  window: '6h',
  used,
  remaining: 200 - used,
  ratePerHour: 0,
  exhaustedAt: null,
  rateLimitedFailures: 0,
  lastRateLimitedAt: null,
  ...over,
});
const signals = (egresses: EgressQuota[], accounts: AccountQuota[] = [], now = NOW): Signals => ({
  registryWindow: new Map(),
  rateLimit: new Map(),
  openFleetIncidents: [],
  stuckPods: new Map(),
  dockerHubQuota: { now, egresses, accounts },
});

describe('the DockerHubQuotaNearlyExhausted rule', () => {
  it('defaults to 80 % or exhaustion within an hour', () => {
    expect(rule).toMatchObject({ kind: 'dockerhub_quota', threshold: 0.8, forecast: 3_600_000, for: 0 });
  });

  it('fires per egress at ≥ 80 % used or exhaustion forecast within the hour, and not otherwise', () => {
    const got = activeInstances(
      [rule],
      signals([
        quota('cluster:a', 80, null),
        quota('cluster:b', 10, '2026-11-24T12:30:00.000Z'),
        quota('cluster:c', 79, '2026-11-24T13:30:00.000Z'),
      ]),
    );
    expect(got).toEqual([
      {
        rule: 'DockerHubQuotaNearlyExhausted',
        severity: 'warning',
        labels: { egress: 'cluster:a' },
        value: 0.8,
        summary: 'cluster:a: 80 of 100 Docker Hub pulls used (a)',
      },
      {
        rule: 'DockerHubQuotaNearlyExhausted',
        severity: 'warning',
        labels: { egress: 'cluster:b' },
        value: 0.1,
        summary: 'cluster:b: 10 of 100 Docker Hub pulls used (b), exhausted by 2026-11-24T12:30:00.000Z',
      },
    ]);
  });

  it('fires per account at ≥ 80 % used, exhaustion within the hour, or a refusal by Docker Hub within the hour', () => {
    const got = activeInstances(
      [rule],
      signals(
        [],
        [
          // Refused 2 s ago: out of pulls now, whatever the fleet counted.
          account('ci-bot', 18, { rateLimitedFailures: 80, lastRateLimitedAt: '2026-11-24T11:59:58.000Z' }),
          account('ml', 160, { clusters: ['dev'] }),
          account('team-b', 100, { ratePerHour: 120, exhaustedAt: '2026-11-24T12:50:00.000Z' }),
          // Refused exactly an hour ago: still counts.
          account('ghost', 0, {
            configured: false,
            clusters: ['edge'],
            rateLimitedFailures: 3,
            lastRateLimitedAt: '2026-11-24T11:00:00.000Z',
          }),
          // Refused an hour and a second ago, 159 used, forecast past the hour: quiet.
          account('old', 159, {
            ratePerHour: 20,
            exhaustedAt: '2026-11-24T14:03:00.000Z',
            rateLimitedFailures: 1,
            lastRateLimitedAt: '2026-11-24T10:59:59.000Z',
          }),
        ],
      ),
    );
    expect(got).toEqual([
      {
        rule: 'DockerHubQuotaNearlyExhausted',
        severity: 'warning',
        labels: { account: 'ci-bot' },
        value: 1,
        summary:
          'account ci-bot (prod, stg): 18 of 200 Docker Hub pulls used; Docker Hub refused 80 pulls as ci-bot ' +
          'in 6h, last at 2026-11-24T11:59:58.000Z',
      },
      {
        rule: 'DockerHubQuotaNearlyExhausted',
        severity: 'warning',
        labels: { account: 'ml' },
        value: 0.8,
        summary: 'account ml (dev): 160 of 200 Docker Hub pulls used',
      },
      {
        rule: 'DockerHubQuotaNearlyExhausted',
        severity: 'warning',
        labels: { account: 'team-b' },
        value: 0.5,
        summary: 'account team-b (prod, stg): 100 of 200 Docker Hub pulls used, exhausted by 2026-11-24T12:50:00.000Z',
      },
      {
        rule: 'DockerHubQuotaNearlyExhausted',
        severity: 'warning',
        labels: { account: 'ghost' },
        value: 1,
        summary:
          'account ghost (edge): known from 429s only, its pulls not counted; Docker Hub refused 3 pulls as ghost ' +
          'in 6h, last at 2026-11-24T11:00:00.000Z',
      },
    ]);
  });

  it('an account and an egress of the same cluster are two alerts; the account resolves an hour after its refusal', () => {
    const states = new Map<string, AlertState>();
    const egress = quota('cluster:prod', 90, null);
    const refused = account('ci-bot', 18, { rateLimitedFailures: 1, lastRateLimitedAt: '2026-11-24T12:00:00.000Z' });
    const round = (now: number) =>
      step([rule], states, activeInstances([rule], signals([egress], [refused], now)), now);
    expect(round(NOW).map((t) => [t.kind, t.alert.instance.labels])).toEqual([
      ['firing', { egress: 'cluster:prod' }],
      ['firing', { account: 'ci-bot' }],
    ]);
    expect(round(NOW + 3_600_000)).toEqual([]);
    expect(round(NOW + 3_600_001).map((t) => [t.kind, t.alert.instance.labels, t.alert.resolvedAt])).toEqual([
      ['resolved', { account: 'ci-bot' }, NOW + 3_600_001],
    ]);
  });
});
