import { describe, expect, it } from 'vitest';
import { K8sEventSchema, containerOf, isImageEvent, normalizeEvent } from './k8s-event.ts';
import { eventEnvelope } from './build.ts';
import { EnvelopeSchema } from './envelope.ts';

const coreV1 = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: {
    name: 'web-1.17a',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '812',
    managedFields: [{ manager: 'kubelet' }],
  },
  involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p-1', fieldPath: 'spec.containers{web}' },
  reason: 'Failed',
  type: 'Warning',
  message: 'Failed to pull image "nginx:1.99": rpc error: code = NotFound desc = failed to pull and unpack image',
  count: 4,
  firstTimestamp: '2026-11-24T10:00:00Z',
  lastTimestamp: '2026-11-24T10:02:30Z',
  source: { component: 'kubelet', host: 'node-a' },
};

const eventsV1 = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name: 'web-1.17b', namespace: 'shop', uid: 'u-2', resourceVersion: '900' },
  regarding: { kind: 'Pod', name: 'web-1', namespace: 'shop', fieldPath: 'spec.initContainers{init}' },
  reason: 'BackOff',
  type: 'Normal',
  note: 'Back-off pulling image "nginx:1.99"',
  eventTime: '2026-11-24T10:00:01.000000Z',
  series: { count: 7, lastObservedTime: '2026-11-24T10:05:00.000000Z' },
  reportingController: 'kubelet',
  reportingInstance: 'node-b',
};

describe('normalizeEvent', () => {
  it('reads core/v1 events', () => {
    const n = normalizeEvent(K8sEventSchema.parse(coreV1));
    expect(n).toMatchObject({
      uid: 'u-1',
      count: 4,
      lastTime: '2026-11-24T10:02:30Z',
      firstTime: '2026-11-24T10:00:00Z',
      node: 'node-a',
      reason: 'Failed',
    });
    expect(containerOf(n.object.fieldPath)).toBe('web');
  });

  it('reads events.k8s.io/v1 events, with series count and time', () => {
    const n = normalizeEvent(K8sEventSchema.parse(eventsV1));
    expect(n).toMatchObject({
      uid: 'u-2',
      count: 7,
      lastTime: '2026-11-24T10:05:00.000000Z',
      node: 'node-b',
      message: 'Back-off pulling image "nginx:1.99"',
    });
    expect(containerOf(n.object.fieldPath)).toBe('init');
  });

  it('reads an events.k8s.io/v1 Event as core/v1 serves it (one store: the collector watches core/v1 only)', () => {
    // What a real kube-apiserver (v1.37) returns from /api/v1 for an Event written through events.k8s.io/v1:
    // `note` is `message`, `regarding` is `involvedObject`, `reportingController` is `reportingComponent`,
    // `source` is empty and `count` absent.
    const n = normalizeEvent(
      K8sEventSchema.parse({
        kind: 'Event',
        apiVersion: 'v1',
        metadata: { name: 'e1', namespace: 'shop', uid: 'u-3', resourceVersion: '211' },
        involvedObject: {
          kind: 'Pod',
          namespace: 'shop',
          name: 'web-1',
          uid: 'p-1',
          fieldPath: 'spec.containers{app}',
        },
        reason: 'Failed',
        message: 'Failed to pull image "nginx:1.99": not found',
        source: {},
        firstTimestamp: null,
        lastTimestamp: null,
        type: 'Warning',
        eventTime: '2026-12-07T11:33:52.539000Z',
        series: { count: 2, lastObservedTime: '2026-12-07T11:34:10.000000Z' },
        action: 'Pulling',
        reportingComponent: 'kubelet',
        reportingInstance: 'node-a',
      }),
    );
    expect(n).toMatchObject({
      count: 2,
      firstTime: '2026-12-07T11:33:52.539000Z',
      lastTime: '2026-12-07T11:34:10.000000Z',
      node: 'node-a',
      message: 'Failed to pull image "nginx:1.99": not found',
    });
  });

  it('rejects objects that are not Events', () => {
    expect(K8sEventSchema.safeParse({ metadata: {}, reason: 'x' }).success).toBe(false);
    expect(K8sEventSchema.safeParse({ kind: 'Pod', metadata: {}, involvedObject: {} }).success).toBe(false);
  });
});

describe('isImageEvent', () => {
  it('keeps pull events and drops crash back-offs', () => {
    expect(isImageEvent({ reason: 'Pulled', message: 'Successfully pulled image "a"' })).toBe(true);
    expect(isImageEvent({ reason: 'BackOff', message: 'Back-off pulling image "a"' })).toBe(true);
    expect(isImageEvent({ reason: 'BackOff', message: 'Back-off restarting failed container web in pod web-1' })).toBe(
      false,
    );
    expect(isImageEvent({ reason: 'Failed', message: 'Error: failed to create containerd task' })).toBe(false);
    expect(isImageEvent({ reason: 'Scheduled', message: 'Successfully assigned shop/web-1 to node-a' })).toBe(false);
  });

  it('keeps Started: a container starting after pull failures is how a Pod recovers', () => {
    expect(isImageEvent({ reason: 'Started', message: 'Started container app' })).toBe(true);
    expect(isImageEvent({ reason: 'Created', message: 'Created container app' })).toBe(false);
    expect(isImageEvent({ reason: 'Killing', message: 'Stopping container app' })).toBe(false);
  });
});

describe('eventEnvelope', () => {
  it('trims managedFields, keys by Pod and gives a stable identity', () => {
    const { key, envelope } = eventEnvelope({
      cluster: 'eu-1',
      source: 'http',
      event: K8sEventSchema.parse(coreV1),
      receivedAt: new Date('2026-11-24T10:03:00Z'),
    });
    expect(key).toBe('eu-1/shop/web-1');
    expect(envelope.identity).toEqual({ uid: 'u-1', count: 4, resourceVersion: '812', key: 'eu-1/u-1/4' });
    expect('managedFields' in envelope.event.metadata).toBe(false);
    expect(EnvelopeSchema.parse(JSON.parse(JSON.stringify(envelope)))).toEqual(envelope);
  });
});

describe('hostile fieldPaths and messages (1 MiB each, every one well within a second)', () => {
  const MiB = 1 << 20;
  const within = <T>(f: () => T): T => {
    const start = performance.now();
    const r = f();
    expect(performance.now() - start).toBeLessThan(1000);
    return r;
  };
  const fill = (unit: string) => unit.repeat(Math.ceil(MiB / unit.length));

  it('containerOf', () => {
    expect(within(() => containerOf(fill('spec.containers{')))).toBeNull();
    expect(within(() => containerOf(`${fill('spec.containers{')}}`))).toBe(`spec.containers{`.repeat(MiB / 16 - 1));
    expect(within(() => containerOf(`spec.containers{${'a'.repeat(MiB)}`))).toBeNull();
    expect(within(() => containerOf(`${fill('spec.containers{}')}spec.initContainers{x}`))).toBe('x');
    expect(within(() => containerOf(fill('spec.')))).toBeNull();
    expect(within(() => containerOf(fill('{}')))).toBeNull();
  });

  it('isImageEvent', () => {
    for (const unit of ['image', 'Back-off restarting failed container', 'a', ' '])
      expect(within(() => isImageEvent({ reason: 'Failed', message: fill(unit) }))).toBe(unit === 'image');
  });

  it('containerOf finds what the original pattern found, on many short fieldPaths', () => {
    const original = /spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]+)\}/;
    const pieces = [
      'spec.containers{',
      'spec.initContainers{',
      'spec.ephemeralContainers{',
      '}',
      '{',
      'a',
      'spec.',
      '.',
    ];
    let seed = 7;
    let matched = 0;
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      for (let j = 0; j < 8; j++) {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        if ((seed >>> 0) % 4 === 0) break;
        s += pieces[(seed >>> 0) % pieces.length];
      }
      const want = original.exec(s)?.[1] ?? null;
      if (want !== null) matched++;
      expect(containerOf(s), s).toBe(want);
    }
    expect(matched).toBeGreaterThan(1000);
  });
});
