import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '@pullwatch/classifier';
import { redactTokenIds } from '@pullwatch/event-schema';
import { FleetSimulation } from './fleet.ts';
import { defaultScenarioPath, INCIDENT_KINDS, loadScenario } from './scenario.ts';

export const registries2026ScenarioPath = join(defaultScenarioPath, '../registries-2026.yaml');

// scenarios/registries-2026.yaml: each 2026 registry message family from a Pod of its own. Seeded: exact figures.
describe('the registries-2026 scenario', () => {
  const origin = Date.parse('2026-11-24T12:00:00Z');
  const scenario = loadScenario(registries2026ScenarioPath);
  const events = new FleetSimulation(scenario, origin).advance(origin);
  const failed = events.filter((e) => e.event.message.startsWith('Failed to pull image'));
  const causeOf = (m: string) => {
    const c = classify({ message: m, reason: 'Failed' });
    return `${c.cause}${c.subcause ? `/${c.subcause}` : ''} ${c.registry}`;
  };

  it('covers, with the default fleet, every kind of incident', () => {
    const def = loadScenario(defaultScenarioPath);
    expect(new Set([...def.incidents, ...scenario.incidents].map((i) => i.kind))).toEqual(new Set(INCIDENT_KINDS));
  });

  it('emits each family once per image, classified as its registry means it', () => {
    const byImage = new Map<string, string>();
    for (const e of failed)
      byImage.set(e.event.message.slice(22, e.event.message.indexOf('"', 22)), causeOf(e.event.message));
    expect(Object.fromEntries([...byImage].sort())).toEqual({
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:2.4.1':
        'unauthorized/expired_token 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      'acme.azurecr.io/web/api:3': 'rate_limited/registry acme.azurecr.io',
      'alpine:3.21': 'rate_limited/registry docker.io',
      'busybox:1.36': 'rate_limited/registry docker.io',
      'europe-docker.pkg.dev/acme/web/api:3': 'rate_limited/registry europe-docker.pkg.dev',
      'ghcr.io/acme/web:1.8.0': 'rate_limited/registry ghcr.io',
      'harbor.example.com/dockerhub-proxy/library/redis:7.4.1': 'not_found harbor.example.com',
      'harbor.example.com/payments/ledger:5.1.0': 'unauthorized harbor.example.com',
      'nginx:1.27.3': 'rate_limited/registry docker.io',
      'quay.io/acme/private:1': 'unauthorized quay.io',
    });
  });

  it("names ci-bot in Docker Hub's per-account refusals in prod and stg, with a token id the collector redacts", () => {
    const perAccount = failed.filter((e) => e.event.message.includes("pull rate limit as 'ci-bot'"));
    expect(new Set(perAccount.map((e) => e.cluster))).toEqual(new Set(['prod', 'stg']));
    for (const e of perAccount) {
      expect(e.event.message).toMatch(/as 'ci-bot': dckr_jti_[0-9a-f]{27}=\. You may increase the limit/);
      expect(redactTokenIds(e.event.message)).toContain("as 'ci-bot': dckr_jti_<redacted>. You may");
    }
  });
});
