import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '@pullwatch/event-schema';
import { createLogger } from '@pullwatch/telemetry';
import { until } from '../../../../test/support/until.ts';
import { FakeApiServer } from '../../test/fake-apiserver.ts';
import type { EnvelopeProducer, Encoded } from '../producer.ts';
import { ClusterWatcher } from './cluster-watcher.ts';

const api = new FakeApiServer();
const sent: Envelope[] = [];
// Records what the watcher produces (the Kafka side is not what this test is about).
const producer = {
  send: async (batch: Encoded[]) => {
    for (const m of batch) sent.push(JSON.parse(m.value.toString()) as Envelope);
  },
} as unknown as EnvelopeProducer;
let watcher: ClusterWatcher;

beforeAll(async () => {
  await api.start();
  api.put('pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', uid: 'pod-web-1', resourceVersion: '1' },
    spec: { nodeName: 'node-a', containers: [{ name: 'web', image: 'ghcr.io/acme/web:9', imagePullPolicy: 'Always' }] },
    status: { containerStatuses: [] },
  });
  api.put('events', {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e1', namespace: 'shop', uid: 'uid-e1' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', fieldPath: 'spec.containers{web}' },
    reason: 'Failed',
    message: 'Failed to pull image "ghcr.io/acme/web:9": rpc error: code = NotFound desc = not found',
    type: 'Warning',
    count: 1,
    lastTimestamp: '2026-11-24T10:00:01Z',
  });
  // The real API server answers the two lists in any order (seen in the kube tier): here the Pods come last.
  api.delayNextList('pods', 1500);
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-kube-')), 'config');
  api.writeKubeconfig(kubeconfig, ['ctx']);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  watcher = new ClusterWatcher('prod-a', kc, producer, createLogger('pod-context', 'silent'), { allEvents: false });
  watcher.start();
});

afterAll(async () => {
  await watcher.stop();
  await api.stop();
});

describe('Events listed before their Pods', () => {
  it('wait for the first Pod list and carry their Pod’s image and pull policy', async () => {
    await until(() => sent.some((e) => e.kind === 'event'), 'the Event to be produced');
    const event = sent.find((e) => e.kind === 'event')!;
    expect(event.pod).toMatchObject({ image: 'ghcr.io/acme/web:9', imagePullPolicy: 'Always' });
  });
});
