import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '@pullwatch/classifier';
import { FleetSimulation } from './fleet.ts';
import { defaultScenarioPath, loadScenario } from './scenario.ts';

// scenarios/diagnosis.yaml: a typo whose correct image pulls elsewhere, a cluster near its Docker Hub
// quota, Pods recovering after known times. The simulation is seeded, so the figures are exact.
describe('the diagnosis scenario', () => {
  const origin = Date.parse('2026-11-24T12:00:00Z');
  const scenario = loadScenario(join(defaultScenarioPath, '../diagnosis.yaml'));
  const events = new FleetSimulation(scenario, origin).advance(origin);
  const pulled = events.filter((e) => e.event.message.startsWith('Successfully pulled image'));

  it('has a typo whose correct image pulls in other clusters', () => {
    const typo = events.filter((e) => e.event.message.startsWith('Failed to pull image "ngnix:1.27.3"'));
    expect(new Set(typo.map((e) => e.cluster))).toEqual(new Set(['staging-eu']));
    expect(classify({ message: typo[0]!.event.message, reason: 'Failed' }).cause).toBe('not_found_or_unauthorized');
    const nginxElsewhere = pulled.filter(
      (e) => e.event.message.includes('"nginx:1.27.3"') && e.cluster !== 'staging-eu',
    );
    expect(nginxElsewhere.length).toBeGreaterThan(10);
  });

  it('puts edge-nat near its Docker Hub quota: 84 of 100 pulls in the 6-hour window', () => {
    const dockerHub = pulled.filter(
      (e) =>
        e.cluster === 'edge-nat' && classify({ message: e.event.message, reason: 'Pulled' }).registry === 'docker.io',
    );
    expect(dockerHub.length).toBe(84);
  });

  it('recovers Pods after known times: first failure to successful pull', () => {
    const firstFailure = new Map<string, number>();
    const recovered: [string, number][] = [];
    for (const e of events) {
      const key = `${e.cluster}/${e.event.involvedObject.name}`;
      const t = Date.parse(e.event.lastTimestamp);
      if (e.event.message.startsWith('Failed to pull image') && !firstFailure.has(key)) firstFailure.set(key, t);
      if (e.event.message.startsWith('Successfully pulled image') && firstFailure.has(key))
        recovered.push([
          classify({ message: e.event.message, reason: 'Pulled' }).image!,
          (t - firstFailure.get(key)!) / 1000,
        ]);
    }
    // The disk heals 6 minutes in, the outage 4: each Pod pulls at its first back-off retry after that.
    expect(recovered).toEqual([
      ['postgres:17.2', 627],
      ['postgres:17.2', 630],
      ['quay.io/prometheus/node-exporter:v1.8.2', 83],
      ['quay.io/prometheus/node-exporter:v1.8.2', 81],
      ['quay.io/prometheus/node-exporter:v1.8.2', 164],
      ['quay.io/prometheus/node-exporter:v1.8.2', 328],
      ['quay.io/prometheus/node-exporter:v1.8.2', 324],
    ]);
  });
});
