import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageKind } from '@pullwatch/classifier';
import { type EventEnvelope, normalizeEvent, type PodWaitingEnvelope } from '@pullwatch/event-schema';
import { KubeApiServer, type KubeStatus } from '../support/kube-apiserver.ts';
import { until } from '../support/until.ts';
import { ApiProxy } from './api-proxy.ts';
import {
  bumpEvent,
  bumpSeries,
  createEvent,
  createEventsV1,
  createNamespace,
  createWaitingPod,
  failedPull,
  type PodRef,
  type Watching,
  watchWithCollector,
} from './harness.ts';

// The collector against a real kube-apiserver on etcd, through a proxy that can cut it off (as a network
// fault would) and look at its requests, producing into the real Kafka.
const api = new KubeApiServer();
const proxy = new ApiProxy(api);
let w: Watching;
const TEAM = 'pullwatch.io/team';

const stats = () => w.collector.stats().watch[0]!;
const keysOf = (uid: string) =>
  w
    .events()
    .filter((e) => e.identity.uid === uid)
    .map((e) => e.identity.count);
const waitingOf = (pod: string) =>
  w.received.filter((e): e is PodWaitingEnvelope => e.kind === 'pod-waiting' && e.podWaiting.pod === pod);
const hasKey = (key: string) => () => w.keys().includes(key);

let web: PodRef;

beforeAll(async () => {
  await api.start();
  process.stderr.write(`[kube] kube-apiserver ready in ${api.readyMs} ms\n`);
  await proxy.start();
  await createNamespace(api, 'shop', { [TEAM]: 'payments' });
  await createNamespace(api, 'sandbox');
  web = await createWaitingPod(api, 'shop', 'web-5d8f7c9b4-x2x7q', 'ghcr.io/acme/web:9');
  await createEvent(api, web, 'Failed', failedPull('ghcr.io/acme/web:9'));
  await createEvent(api, web, 'BackOff', 'Back-off pulling image "ghcr.io/acme/web:9"', { type: 'Normal' });
  await createEvent(api, web, 'Scheduled', `Successfully assigned shop/${web.name} to node-a`, { type: 'Normal' });
  w = await watchWithCollector({
    kubeconfig: api.kubeconfig(api.adminToken, ['real'], proxy.url),
    cluster: 'prod-a',
    teamLabel: TEAM,
  });
});

afterAll(async () => {
  await w?.stop();
  await proxy.stop();
  await api.stop();
});

describe('the collector against a real kube-apiserver', () => {
  it('lists, then watches Events, Pods and Namespaces; Events and Pods carry their Namespace’s team', async () => {
    // The first list: the waiting Pod, and its two image Events (Scheduled is not about images).
    await until(() => w.received.length >= 3, 'the first list');
    expect(await w.allConsumed()).toBe(3);
    expect(waitingOf(web.name)).toHaveLength(1);
    expect(waitingOf(web.name)[0]).toMatchObject({
      cluster: 'prod-a',
      source: 'watch',
      team: 'payments',
      workload: { kind: 'Deployment', name: 'web' },
      podWaiting: {
        image: 'ghcr.io/acme/web:9',
        reason: 'ErrImagePull',
        node: 'node-a',
        imagePullPolicy: 'IfNotPresent',
      },
    });
    expect(
      w
        .events()
        .map((e) => [e.event.reason, e.team, e.identity.count])
        .sort(),
    ).toEqual([
      ['BackOff', 'payments', 1],
      ['Failed', 'payments', 1],
    ]);
    expect(w.events().every((e) => e.pod?.image === 'ghcr.io/acme/web:9')).toBe(true);
    expect(stats().filtered).toBe(1);

    // Watched: a new Namespace of another team, its Pod and Event right after it (separate watches, any order).
    await createNamespace(api, 'batch', { [TEAM]: 'data' });
    const job = await createWaitingPod(api, 'batch', 'report-8f9d7c6b5-abcde', 'ghcr.io/acme/report:1', {
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "ghcr.io/acme/report:1"',
    });
    const jobEvent = await createEvent(api, job, 'Failed', failedPull('ghcr.io/acme/report:1'));
    // A Namespace without the label: no team.
    const lab = await createWaitingPod(api, 'sandbox', 'notebook-0', 'ghcr.io/acme/notebook:2');
    await until(hasKey(`prod-a/${jobEvent.uid}/1`), 'the watched Event');
    await until(() => waitingOf(lab.name).length === 1 && waitingOf(job.name).length === 1, 'the watched Pods');
    expect(await w.allConsumed()).toBe(6);
    expect(waitingOf(job.name)[0]).toMatchObject({ team: 'data', podWaiting: { reason: 'ImagePullBackOff' } });
    expect(w.events().find((e) => e.identity.uid === jobEvent.uid)).toMatchObject({ team: 'data' });
    expect(waitingOf(lab.name)[0]).not.toHaveProperty('team');
    expect(new Set(w.keys()).size).toBe(w.received.length);
    expect(stats().errors).toEqual({ events: null, pods: null, namespaces: null });
  });

  it('counts an Event bumped the way kubelet bumps it (PATCH of count and lastTimestamp) exactly once per count', async () => {
    const ev = await createEvent(api, web, 'Failed', failedPull('ghcr.io/acme/web:10'));
    await until(hasKey(`prod-a/${ev.uid}/1`), 'the new Event');
    for (let count = 2; count <= 6; count++) await bumpEvent(api, ev, count, new Date(Date.now() + count * 1000));
    await until(hasKey(`prod-a/${ev.uid}/6`), 'the last bump');
    await w.allConsumed();
    expect(keysOf(ev.uid)).toEqual([1, 2, 3, 4, 5, 6]);
    const last = w.events().find((e) => e.identity.key === `prod-a/${ev.uid}/6`)!;
    expect(last.event.count).toBe(6);
    expect(Date.parse(last.event.lastTimestamp!) - Date.parse(last.event.firstTimestamp!)).toBeGreaterThanOrEqual(5000);
    expect(new Set(w.keys()).size).toBe(w.received.length);
  });

  it('forwards kubelet’s aggregated Events ("(combined from similar events): …") like any other, counted by their own count', async () => {
    // After 10 similar Events in 10 minutes kubelet's recorder creates one aggregate Event whose message
    // starts with this prefix, and bumps its count from then on.
    const message = `(combined from similar events): ${failedPull('ghcr.io/acme/web:11')}`;
    const ev = await createEvent(api, web, 'Failed', message);
    await bumpEvent(api, ev, 2);
    await bumpEvent(api, ev, 3);
    await until(hasKey(`prod-a/${ev.uid}/3`), 'the aggregate Event');
    await w.allConsumed();
    expect(keysOf(ev.uid)).toEqual([1, 2, 3]);
    const envelope = w.events().find((e) => e.identity.uid === ev.uid)! as EventEnvelope;
    expect(envelope.event.message).toBe(message);
    expect(envelope).toMatchObject({ team: 'payments', pod: { image: 'ghcr.io/acme/web:9' } });
    expect(messageKind(message)).toBe('failed_pull');
    expect(messageKind('(combined from similar events): Back-off pulling image "ghcr.io/acme/web:11"')).toBe('backoff');
  });

  it('counts an Event written through events.k8s.io/v1 once: one store, read through core/v1 only', async () => {
    const note = failedPull('ghcr.io/acme/web:14');
    const ev = await createEventsV1(api, web, 'Failed', note);
    await bumpSeries(api, ev, 2, new Date(Date.now() + 2000));
    await bumpSeries(api, ev, 3, new Date(Date.now() + 4000));
    await until(hasKey(`prod-a/${ev.uid}/3`), 'the series count 3');
    await w.allConsumed();
    expect(keysOf(ev.uid)).toEqual([1, 2, 3]);
    // Both APIs serve the same object: watching both would have counted every Event twice.
    const core = await api.ok<{ items: { metadata: { uid: string } }[] }>('GET', '/api/v1/namespaces/shop/events');
    const v1 = await api.ok<{ items: { metadata: { uid: string } }[] }>(
      'GET',
      '/apis/events.k8s.io/v1/namespaces/shop/events',
    );
    expect(v1.items.map((e) => e.metadata.uid).sort()).toEqual(core.items.map((e) => e.metadata.uid).sort());
    expect(core.items.map((e) => e.metadata.uid)).toContain(ev.uid);
    expect(proxy.requests.filter((r) => r.url.pathname.startsWith('/apis/events.k8s.io'))).toEqual([]);
    // As the analyzer reads it: core/v1 serves `note` as `message` and `reportingController` as
    // `reportingComponent` (with an empty `source`), and the node must still come out.
    const last = w.events().find((e) => e.identity.key === `prod-a/${ev.uid}/3`)!;
    expect(last).toMatchObject({ team: 'payments', pod: { image: 'ghcr.io/acme/web:9' } });
    expect(last.event).toMatchObject({ apiVersion: 'v1', message: note, reportingComponent: 'kubelet', source: {} });
    expect(normalizeEvent(last.event)).toMatchObject({ count: 3, node: 'node-a', reason: 'Failed', message: note });
    expect(new Set(w.keys()).size).toBe(w.received.length);
  });

  it('ends exact after missing changes while cut off, an etcd compaction and an apiserver restart', async () => {
    const ev = await createEvent(api, web, 'Failed', failedPull('ghcr.io/acme/web:12'));
    const gone = await createWaitingPod(api, 'shop', 'gone-6c7d8e9f0-zzzzz', 'ghcr.io/acme/gone:1');
    await until(() => w.keys().includes(`prod-a/${ev.uid}/1`) && waitingOf(gone.name).length === 1, 'the baseline');
    const tracked = stats().podsTracked;
    const before = { ...stats().events, pods: { ...stats().pods } };

    proxy.cut();
    // What the collector misses: three bumps, a new Event, a Pod deleted and one created.
    for (let count = 2; count <= 4; count++) await bumpEvent(api, ev, count);
    const missed = await createEvent(api, web, 'BackOff', 'Back-off pulling image "ghcr.io/acme/web:12"');
    await api.ok('DELETE', `/api/v1/namespaces/shop/pods/${gone.name}`, { gracePeriodSeconds: 0 });
    const late = await createWaitingPod(api, 'shop', 'late-7d8e9f0a1-yyyyy', 'ghcr.io/acme/late:3');
    const compacted = await api.compactEtcd();
    await api.restartApiserver();
    process.stderr.write(`[kube] kube-apiserver ready again in ${api.readyMs} ms\n`);
    const from = proxy.requests.length;
    proxy.restore();

    await until(
      () => w.keys().includes(`prod-a/${missed.uid}/1`) && w.keys().includes(`prod-a/${ev.uid}/4`),
      'the missed Events',
      120_000,
    );
    await until(() => waitingOf(late.name).length === 1, 'the missed Pod', 120_000);
    await until(() => stats().podsTracked === tracked, 'the deleted Pod forgotten');
    await w.allConsumed();
    // Each Event once per count it was seen at: the relist saw the last count only; the analyzer counts
    // the difference, so 4 occurrences in all.
    expect(keysOf(ev.uid)).toEqual([1, 4]);
    expect(keysOf(missed.uid)).toEqual([1]);
    expect(new Set(w.keys()).size).toBe(w.received.length);
    expect(stats().events.relistsAfterGone).toBeGreaterThan(before.relistsAfterGone);
    expect(stats().pods.relistsAfterGone).toBeGreaterThan(before.pods.relistsAfterGone);
    // Events are not in the watch cache: the watch from a compacted version was answered 200, its 410 in the stream.
    const eventWatches = proxy.requests
      .slice(from)
      .filter((r) => r.url.pathname === '/api/v1/events' && r.url.searchParams.get('watch') === 'true');
    const stale = eventWatches.filter((r) => Number(r.url.searchParams.get('resourceVersion')) < compacted);
    expect(stale.length).toBeGreaterThanOrEqual(1);
    expect(stale.every((r) => r.status === 200)).toBe(true);
    expect(
      proxy.watchEvents.filter((e) => e.path === '/api/v1/events' && e.type === 'ERROR').map((e) => e.code),
    ).toContain(410);
    // Nor do Event watches get BOOKMARKs (Pod watches, served from the watch cache, may).
    expect(proxy.watchEvents.filter((e) => e.path === '/api/v1/events' && e.type === 'BOOKMARK')).toEqual([]);
  });

  it('starts a paged list over when its continue token expires (compaction between pages)', async () => {
    // What the server says, first hand: 410 Expired, with a fallback token for an inconsistent list.
    const first = await api.ok<{ metadata: { continue?: string } }>('GET', '/api/v1/events?limit=1');
    await api.ok('POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name: 'rev-bump' } });
    await api.compactEtcd();
    const expired = await api.request<KubeStatus>(
      'GET',
      `/api/v1/events?limit=1&continue=${encodeURIComponent(first.metadata.continue!)}`,
    );
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(expired.body.metadata?.continue).toMatch(/./);

    // The collector's own relist, paged by 2 (the proxy lowers its page size), compacted after its first page.
    let compactedOnce = false;
    proxy.before = async (r) => {
      if (r.url.pathname !== '/api/v1/events' || r.url.searchParams.get('watch') === 'true') return;
      r.url.searchParams.set('limit', '2');
      if (r.url.searchParams.has('continue') && !compactedOnce) {
        compactedOnce = true;
        await api.ok(
          'PATCH',
          '/api/v1/namespaces/shop/configmaps/rev-bump',
          { data: { n: '1' } },
          'application/merge-patch+json',
        );
        await api.compactEtcd();
      }
    };
    try {
      const restarts = stats().events.listRestartsAfterExpiredContinue;
      const from = proxy.requests.length;
      proxy.cut();
      const during = await createEvent(api, web, 'Failed', failedPull('ghcr.io/acme/web:13'));
      await api.ok(
        'PATCH',
        '/api/v1/namespaces/shop/configmaps/rev-bump',
        { data: { n: '0' } },
        'application/merge-patch+json',
      );
      await api.compactEtcd();
      proxy.restore();
      await until(hasKey(`prod-a/${during.uid}/1`), 'the Event made while cut off', 120_000);
      await w.allConsumed();
      expect(stats().events.listRestartsAfterExpiredContinue).toBe(restarts + 1);
      const lists = proxy.requests
        .slice(from)
        .filter((r) => r.url.pathname === '/api/v1/events' && r.url.searchParams.get('watch') !== 'true');
      // The first page, the expired second one, then the list from the start to its end.
      expect(lists.slice(0, 3).map((r) => [r.url.searchParams.has('continue'), r.status])).toEqual([
        [false, 200],
        [true, 410],
        [false, 200],
      ]);
      expect(lists.length).toBeGreaterThan(4); // paged by 2 over more than 6 Events
      expect(keysOf(during.uid)).toEqual([1]);
      expect(new Set(w.keys()).size).toBe(w.received.length);
    } finally {
      proxy.before = null;
    }
  });
});
