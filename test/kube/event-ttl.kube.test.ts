import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../support/kube-apiserver.ts';
import { until } from '../support/until.ts';
import { ApiProxy } from './api-proxy.ts';
import {
  bumpEvent,
  createEvent,
  createNamespace,
  createWaitingPod,
  failedPull,
  type Watching,
  watchWithCollector,
} from './harness.ts';

// Events live --event-ttl after their last write; then the server deletes them and watches see DELETED.
const api = new KubeApiServer({ eventTtl: '4s' });
const proxy = new ApiProxy(api);
let w: Watching;

beforeAll(async () => {
  await api.start();
  await proxy.start();
  await createNamespace(api, 'shop');
  w = await watchWithCollector({ kubeconfig: api.kubeconfig(api.adminToken, ['real'], proxy.url), cluster: 'ttl' });
});

afterAll(async () => {
  await w?.stop();
  await proxy.stop();
  await api.stop();
});

describe('Events past --event-ttl', () => {
  it('are deleted by the server, and the deletions are not counted, then or after a relist', async () => {
    const pod = await createWaitingPod(api, 'shop', 'web-5d8f7c9b4-x2x7q', 'ghcr.io/acme/web:9');
    const ev = await createEvent(api, pod, 'Failed', failedPull('ghcr.io/acme/web:9'));
    await bumpEvent(api, ev, 2);
    await until(() => w.keys().includes(`ttl/${ev.uid}/2`), 'the Event and its bump');

    await until(
      async () => (await api.request('GET', `/api/v1/namespaces/shop/events/${ev.name}`)).status === 404,
      'the server to delete the Event',
      60_000,
    );
    await until(
      () => proxy.watchEvents.some((e) => e.path === '/api/v1/events' && e.type === 'DELETED' && e.name === ev.name),
      'the DELETED watch event',
    );
    // An Event after the deletion: once it is in Kafka, the DELETED before it in the same stream was handled.
    const after = await createEvent(api, pod, 'BackOff', 'Back-off pulling image "ghcr.io/acme/web:9"');
    await until(() => w.keys().includes(`ttl/${after.uid}/1`), 'the Event after the deletion');

    // A relist (compaction, apiserver restart) lists what is left; nothing is sent again.
    const relists = w.collector.stats().watch[0]!.events.relistsAfterGone;
    proxy.cut();
    // Two writes the watch does not see, so the compaction passes the version it would resume from (a
    // compaction at R keeps R: a watch from R-1 still works).
    for (const name of ['rev-bump-1', 'rev-bump-2'])
      await api.ok('POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name } });
    await api.compactEtcd();
    await api.restartApiserver();
    proxy.restore();
    await until(() => w.collector.stats().watch[0]!.events.relistsAfterGone > relists, 'the relist', 60_000);
    expect(await w.allConsumed()).toBe(4);
    expect(w.keys().sort()).toEqual(
      [
        `ttl/${ev.uid}/1`,
        `ttl/${ev.uid}/2`,
        `ttl/${after.uid}/1`,
        w.received.find((e) => e.kind === 'pod-waiting')!.identity.key,
      ].sort(),
    );
  });
});
