import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test/support/seeded.ts';
import { eventEnvelope, podWaitingEnvelope } from './build.ts';
import { checksSource } from './checks-source.ts';
import { EnvelopeSchema } from './envelope.ts';
import { K8sEventSchema } from './k8s-event.ts';
import { safeParseEnvelope, safeParseK8sEvent } from './validate.ts';

const coreEvent = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'web-1.17a', namespace: 'shop', uid: 'u-1', resourceVersion: '812', creationTimestamp: null },
  involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p-1', fieldPath: 'spec.containers{web}' },
  reason: 'Failed',
  type: 'Warning',
  message: 'Failed to pull image "nginx:1.99": not found',
  count: 4,
  firstTimestamp: '2026-11-24T10:00:00Z',
  lastTimestamp: '2026-11-24T10:02:30Z',
  source: { component: 'kubelet', host: 'node-a' },
};
const eventsV1Event = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name: 'web-2.18b', namespace: 'shop', uid: 'u-2' },
  regarding: { kind: 'Pod', name: 'web-2', namespace: 'shop' },
  reason: 'BackOff',
  type: 'Normal',
  note: 'Back-off pulling image "nginx:1.99"',
  eventTime: '2026-11-24T10:03:00.000000Z',
  series: { count: 7, lastObservedTime: '2026-11-24T10:09:00.000000Z' },
  reportingController: 'kubelet',
  reportingInstance: 'node-b',
  deprecatedCount: 2,
  deprecatedSource: { host: 'node-b' },
};
const receivedAt = new Date('2026-11-24T10:10:00Z');
const envelopes = [
  eventEnvelope({
    cluster: 'prod-eu',
    source: 'watch',
    watchType: 'MODIFIED',
    event: K8sEventSchema.parse(coreEvent),
    pod: { image: 'nginx:1.99', imagePullPolicy: 'IfNotPresent', hasPullSecrets: false, node: 'node-a' },
    workload: { kind: 'Deployment', name: 'web', inferred: false },
    team: 'shop',
    messageTruncated: true,
    receivedAt,
  }).envelope,
  eventEnvelope({
    cluster: 'c',
    source: 'http',
    event: K8sEventSchema.parse(eventsV1Event),
    workload: null,
    receivedAt,
  }).envelope,
  podWaitingEnvelope({
    cluster: 'c',
    source: 'watch',
    podWaiting: {
      namespace: 'shop',
      pod: 'web-3',
      podUid: 'p-3',
      node: null,
      container: 'web',
      image: 'nginx:1.99',
      imagePullPolicy: null,
      hasPullSecrets: true,
      reason: 'ImagePullBackOff',
      message: null,
      observedAt: '2026-11-24T10:04:00Z',
    },
    receivedAt,
  }).envelope,
];

// Values that sit on either side of the schemas' rules: types, nulls, empty strings, integers and not, bounds.
const VALUES: unknown[] = [
  null,
  '',
  'x',
  'ADDED',
  'event',
  'pod-waiting',
  'pullwatch.k8s/v1',
  'Event',
  0,
  -1,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  true,
  false,
  [],
  ['a'],
  {},
  { kind: 'Pod' },
];

type Json = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/** Every object and array in `v` (itself included), with the keys it holds. */
function containers(v: unknown, out: Json[] = []): Json[] {
  if (!isContainer(v)) return out;
  out.push(v);
  for (const child of Object.values(v)) containers(child, out);
  return out;
}

/** A deep copy of `base` with 1–3 random changes; `added` when one of them was a key no schema names. */
function variant(base: unknown, { next, pick }: ReturnType<typeof seededRandom>): { value: unknown; added: boolean } {
  const value = structuredClone(base);
  let added = false;
  const changes = 1 + Math.floor(next() * 3);
  for (let i = 0; i < changes; i++) {
    const target = pick(containers(value));
    const keys = Object.keys(target);
    const op = next();
    if (op < 0.1) {
      (target as Record<string, unknown>)[`unknown${i}`] = pick(VALUES);
      added = true;
    } else if (keys.length === 0) continue;
    else if (op < 0.4 && !Array.isArray(target)) delete target[pick(keys) as keyof typeof target];
    else (target as Record<string, unknown>)[pick(keys)] = structuredClone(pick(VALUES));
  }
  return { value, added };
}

function differential(
  name: string,
  bases: unknown[],
  zod: { safeParse(v: unknown): { success: boolean; data?: unknown } },
  fast: (v: unknown) => { success: boolean; data?: unknown },
) {
  it(`${name}: accepts and refuses exactly what zod does (4000 seeded variants)`, () => {
    const random = seededRandom(20261207);
    const verdicts = { accepted: 0, refused: 0 };
    for (let i = 0; i < 4000; i++) {
      const { value, added } = variant(bases[i % bases.length], random);
      const z = zod.safeParse(value);
      const f = fast(value);
      if (f.success !== z.success) throw new Error(`disagree on ${JSON.stringify(value)}: zod ${z.success}`);
      if (z.success) {
        verdicts.accepted += 1;
        // zod strips keys the envelope's own objects do not name; the fast path keeps them.
        expect(added ? zod.safeParse(f.data).data : f.data).toEqual(z.data);
      } else verdicts.refused += 1;
    }
    // Both sides of the rules are exercised, not only one.
    expect(verdicts.accepted).toBeGreaterThan(400);
    expect(verdicts.refused).toBeGreaterThan(400);
  });
}

describe('the compiled checks', () => {
  it('accept the envelopes and Events the collector makes, as they are', () => {
    // The very object: the generated check accepted it (zod returns a copy).
    const dataOf = (r: { success: boolean; data?: unknown }) => r.data;
    for (const e of envelopes) expect(dataOf(safeParseEnvelope(e))).toBe(e);
    for (const e of [coreEvent, eventsV1Event]) expect(dataOf(safeParseK8sEvent(e))).toBe(e);
    expect(EnvelopeSchema.safeParse(envelopes[0]).data).not.toBe(envelopes[0]);
  });

  it('run the code generated from the schemas as they are now (else: npm run generate:checks)', () => {
    const generated = readFileSync(fileURLToPath(new URL('./checks.generated.ts', import.meta.url)), 'utf8');
    expect(generated === checksSource()).toBe(true);
  });

  it('refuse with zod’s own error, refinements included', () => {
    const { involvedObject: _, ...unnamed } = coreEvent;
    const r = safeParseK8sEvent(unnamed);
    expect(r.success).toBe(false);
    expect(!r.success && r.error.issues.map((i) => i.message)).toEqual([
      'an Event needs involvedObject (core/v1) or regarding (events.k8s.io/v1)',
    ]);
    const e = safeParseEnvelope({ ...envelopes[0], kind: 'pod-waiting' });
    expect(!e.success && e.error.issues).toEqual(
      (EnvelopeSchema.safeParse({ ...envelopes[0], kind: 'pod-waiting' }) as { error: { issues: unknown } }).error
        .issues,
    );
  });

  differential('envelopes', envelopes, EnvelopeSchema, safeParseEnvelope);
  differential('Kubernetes Events', [coreEvent, eventsV1Event], K8sEventSchema, safeParseK8sEvent);
});
