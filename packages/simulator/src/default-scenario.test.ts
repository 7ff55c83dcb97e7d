import { describe, expect, it } from 'vitest';
import { classify } from '@pullwatch/classifier';
import { FleetSimulation } from './fleet.ts';
import { defaultScenarioPath, INCIDENT_KINDS, loadScenario } from './scenario.ts';

describe('the default fleet scenario', () => {
  const scenario = loadScenario(defaultScenarioPath);
  const events = new FleetSimulation(scenario, Date.parse('2026-11-24T12:00:00Z')).advance(
    Date.parse('2026-11-24T12:00:00Z'),
  );

  it('covers every kind of incident but the 2026 families (scenarios/registries-2026.yaml) across several clusters', () => {
    expect(new Set(scenario.incidents.map((i) => i.kind))).toEqual(new Set(INCIDENT_KINDS.slice(0, 8)));
    expect(new Set(events.map((e) => e.cluster)).size).toBe(scenario.clusters.length);
  });

  it('produces failures of every cause it promises, and successes to compare them with', () => {
    const causes = new Map<string, number>();
    for (const e of events) {
      if (!e.event.message.startsWith('Failed to pull image')) continue;
      const c = classify({ message: e.event.message, reason: e.event.reason }).cause;
      causes.set(c, (causes.get(c) ?? 0) + 1);
    }
    for (const c of [
      'rate_limited',
      'registry_unavailable',
      'not_found',
      'unauthorized',
      'platform_mismatch',
      'node_storage',
    ])
      expect(causes.get(c) ?? 0).toBeGreaterThan(0);
    const pulled = events.filter((e) => e.event.message.startsWith('Successfully pulled image')).length;
    expect(pulled).toBeGreaterThan(500);
  });
});
