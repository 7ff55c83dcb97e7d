import { describe, expect, it } from 'vitest';
import { inferWorkload, workloadOf } from './workload.ts';

describe('inferWorkload', () => {
  it.each([
    ['web-7d9f8b6c5-x2k9p', { kind: 'Deployment', name: 'web', inferred: true }],
    ['api-gateway-5c6b7d8f9-zq4wm', { kind: 'Deployment', name: 'api-gateway', inferred: true }],
    ['coredns-6f6b679f8f-2xk8m', { kind: 'Deployment', name: 'coredns', inferred: true }],
    ['old-style-1234567890-bx7kt', { kind: 'CronJob', name: 'old-style', inferred: true }],
    ['backup-28919520-lk8vq', { kind: 'CronJob', name: 'backup', inferred: true }],
    ['migrate-db-h7x2z', { kind: 'JobOrDaemonSet', name: 'migrate-db', inferred: true }],
    ['kube-proxy-9fz5w', { kind: 'JobOrDaemonSet', name: 'kube-proxy', inferred: true }],
    ['redis-master-0', { kind: 'StatefulSet', name: 'redis-master', inferred: true }],
    ['kafka-12', { kind: 'StatefulSet', name: 'kafka', inferred: true }],
  ])('%s → %o', (pod, want) => {
    expect(inferWorkload(pod)).toEqual(want);
  });

  it.each([
    'nginx', // a bare Pod
    'debug-shell-aeiou', // vowels never appear in generated suffixes
    'web-01', // ordinals have no leading zero
    'web-', // nothing before the suffix
    '-x2k9p',
    'web-x2k9', // 4 characters
    'my-app-v2',
    '',
  ])('%s → null (never guessed)', (pod) => {
    expect(inferWorkload(pod)).toBeNull();
  });

  it('prefers a stored owner over the name', () => {
    expect(workloadOf({ pod: 'web-7d9f8b6c5-x2k9p', workloadKind: 'Rollout', workloadName: 'web' })).toEqual({
      kind: 'Rollout',
      name: 'web',
      inferred: false,
    });
    expect(workloadOf({ pod: 'web-7d9f8b6c5-x2k9p', workloadKind: '', workloadName: '' })).toEqual({
      kind: 'Deployment',
      name: 'web',
      inferred: true,
    });
  });
});
