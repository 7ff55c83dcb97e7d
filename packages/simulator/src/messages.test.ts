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
};

describe('simulated runtime messages', () => {
  for (const runtime of ['containerd', 'cri-o'] as const) {
    for (const kind of INCIDENT_KINDS) {
      it(`${runtime} ${kind} classifies as ${[expected[kind]].flat().join(' or ')}`, () => {
        const image =
          kind === 'missing_pull_secret'
            ? 'registry.corp.example:5000/payments/api:2.4.1'
            : kind === 'dockerhub_rate_limit'
              ? 'redis:7.2'
              : 'ghcr.io/acme/web:1.8.0';
        const message = kubeletMessages.failed(image, pullErrorDetail(kind, image, runtime));
        const c = classify({ message, reason: 'Failed' });
        expect([expected[kind]].flat()).toContain(c.cause);
        expect(c.registry).toBe(splitImage(image).host);
        expect(messageKind(message)).toBe('failed_pull');
      });
    }
  }

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
