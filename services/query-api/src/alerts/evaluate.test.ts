import { describe, expect, it } from 'vitest';
import { activeInstances, step, type AlertState, type Signals } from './evaluate.ts';
import { RuleSchema, loadRules, defaultRulesPath } from './rules.ts';

const M = 60_000;
const rules = loadRules(defaultRulesPath);
const signals = (o: Partial<Signals> = {}): Signals => ({
  registryWindow: new Map(),
  rateLimit: new Map(),
  openFleetIncidents: [],
  stuckPods: new Map(),
  ...o,
});

describe('alert rules', () => {
  it('ships sensible defaults and rejects bad rules', () => {
    expect(rules.map((r) => r.kind)).toEqual([
      'registry_failure_rate',
      'rate_limit_rising',
      'fleet_incident',
      'stuck_pods',
      'dockerhub_quota',
    ]);
    expect(
      RuleSchema.safeParse({ name: 'x', kind: 'registry_failure_rate', threshold: 2, window: '15m' }).success,
    ).toBe(false);
    expect(RuleSchema.safeParse({ name: 'x', kind: 'stuck_pods', threshold: 1, for: 'soon' }).success).toBe(false);
  });

  it('fires when a registry fails above the threshold with enough volume only', () => {
    const s = signals({
      registryWindow: new Map([
        [
          15 * M,
          [
            { registry: 'quay.io', failures: 30, successes: 10 },
            { registry: 'ghcr.io', failures: 9, successes: 1 },
          ],
        ],
      ]),
    });
    expect(activeInstances(rules, s).map((a) => [a.rule, a.labels.registry])).toEqual([
      ['RegistryFailureRateHigh', 'quay.io'],
    ]);
  });

  it('fires on rate limits rising against their baseline, fleet incidents, and stuck Pods', () => {
    const s = signals({
      rateLimit: new Map([
        [
          'RateLimitRising',
          [
            { registry: 'docker.io', recent: 40, baselinePerWindow: 2 },
            { registry: 'ghcr.io', recent: 12, baselinePerWindow: 10 },
          ],
        ],
      ]),
      openFleetIncidents: [{ id: 'i1', registry: 'quay.io', cause: 'registry_unavailable', clusters: ['a', 'b'] }],
      stuckPods: new Map([[10 * M, 6]]),
    });
    expect(activeInstances(rules, s).map((a) => `${a.rule}:${a.labels.registry ?? ''}`)).toEqual([
      'RateLimitRising:docker.io',
      'FleetIncident:quay.io',
      'StuckPods:',
    ]);
  });

  it('notifies once when firing, not while firing, once when resolved; honours `for`', () => {
    const states = new Map<string, AlertState>();
    const stuck = (n: number) => activeInstances(rules, signals({ stuckPods: new Map([[10 * M, n]]) }));
    expect(step(rules, states, stuck(9), 0)).toEqual([]); // pending: StuckPods has for: 10m
    expect(step(rules, states, stuck(9), 5 * M)).toEqual([]);
    const fired = step(rules, states, stuck(9), 10 * M);
    expect(fired.map((t) => t.kind)).toEqual(['firing']);
    expect(step(rules, states, stuck(12), 11 * M)).toEqual([]);
    const resolved = step(rules, states, stuck(1), 12 * M);
    expect(resolved.map((t) => [t.kind, t.alert.firedAt, t.alert.resolvedAt])).toEqual([['resolved', 10 * M, 12 * M]]);
    // A pending alert that clears before `for` never notifies.
    step(rules, states, stuck(9), 20 * M);
    expect(step(rules, states, stuck(0), 21 * M)).toEqual([]);
  });
});
