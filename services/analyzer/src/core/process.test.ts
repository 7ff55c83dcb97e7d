import { describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { AnalyzerState, clampTime, processEnvelope, tagKind, timeWindow } from './process.ts';

const t = (s: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, 0) + s * 1000).toISOString();
function ev(uid: string, reason: string, message: string, count: number, at: number, pod = 'web-1') {
  return eventEnvelope({
    cluster: 'eu-1',
    source: 'http',
    event: K8sEventSchema.parse({
      metadata: { uid, name: `${pod}.${uid}`, namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{web}' },
      reason,
      message,
      count,
      firstTimestamp: t(0),
      lastTimestamp: t(at),
      source: { host: 'node-a' },
    }),
  }).envelope;
}
const FAILED =
  'Failed to pull image "ghcr.io/acme/web:1.2": rpc error: code = NotFound desc = failed to pull and unpack ' +
  'image "ghcr.io/acme/web:1.2": failed to resolve reference "ghcr.io/acme/web:1.2": ghcr.io/acme/web:1.2: not found';
const opts = { stuckAfterMs: 600_000 };
const pos = { partition: 0, offset: 0 };

describe('processEnvelope', () => {
  it('classifies a failure message once and reuses the answer for the next Pods; a success every time', () => {
    const s = new AnalyzerState();
    const pulls = ['web-1', 'web-2', 'web-3'].map(
      (pod, i) => processEnvelope(ev(`u${i}`, 'Failed', FAILED, 1, i, pod), pos, s, opts).pull!,
    );
    expect(pulls.map((p) => [p.pod, p.cause, p.image])).toEqual([
      ['web-1', 'not_found', 'ghcr.io/acme/web:1.2'],
      ['web-2', 'not_found', 'ghcr.io/acme/web:1.2'],
      ['web-3', 'not_found', 'ghcr.io/acme/web:1.2'],
    ]);
    const pulled = 'Successfully pulled image "ghcr.io/acme/web:1.3" in 1.2s (1.2s including waiting)';
    processEnvelope(ev('u9', 'Pulled', pulled, 1, 9), pos, s, opts);
    expect(s.classifyStats()).toEqual({ hits: 2, misses: 1 });
  });

  it('adds only the growth of an aggregated Event, and nothing for a replay', () => {
    const s = new AnalyzerState();
    const occ = [1, 2, 5, 5, 2].map(
      (count, i) => processEnvelope(ev('u1', 'Failed', FAILED, count, i * 10), pos, s, opts).pull!.occurrences,
    );
    expect(occ).toEqual([1, 1, 3, 0, 0]);
  });

  it(
    'classifies failures and attributes status and back-off messages to the last concrete cause without ' +
      'counting them',
    () => {
      const s = new AnalyzerState();
      const failed = processEnvelope(ev('u1', 'Failed', FAILED, 1, 0), pos, s, opts).pull!;
      expect(failed).toMatchObject({
        outcome: 'failure',
        event_kind: 'failed_pull',
        cause: 'not_found',
        registry: 'ghcr.io',
        provider: 'ghcr',
        occurrences: 1,
        tag_kind: 'pinned',
        node: 'node-a',
        container: 'web',
      });
      const status = processEnvelope(ev('u2', 'Failed', 'Error: ErrImagePull', 1, 1), pos, s, opts).pull!;
      expect(status).toMatchObject({
        outcome: 'state',
        event_kind: 'status',
        cause: 'not_found',
        attributed: 1,
        image: 'ghcr.io/acme/web:1.2',
      });
      const backoff = processEnvelope(
        ev('u3', 'BackOff', 'Back-off pulling image "ghcr.io/acme/web:1.2"', 3, 30),
        pos,
        s,
        opts,
      ).pull!;
      expect(backoff).toMatchObject({ outcome: 'state', cause: 'not_found', attributed: 1 });
    },
  );

  it('follows a Pod through back-off to recovery, and marks long failures stuck', () => {
    const s = new AnalyzerState();
    let st = processEnvelope(ev('u1', 'Failed', FAILED, 1, 0), pos, s, opts).podState!;
    expect(st).toMatchObject({ status: 'failing', attempts: 1, backoff_seconds: 5 });
    st = processEnvelope(ev('u1', 'Failed', FAILED, 4, 80), pos, s, opts).podState!;
    expect(st).toMatchObject({ status: 'failing', attempts: 4, backoff_stage: 3, backoff_seconds: 40 });
    st = processEnvelope(ev('u1', 'Failed', FAILED, 9, 900), pos, s, opts).podState!;
    expect(st).toMatchObject({ status: 'stuck', attempts: 9, backoff_seconds: 300 });
    const ok = processEnvelope(
      ev(
        'u9',
        'Pulled',
        'Successfully pulled image "ghcr.io/acme/web:1.2" in 2.5s (2.5s including waiting). Image size: 1000 bytes.',
        1,
        1000,
      ),
      pos,
      s,
      opts,
    );
    expect(ok.pull).toMatchObject({
      outcome: 'success',
      occurrences: 1,
      pull_duration_ms: 2500,
      image_size_bytes: 1000,
    });
    // Durations like 2.345s parse to fractional ms; the UInt32 column takes whole ones.
    const odd = processEnvelope(
      ev(
        'u10',
        'Pulled',
        'Successfully pulled image "ghcr.io/acme/web:1.2" in 2.345000000000001s (2.4s including waiting). Image ' +
          'size: 1000 bytes.',
        1,
        1001,
      ),
      pos,
      s,
      opts,
    );
    expect(Number.isInteger(odd.pull!.pull_duration_ms)).toBe(true);
    expect(ok.podState).toMatchObject({ status: 'recovered', time_to_recover_ms: 1_000_000 });
  });

  it('recovers a failing Pod on Started (its image remembered from the failures), and only a failing one', () => {
    const s = new AnalyzerState();
    processEnvelope(ev('u1', 'Failed', FAILED, 3, 0), pos, s, opts);
    const started = processEnvelope(ev('s1', 'Started', 'Started container web', 1, 90), pos, s, opts);
    expect(started.pull).toMatchObject({
      outcome: 'state',
      event_kind: 'other',
      image: 'ghcr.io/acme/web:1.2',
      occurrences: 1,
    });
    expect(started.podState).toMatchObject({
      status: 'recovered',
      attempts: 3,
      recovered_at: Date.parse(t(90)),
      time_to_recover_ms: 90_000,
    });
    // The recovered state is stored, not remembered: only open states are.
    expect(s.sizes().pods).toBe(0);
    // Started again (a restart of the container): nothing left to recover.
    expect(processEnvelope(ev('s2', 'Started', 'Started container web', 1, 200), pos, s, opts).podState).toBeNull();
    // Other Events of no image kind make no pull row.
    expect(processEnvelope(ev('c1', 'Created', 'Created container web', 1, 210), pos, s, opts).pull).toBeNull();
  });

  it('reads Kubernetes 1.35 wordings by their reason: Container started, KEP-2535 Pulled, aggregated Events', () => {
    const s = new AnalyzerState();
    // client-go merged more than 10 similar Events: the inner message is the failure.
    const merged = processEnvelope(
      ev('m1', 'Failed', `(combined from similar events): ${FAILED}`, 12, 0),
      pos,
      s,
      opts,
    );
    expect(merged.pull).toMatchObject({ outcome: 'failure', event_kind: 'failed_pull', cause: 'not_found' });
    expect(merged.podState).toMatchObject({ status: 'failing', cause: 'not_found', attempts: 12 });
    const started = processEnvelope(ev('s1', 'Started', 'Container started', 1, 90), pos, s, opts);
    expect(started.podState).toMatchObject({ status: 'recovered', time_to_recover_ms: 90_000 });

    // A Pulled Event is a success whatever its words.
    processEnvelope(ev('f2', 'Failed', FAILED, 1, 100, 'web-2'), pos, s, opts);
    const present = processEnvelope(
      ev(
        'p2',
        'Pulled',
        'Container image "ghcr.io/acme/web:1.2" already present on machine and can be accessed by the pod',
        1,
        130,
        'web-2',
      ),
      pos,
      s,
      opts,
    );
    expect(present.pull).toMatchObject({ outcome: 'present', event_kind: 'already_present', cause: '' });
    expect(present.podState).toMatchObject({ status: 'recovered', time_to_recover_ms: 130_000 });
    processEnvelope(ev('f3', 'Failed', FAILED, 1, 100, 'web-3'), pos, s, opts);
    const reworded = processEnvelope(
      ev('p3', 'Pulled', 'Image "ghcr.io/acme/web:1.2" pulled', 1, 160, 'web-3'),
      pos,
      s,
      opts,
    );
    expect(reworded.pull).toMatchObject({ outcome: 'success', event_kind: 'pulled' });
    expect(reworded.podState).toMatchObject({ status: 'recovered', time_to_recover_ms: 160_000 });

    // KEP-2535: the kubelet could not write its pull intent record: the node, not the registry.
    const intent = processEnvelope(
      ev(
        'i4',
        'Failed',
        'Error: failed to record image pull intent: open /var/lib/kubelet/image_manager/pulling/sha256-1f: ' +
          'permission denied',
        1,
        200,
        'web-4',
      ),
      pos,
      s,
      opts,
    );
    expect(intent.pull).toMatchObject({ outcome: 'failure', cause: 'node_storage', subcause: 'pull_records' });
    expect(intent.podState).toMatchObject({ status: 'failing', cause: 'node_storage' });
  });

  it('counts InspectFailed and ErrImageNeverPull as failures of their own kind; keeps already-present apart', () => {
    const s = new AnalyzerState();
    expect(
      processEnvelope(
        ev(
          'a',
          'InspectFailed',
          'Failed to apply default image tag "Web:1": couldn\'t parse image reference "Web:1": invalid ' +
            'reference format: repository name must be lowercase',
          1,
          0,
        ),
        pos,
        s,
        opts,
      ).pull,
    ).toMatchObject({ outcome: 'failure', event_kind: 'inspect_failed', cause: 'invalid_reference' });
    expect(
      processEnvelope(
        ev('b', 'ErrImageNeverPull', 'Container image "web:1" is not present with pull policy of Never', 1, 0, 'p2'),
        pos,
        s,
        opts,
      ).pull,
    ).toMatchObject({ outcome: 'failure', event_kind: 'never_pull', cause: 'pull_policy_never' });
    expect(
      processEnvelope(ev('c', 'Pulled', 'Container image "web:1" already present on machine', 1, 0, 'p3'), pos, s, opts)
        .pull,
    ).toMatchObject({ outcome: 'present', occurrences: 1 });
  });

  it('knows latest, missing, pinned and digest tags', () => {
    expect(['nginx', 'nginx:latest', 'nginx:1.27', `nginx@sha256:${'a'.repeat(64)}`, 'Bad:Name'].map(tagKind)).toEqual([
      'missing',
      'latest',
      'pinned',
      'digest',
      'invalid',
    ]);
  });

  it('infers the workload from the Pod name when the envelope names none, and leaves the team unknown', () => {
    const s = new AnalyzerState();
    const r = processEnvelope(ev('w1', 'Failed', FAILED, 1, 0, 'checkout-7d4b9c8f5d-x7k2p'), pos, s, opts);
    const expected = { workload_kind: 'Deployment', workload_name: 'checkout', workload_inferred: true, team: '' };
    expect(r.pull).toMatchObject(expected);
    expect(r.podState).toMatchObject(expected);
    const none = { workload_kind: '', workload_name: '', workload_inferred: false, team: '' };
    const bare = processEnvelope(ev('w2', 'Failed', FAILED, 1, 0, 'debug'), pos, s, opts);
    expect(bare.pull).toMatchObject(none);
    // A Pod the collector knows has no controller (workload null): nothing inferred from its name.
    const known = { ...ev('w3', 'Failed', FAILED, 1, 0, 'debug-x7k2p'), workload: null };
    expect(processEnvelope(known, pos, s, opts).pull).toMatchObject(none);
    expect(processEnvelope(ev('w4', 'Failed', FAILED, 1, 0, 'debug-x7k2p'), pos, s, opts).pull).toMatchObject({
      workload_kind: 'DaemonSet|Job',
      workload_name: 'debug',
      workload_inferred: true,
    });
  });

  it(
    "keeps the collector's workload and team, and a later envelope without them does not replace them with a " +
      'guess',
    () => {
      const s = new AnalyzerState();
      const withPod = {
        ...ev('w1', 'Failed', FAILED, 1, 0, 'cache-x9k2m'),
        workload: { kind: 'DaemonSet', name: 'cache', inferred: false },
        team: 'payments',
      };
      const first = processEnvelope(withPod, pos, s, opts);
      const known = { workload_kind: 'DaemonSet', workload_name: 'cache', workload_inferred: false, team: 'payments' };
      expect(first.pull).toMatchObject(known);
      expect(first.podState).toMatchObject(known);
      const later = processEnvelope(ev('w1', 'Failed', FAILED, 2, 20, 'cache-x9k2m'), pos, s, opts);
      expect(later.pull).toMatchObject({
        workload_kind: 'DaemonSet|Job',
        workload_name: 'cache',
        workload_inferred: true,
        team: '',
      });
      expect(later.podState).toMatchObject({ ...known, attempts: 2 });
      const recovered = processEnvelope(
        ev(
          'w3',
          'Pulled',
          'Successfully pulled image "ghcr.io/acme/web:1.2" in 1.2s (1.2s including waiting). Image size: 100 bytes.',
          1,
          40,
          'cache-x9k2m',
        ),
        pos,
        s,
        opts,
      );
      expect(recovered.podState).toMatchObject({ ...known, status: 'recovered' });
    },
  );
});

describe('the event time window', () => {
  const now = Date.parse(t(0));
  const window = timeWindow(now, 90);
  const received = new Date(now - 5_000);
  const at = (iso: string, kind: 'last' | 'first' = 'last') =>
    eventEnvelope({
      cluster: 'eu-1',
      source: 'http',
      receivedAt: received,
      event: K8sEventSchema.parse({
        metadata: { uid: `u-${iso}-${kind}`, name: 'web-1.x', namespace: 'shop' },
        involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', fieldPath: 'spec.containers{web}' },
        reason: 'Failed',
        message: FAILED,
        count: 1,
        firstTimestamp: kind === 'first' ? iso : t(-60),
        lastTimestamp: kind === 'last' ? iso : t(-30),
      }),
    }).envelope;
  const run = (env: ReturnType<typeof at>) =>
    processEnvelope(env, pos, new AnalyzerState(), { ...opts, window, receivedAt: now });

  it('keeps times within the retention and up to an hour ahead as they are', () => {
    for (const iso of [t(-89 * 86_400), t(-30), t(3_599)]) {
      const r = run(at(iso));
      expect([r.raw.event_time, r.raw.time_clamped, r.pull!.event_time, r.pull!.time_clamped], iso).toEqual([
        Date.parse(iso),
        0,
        Date.parse(iso),
        0,
      ]);
    }
  });

  it('stores the received time, flagged, for an Event older than the retention or over an hour ahead', () => {
    for (const iso of [t(-91 * 86_400), '2016-03-01T00:00:00Z', t(3_601), '2099-01-01T00:00:00Z']) {
      const r = run(at(iso));
      expect([r.raw.event_time, r.raw.time_clamped, r.pull!.event_time, r.pull!.time_clamped], iso).toEqual([
        received.getTime(),
        1,
        received.getTime(),
        1,
      ]);
      // Its first time (a minute ago) was inside the window: kept.
      expect(r.pull!.first_time, iso).toBe(Date.parse(t(-60)));
      expect(r.podState!.last_failure, iso).toBe(received.getTime());
    }
  });

  it('flags a first time outside the window, which then is the (kept) last time', () => {
    const r = run(at('2001-01-01T00:00:00Z', 'first'));
    expect([r.pull!.first_time, r.pull!.event_time, r.pull!.time_clamped]).toEqual([
      Date.parse(t(-30)),
      Date.parse(t(-30)),
      1,
    ]);
  });

  it("uses the analyzer's clock when the received time is outside the window too", () => {
    expect(clampTime(Date.UTC(2000, 0), Date.UTC(2001, 0), window)).toEqual({ ms: now, clamped: true });
    expect(clampTime(Date.UTC(2000, 0), now - 1, window)).toEqual({ ms: now - 1, clamped: true });
    expect(clampTime(Date.UTC(2000, 0), now, undefined)).toEqual({ ms: Date.UTC(2000, 0), clamped: false });
  });
});
