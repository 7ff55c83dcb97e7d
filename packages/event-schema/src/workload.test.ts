import { describe, expect, it } from 'vitest';
import { inferWorkloadFromPodName, KUBE_NAME_ALPHABET, workloadFromOwners } from './workload.ts';

describe('inferWorkloadFromPodName', () => {
  it.each([
    ['checkout-7d4b9c8f5d-x7k2p', { kind: 'Deployment', name: 'checkout', inferred: true }],
    ['coredns-5d78c9869d-qz2bw', { kind: 'Deployment', name: 'coredns', inferred: true }],
    ['my-web-app-6b9f4c7d9-b2c4d', { kind: 'Deployment', name: 'my-web-app', inferred: true }],
    ['nightly-report-29410560-zt5vq', { kind: 'CronJob', name: 'nightly-report', inferred: true }],
    ['redis-0', { kind: 'StatefulSet', name: 'redis', inferred: true }],
    ['kafka-broker-12', { kind: 'StatefulSet', name: 'kafka-broker', inferred: true }],
    ['fluent-bit-x9k2m', { kind: 'DaemonSet|Job', name: 'fluent-bit', inferred: true }],
    ['db-migrate-h7w4z', { kind: 'DaemonSet|Job', name: 'db-migrate', inferred: true }],
  ])('%s → %o', (pod, workload) => {
    expect(inferWorkloadFromPodName(pod)).toEqual(workload);
  });

  it.each([
    'nginx',
    'debug-pod',
    // suffixes with characters outside the alphabet (vowels, 0, 1, 3) are not generated
    'web-cache',
    'checkout-7d4b9c8f5d-abcde',
    'api-server-x7k21',
    // an ordinal has no leading zero
    'redis-01',
    '',
  ])('%s → null (no controller pattern)', (pod) => {
    expect(inferWorkloadFromPodName(pod)).toBeNull();
  });

  it('uses the Kubernetes alphabet of 27 characters', () => {
    expect(KUBE_NAME_ALPHABET).toHaveLength(27);
    expect(inferWorkloadFromPodName(`a-${KUBE_NAME_ALPHABET.slice(0, 5)}`)).toEqual({
      kind: 'DaemonSet|Job',
      name: 'a',
      inferred: true,
    });
  });
});

describe('workloadFromOwners', () => {
  const rs = (name: string) => [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, controller: true }];

  it(
    'resolves a ReplicaSet named after the pod-template-hash to its Deployment, from the owner reference (not ' +
      'inferred)',
    () => {
      expect(
        workloadFromOwners({
          labels: { app: 'x', 'pod-template-hash': '7d4b9c8f5d' },
          ownerReferences: rs('checkout-7d4b9c8f5d'),
        }),
      ).toEqual({ kind: 'Deployment', name: 'checkout', inferred: false });
    },
  );

  it('keeps a ReplicaSet without the Deployment controller’s hash label as the ReplicaSet', () => {
    expect(workloadFromOwners({ labels: {}, ownerReferences: rs('standalone') })).toEqual({
      kind: 'ReplicaSet',
      name: 'standalone',
      inferred: false,
    });
    expect(
      workloadFromOwners({ labels: { 'pod-template-hash': 'zzz' }, ownerReferences: rs('other-7d4b9c8f5d') }),
    ).toEqual({ kind: 'ReplicaSet', name: 'other-7d4b9c8f5d', inferred: false });
  });

  it('takes StatefulSet, DaemonSet and Job owners as they are, and any other controller kind', () => {
    for (const kind of ['StatefulSet', 'DaemonSet', 'Job', 'Rollout'])
      expect(workloadFromOwners({ ownerReferences: [{ kind, name: 'w', controller: true }] })).toEqual({
        kind,
        name: 'w',
        inferred: false,
      });
  });

  it('resolves a Job named <cronjob>-<unix minutes> to its CronJob, inferred (the Job’s owner is not read)', () => {
    expect(
      workloadFromOwners({ ownerReferences: [{ kind: 'Job', name: 'nightly-report-29410560', controller: true }] }),
    ).toEqual({
      kind: 'CronJob',
      name: 'nightly-report',
      inferred: true,
    });
  });

  it('prefers the controller reference over other owners; null without a controller, for bare and static Pods', () => {
    expect(
      workloadFromOwners({
        ownerReferences: [
          { kind: 'ConfigMap', name: 'cm' },
          { kind: 'StatefulSet', name: 'redis', controller: true },
        ],
      }),
    ).toEqual({ kind: 'StatefulSet', name: 'redis', inferred: false });
    expect(workloadFromOwners({})).toBeNull();
    expect(workloadFromOwners({ ownerReferences: [] })).toBeNull();
    expect(workloadFromOwners({ ownerReferences: [{ kind: 'Node', name: 'node-1', controller: true }] })).toBeNull();
    expect(
      workloadFromOwners({
        ownerReferences: [
          { kind: 'ConfigMap', name: 'a' },
          { kind: 'Secret', name: 'b' },
        ],
      }),
    ).toBeNull();
  });
});

describe('hostile Pod and owner names (1 MiB, each well within a second)', () => {
  const MiB = 1 << 20;
  it('inferWorkloadFromPodName and workloadFromOwners', () => {
    for (const unit of ['a-', '-', 'a', '-bcdfgh', '-12345678', '-0', 'x-bcdfg']) {
      const name = unit.repeat(Math.ceil(MiB / unit.length));
      let start = performance.now();
      inferWorkloadFromPodName(name);
      expect(performance.now() - start, unit).toBeLessThan(1000);
      start = performance.now();
      workloadFromOwners({ ownerReferences: [{ kind: 'Job', name, controller: true }] });
      expect(performance.now() - start, unit).toBeLessThan(1000);
    }
  });
});
