import { describe, expect, it } from 'vitest';
import type { EgressQuota } from '../core/quota.ts';
import { activeInstances, type Signals } from './evaluate.ts';
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
const signals = (egresses: EgressQuota[]): Signals => ({
  registryWindow: new Map(),
  rateLimit: new Map(),
  openFleetIncidents: [],
  stuckPods: new Map(),
  dockerHubQuota: { now: NOW, egresses },
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
});
