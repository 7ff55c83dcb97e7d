import { describe, expect, it } from 'vitest';
import { classify, messageKind, parsePulled } from '@pullwatch/classifier';
import { INCIDENT_KINDS } from './scenario.ts';
import { kubeletMessages, pullErrorDetail, splitImage } from './messages.ts';

// A typo on Docker Hub is ambiguous on the wire (Hub answers 401/denied for repositories that do not
// exist); containerd says so ("may require authorization"), CRI-O only relays the denial.
const expected: Record<(typeof INCIDENT_KINDS)[number], string | string[]> = {
  typo: ['not_found_or_unauthorized', 'unauthorized'],
  tag_removed: 'not_found',
  missing_pull_secret: 'unauthorized',
  dockerhub_rate_limit: 'rate_limited',
  registry_outage: 'registry_unavailable',
  dns_failure: 'registry_unavailable',
  arch_mismatch: 'platform_mismatch',
  disk_full: 'node_storage',
  dockerhub_account_rate_limit: 'rate_limited',
  dockerhub_abuse_limit: 'rate_limited',
  registry_rate_limit: 'rate_limited',
  ecr_expired_token: 'unauthorized',
  registry_unauthorized: 'unauthorized',
  proxy_not_found: 'not_found',
};

/** The image each kind is tried with (the 2026 families each name their registry). */
const imageFor: Partial<Record<(typeof INCIDENT_KINDS)[number], string>> = {
  missing_pull_secret: 'registry.corp.example:5000/payments/api:2.4.1',
  dockerhub_rate_limit: 'redis:7.2',
  dockerhub_account_rate_limit: 'redis:7.2',
  dockerhub_abuse_limit: 'redis:7.2',
  ecr_expired_token: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:2.4.1',
  registry_unauthorized: 'harbor.example.com/payments/api:2.4.1',
  proxy_not_found: 'harbor.example.com/dockerhub-proxy/library/nginx:1.27.3',
};

describe('simulated runtime messages', () => {
  for (const runtime of ['containerd', 'cri-o'] as const) {
    for (const kind of INCIDENT_KINDS) {
      it(`${runtime} ${kind} classifies as ${[expected[kind]].flat().join(' or ')}`, () => {
        const image = imageFor[kind] ?? 'ghcr.io/acme/web:1.8.0';
        const message = kubeletMessages.failed(image, pullErrorDetail(kind, image, runtime));
        const c = classify({ message, reason: 'Failed' });
        expect([expected[kind]].flat()).toContain(c.cause);
        expect(c.registry).toBe(splitImage(image).host);
        expect(messageKind(message)).toBe('failed_pull');
      });
    }
  }

  // Each 2026 family the simulator can emit, through both runtimes, with the registry's own words.
  const families: [string, (typeof INCIDENT_KINDS)[number], string, string | null, RegExp][] = [
    ['GHCR', 'registry_rate_limit', 'ghcr.io/acme/web:1.8.0', 'registry', /allowed: 44000\/minute/],
    [
      'Artifact Registry',
      'registry_rate_limit',
      'europe-docker.pkg.dev/acme/web/api:3',
      'registry',
      /Quota exceeded for quota metric 'Requests per project per region'/,
    ],
    ['ACR', 'registry_rate_limit', 'acme.azurecr.io/web:3', 'registry', /aka\.ms\/acr\/skus/],
    ['Docker Hub HAP429', 'dockerhub_abuse_limit', 'redis:7.2', 'registry', /Too Many Requests \(HAP429\)/],
    [
      'Docker Hub per account',
      'dockerhub_account_rate_limit',
      'redis:7.2',
      'registry',
      /pull rate limit as 'ci-bot': dckr_jti_x=\. You may increase the limit by upgrading/,
    ],
    [
      'ECR expired token',
      'ecr_expired_token',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:2.4.1',
      'expired_token',
      /Your authorization token has expired/,
    ],
    ['Quay', 'registry_unauthorized', 'quay.io/acme/api:1', null, /access to the requested resource is not authorized/],
    [
      'Harbor',
      'registry_unauthorized',
      'harbor.example.com/payments/api:2.4.1',
      null,
      /unauthorized to access repository: payments\/api, action: pull/,
    ],
  ];
  for (const runtime of ['containerd', 'cri-o'] as const)
    for (const [family, kind, image, subcause, words] of families)
      it(`${runtime} ${family} (${kind}) classifies with its subcause and registry`, () => {
        const message = kubeletMessages.failed(
          image,
          pullErrorDetail(kind, image, runtime, { account: 'ci-bot', tokenId: 'dckr_jti_x=' }),
        );
        expect(message).toMatch(words);
        const c = classify({ message, reason: 'Failed' });
        expect([c.cause, c.subcause, c.registry]).toEqual([expected[kind], subcause, splitImage(image).host]);
      });

  it('kubelet status and success messages have the kinds the analyzer counts by', () => {
    expect(messageKind(kubeletMessages.errImagePull())).toBe('status');
    expect(messageKind(kubeletMessages.backOff('nginx:1.27'))).toBe('backoff');
    expect(classify({ message: kubeletMessages.backOff('nginx:1.27'), reason: 'BackOff' }).cause).toBe('no_cause');
    expect(parsePulled(kubeletMessages.pulled('nginx:1.27', 2.5, 1234567))).toMatchObject({
      image: 'nginx:1.27',
      durationMs: 2500,
      sizeBytes: 1234567,
    });
    expect(messageKind(kubeletMessages.alreadyPresent('nginx:1.27'))).toBe('already_present');
  });

  it('normalises images like Docker', () => {
    expect(splitImage('redis:7.2')).toMatchObject({ host: 'docker.io', path: 'library/redis', tag: '7.2' });
    expect(splitImage('registry.corp.example:5000/a/b')).toMatchObject({
      host: 'registry.corp.example:5000',
      path: 'a/b',
      tag: 'latest',
    });
  });
});
