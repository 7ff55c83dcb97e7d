import { describe, expect, it } from 'vitest';
import { podContext, waitingContainers } from './pod-waiting.ts';
import { SentIdentities } from './sent-identities.ts';

const pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: 'p1' },
  spec: {
    nodeName: 'node-a',
    imagePullSecrets: [{ name: 'regcred' }],
    containers: [
      { name: 'web', image: 'ghcr.io/acme/web:1', imagePullPolicy: 'Always' },
      { name: 'side', image: 'busybox' },
    ],
  },
  status: {
    containerStatuses: [
      {
        name: 'web',
        state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "ghcr.io/acme/web:1"' } },
      },
      { name: 'side', state: { waiting: { reason: 'ContainerCreating' } } },
    ],
  },
};

describe('pod status', () => {
  it('finds containers waiting on their image, with policy, secrets and node', () => {
    expect(waitingContainers(pod, new Date('2026-11-24T10:00:00Z'))).toEqual([
      {
        namespace: 'shop',
        pod: 'web-1',
        podUid: 'p1',
        node: 'node-a',
        container: 'web',
        image: 'ghcr.io/acme/web:1',
        imagePullPolicy: 'Always',
        hasPullSecrets: true,
        reason: 'ImagePullBackOff',
        message: 'Back-off pulling image "ghcr.io/acme/web:1"',
        observedAt: '2026-11-24T10:00:00.000Z',
      },
    ]);
    expect(podContext(pod, 'side')).toEqual({
      image: 'busybox',
      imagePullPolicy: null,
      hasPullSecrets: true,
      node: 'node-a',
    });
  });

  it('forgets the oldest identities past its capacity', () => {
    const s = new SentIdentities(2);
    s.add('a');
    s.add('b');
    s.add('a');
    s.add('c');
    expect([s.has('a'), s.has('b'), s.has('c'), s.size]).toEqual([true, false, true, 2]);
  });
});
