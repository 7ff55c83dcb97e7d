import { describe, expect, it } from 'vitest';
import {
  boundEvent,
  boundPodContext,
  boundPodWaiting,
  MAX_EVENT_COUNT,
  MAX_FIELD_PATH_CHARS,
  MAX_IMAGE_CHARS,
  MAX_MESSAGE_CHARS,
  MAX_NAME_CHARS,
  MAX_NAMESPACE_CHARS,
  MAX_REASON_CHARS,
  truncate,
} from './bounds.ts';
import { eventEnvelope, podWaitingEnvelope } from './build.ts';
import { EnvelopeSchema } from './envelope.ts';
import { K8sEventSchema, type K8sEvent } from './k8s-event.ts';

const event = (patch: Record<string, unknown> = {}): K8sEvent =>
  K8sEventSchema.parse({
    kind: 'Event',
    metadata: { name: 'web-1.17a', namespace: 'shop', uid: 'u-1', resourceVersion: '812' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p-1', fieldPath: 'spec.containers{web}' },
    reason: 'Failed',
    type: 'Warning',
    message: 'Failed to pull image "nginx:1.99": not found',
    count: 4,
    lastTimestamp: '2026-11-24T10:02:30Z',
    source: { component: 'kubelet', host: 'node-a' },
    ...patch,
  });

describe('the limits', () => {
  it('are Kubernetes’ own for names and the contract’s for the rest', () => {
    expect([
      MAX_NAME_CHARS,
      MAX_NAMESPACE_CHARS,
      MAX_FIELD_PATH_CHARS,
      MAX_IMAGE_CHARS,
      MAX_MESSAGE_CHARS,
      MAX_REASON_CHARS,
      MAX_EVENT_COUNT,
    ]).toEqual([253, 63, 1024, 4096, 8192, 128, 2147483647]);
  });
});

describe('boundEvent', () => {
  it('leaves an Event within the limits exactly as it was', () => {
    const e = event();
    const b = boundEvent(e);
    expect(b).toEqual({
      ok: true,
      event: e,
      normalized: expect.objectContaining({ message: e.message, count: 4 }),
      messageTruncated: false,
    });
    if (b.ok) expect(Object.keys(b.event)).toEqual(Object.keys(e));
  });

  it('cuts a 1 MiB message to 8192 characters and says so; the normalised Event reads the cut one', () => {
    const message = `Failed to pull image "x": ${'a'.repeat(1 << 20)}`;
    const b = boundEvent(event({ message }));
    if (!b.ok) throw new Error(b.reason);
    expect(b.messageTruncated).toBe(true);
    expect(b.event.message).toBe(message.slice(0, 8192));
    expect(b.event.message).toHaveLength(8192);
    expect(b.normalized.message).toHaveLength(8192);
  });

  it('cuts events.k8s.io’s note the same way', () => {
    const v1 = K8sEventSchema.parse({
      metadata: { name: 'e', namespace: 'shop' },
      regarding: { kind: 'Pod', name: 'p' },
      note: 'n'.repeat(9000),
    });
    const b = boundEvent(v1);
    if (!b.ok) throw new Error(b.reason);
    expect([b.event.note?.length, b.normalized.message.length, b.messageTruncated]).toEqual([8192, 8192, true]);
    expect(Object.keys(b.event)).toEqual(Object.keys(v1));
  });

  it('keeps a message of exactly 8192 characters whole, unflagged', () => {
    const b = boundEvent(event({ message: 'm'.repeat(8192) }));
    expect(b.ok && [b.event.message?.length, b.messageTruncated]).toEqual([8192, false]);
  });

  it('never cuts a surrogate pair in half: one character less', () => {
    const message = `${'m'.repeat(8191)}😀 and more`;
    const b = boundEvent(event({ message }));
    expect(b.ok && [b.event.message, b.messageTruncated]).toEqual(['m'.repeat(8191), true]);
    expect(truncate('ab😀', 3)).toBe('ab');
    expect(truncate('ab😀', 4)).toBe('ab😀');
  });

  it('cuts fieldPath to 1024, reason, type and kind to 128, the node to 253, and clamps counts', () => {
    const b = boundEvent(
      event({
        involvedObject: {
          kind: 'K'.repeat(200),
          name: 'web-1',
          namespace: 'shop',
          fieldPath: `spec.containers{${'c'.repeat(5000)}}`,
        },
        reason: 'R'.repeat(1000),
        type: 'T'.repeat(129),
        count: 2 ** 40,
        series: { count: 2 ** 33 },
        deprecatedCount: 2 ** 31,
        source: { host: 'n'.repeat(300) },
      }),
    );
    if (!b.ok) throw new Error(b.reason);
    expect([
      b.event.involvedObject?.fieldPath?.length,
      b.event.involvedObject?.kind?.length,
      b.event.reason?.length,
      b.event.type?.length,
      b.event.source?.host?.length,
      b.event.count,
      b.event.series?.count,
      b.event.deprecatedCount,
      b.normalized.count,
      b.messageTruncated,
    ]).toEqual([1024, 128, 128, 128, 253, 2147483647, 2147483647, 2147483647, 2147483647, false]);
  });

  it('refuses names, namespaces and uids over Kubernetes’ limits, naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ metadata: { name: 'e', namespace: 'n'.repeat(64) } }, 'metadata.namespace: longer than 63 characters (64)'],
      [{ metadata: { name: 'e'.repeat(254) } }, 'metadata.name: longer than 253 characters (254)'],
      [{ metadata: { uid: 'u'.repeat(1 << 20) } }, `metadata.uid: longer than 253 characters (${1 << 20})`],
      [
        { involvedObject: { kind: 'Pod', name: 'p'.repeat(1 << 20), namespace: 'shop' } },
        `involvedObject.name: longer than 253 characters (${1 << 20})`,
      ],
      [
        { involvedObject: { kind: 'Pod', name: 'p', namespace: 'n'.repeat(64) } },
        'involvedObject.namespace: longer than 63 characters (64)',
      ],
      [
        { involvedObject: undefined, regarding: { kind: 'Pod', name: 'p'.repeat(254) } },
        'regarding.name: longer than 253 characters (254)',
      ],
    ];
    for (const [patch, reason] of cases) {
      const b = boundEvent(event(patch));
      expect(b.ok, reason).toBe(false);
      if (!b.ok) expect(b.reason.startsWith(reason), b.reason).toBe(true);
    }
  });

  it('takes names and namespaces at exactly the limits', () => {
    const b = boundEvent(
      event({
        metadata: { name: 'e'.repeat(253), namespace: 'n'.repeat(63) },
        involvedObject: { kind: 'Pod', name: 'p'.repeat(253), namespace: 'n'.repeat(63) },
      }),
    );
    expect(b.ok).toBe(true);
  });
});

describe('the envelope', () => {
  it('carries messageTruncated only when the message was cut, and still validates', () => {
    const cut = boundEvent(event({ message: 'x'.repeat(10_000) }));
    const whole = boundEvent(event());
    if (!cut.ok || !whole.ok) throw new Error('refused');
    const a = eventEnvelope({
      cluster: 'c',
      source: 'http',
      event: cut.event,
      normalized: cut.normalized,
      messageTruncated: true,
    });
    const b = eventEnvelope({ cluster: 'c', source: 'http', event: whole.event, normalized: whole.normalized });
    expect(a.envelope.messageTruncated).toBe(true);
    expect('messageTruncated' in b.envelope).toBe(false);
    const parsed = EnvelopeSchema.parse(JSON.parse(JSON.stringify(a.envelope)));
    expect(parsed.kind === 'event' && [parsed.messageTruncated, parsed.event.message?.length]).toEqual([true, 8192]);
  });

  it('cuts the Pod’s image from its spec to 4096', () => {
    const { envelope } = eventEnvelope({
      cluster: 'c',
      source: 'watch',
      event: event(),
      pod: { image: `r.io/${'i'.repeat(10_000)}`, imagePullPolicy: 'Always', hasPullSecrets: false, node: 'n' },
    });
    expect(envelope.pod?.image).toHaveLength(4096);
    expect(boundPodContext({ image: null, imagePullPolicy: null, hasPullSecrets: null, node: null })).toEqual({
      image: null,
      imagePullPolicy: null,
      hasPullSecrets: null,
      node: null,
    });
  });
});

describe('boundPodWaiting', () => {
  const waiting = {
    namespace: 'shop',
    pod: 'web-1',
    podUid: 'p-1',
    node: 'node-a',
    container: 'web',
    image: 'nginx:1.99',
    imagePullPolicy: 'IfNotPresent',
    hasPullSecrets: false,
    reason: 'ErrImagePull',
    message: 'rpc error: not found',
    observedAt: '2026-11-24T10:00:00.000Z',
  };

  it('cuts the image to 4096 and the message to 8192, flagged in the envelope', () => {
    const b = boundPodWaiting({ ...waiting, image: 'i'.repeat(5000), message: 'm'.repeat(1 << 20) });
    if (!b.ok) throw new Error(b.reason);
    expect([b.podWaiting.image.length, b.podWaiting.message?.length, b.messageTruncated]).toEqual([4096, 8192, true]);
    const { envelope } = podWaitingEnvelope({
      cluster: 'c',
      source: 'watch',
      podWaiting: b.podWaiting,
      messageTruncated: true,
    });
    expect(envelope.messageTruncated).toBe(true);
    expect(boundPodWaiting(waiting)).toEqual({ ok: true, podWaiting: waiting, messageTruncated: false });
  });

  it('refuses a Pod name or namespace over the limits', () => {
    expect(boundPodWaiting({ ...waiting, pod: 'p'.repeat(254) })).toMatchObject({ ok: false });
    expect(boundPodWaiting({ ...waiting, namespace: 'n'.repeat(64) })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^namespace: longer than 63 characters \(64\)/),
    });
  });
});
