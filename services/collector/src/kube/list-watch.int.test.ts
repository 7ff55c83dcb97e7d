import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@pullwatch/telemetry';
import { until } from '../../../../test/support/until.ts';
import { FakeApiServer } from '../../test/fake-apiserver.ts';
import { type KubeObject, ListWatch } from './list-watch.ts';

const logger = createLogger('list-watch-test', (process.env.TEST_LOG_LEVEL as 'warn' | undefined) ?? 'silent');

const pod = (name: string) => ({
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
});

const waitFor = (cond: () => boolean, what: string, timeoutMs = 20_000) => until(cond, what, timeoutMs, 20);

/** A ListWatch of Pods against a fresh fake API server, recording what it hands over. */
async function setup(opts: { pageSize?: number; watchTimeoutSeconds?: number; watchDeadlineSlackMs?: number } = {}) {
  const api = new FakeApiServer();
  await api.start();
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-kube-')), 'config');
  api.writeKubeconfig(kubeconfig, ['ctx']);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const seen = {
    lists: [] as string[][],
    objects: [] as string[],
    deleted: [] as string[],
  };
  const names = (o: KubeObject) => o.metadata?.name ?? '?';
  const lw = new ListWatch(
    kc,
    '/api/v1/pods',
    {
      onList: async (items) => void seen.lists.push(items.map(names)),
      onObject: async (o) => void seen.objects.push(names(o)),
      onDeleted: (o) => void seen.deleted.push(names(o)),
    },
    logger,
    { ...opts, maxBackoffMs: 200 },
  );
  const stop = async () => {
    await lw.stop();
    await api.stop();
  };
  cleanups.push(stop);
  return { api, lw, seen };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('ListWatch against the fake API server', () => {
  it('starts a paged list over when its continue token expires (410 Expired), and lists everything', async () => {
    const { api, lw, seen } = await setup({ pageSize: 2 });
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) api.put('pods', pod(n));
    api.expireNextContinueToken();
    lw.start();
    await waitFor(() => seen.lists.length === 1, 'the first list');
    expect(seen.lists).toEqual([['p1', 'p2', 'p3', 'p4', 'p5']]);
    const lists = api.requests.filter((r) => !r.watch);
    expect(lists.map((r) => [r.continue !== null, r.status])).toEqual([
      [false, 200],
      [true, 410],
      [false, 200],
      [true, 200],
      [true, 200],
    ]);
    expect(lw.stats.listRestartsAfterExpiredContinue).toBe(1);
    expect(lw.stats.lists).toBe(1);
    // And it watches from the version of the completed list.
    await waitFor(() => api.watching('pods') === 1, 'the watch');
    api.put('pods', pod('p6'));
    await waitFor(() => seen.objects.length === 1, 'the watched Pod');
    expect(seen.objects).toEqual(['p6']);
  });

  it(
    'relists after 410 Gone on a watch, then watches from the relist’s version ' + 'without repeating events',
    async () => {
      const { api, lw, seen } = await setup();
      api.put('pods', pod('p1'));
      lw.start();
      await waitFor(() => api.watching('pods') === 1, 'the watch');
      api.put('pods', pod('p2'));
      await waitFor(() => seen.objects.length === 1, 'p2 from the watch');

      // The watch drops; meanwhile p3 arrives and the history is compacted past the watch's version.
      api.dropConnections();
      api.put('pods', pod('p3'));
      api.compact();
      await waitFor(() => seen.lists.length === 2 && api.watching('pods') === 1, 'the relist and the new watch');
      api.put('pods', pod('p4'));
      await waitFor(() => seen.objects.length === 2, 'p4 from the new watch');

      expect(seen.lists).toEqual([['p1'], ['p1', 'p2', 'p3']]);
      expect(seen.objects).toEqual(['p2', 'p4']);
      expect(lw.stats.relistsAfterGone).toBe(1);
      const watches = api.requests.filter((r) => r.watch).map((r) => r.resourceVersion);
      // The first watch from the first list's version, the reconnect from p2's (410), then the relist's.
      expect(watches).toEqual(['101', '102', '103']);
    },
  );

  it('skips malformed watch lines and objects, counts them, and keeps the watch going', async () => {
    const { api, lw, seen } = await setup();
    lw.start();
    await waitFor(() => api.watching('pods') === 1, 'the watch');
    api.writeRaw('pods', '{"type":"ADDED","object":{"metadata":'); // torn JSON
    api.writeRaw('pods', '{"type":"ADDED"}'); // no object
    api.writeRaw('pods', '{"type":"ADDED","object":"p0"}'); // object not an object
    api.writeRaw('pods', '{"type":"RENAMED","object":{"metadata":{"name":"x"}}}'); // unknown type
    api.writeRaw('pods', '[1,2]');
    api.put('pods', pod('p1'));
    await waitFor(() => seen.objects.length === 1, 'the valid Pod after the invalid lines');
    expect(seen.objects).toEqual(['p1']);
    expect(lw.stats.invalidWatchEvents).toBe(5);
    expect(lw.stats.reconnects).toBe(0);
    expect(api.requests.filter((r) => r.watch)).toHaveLength(1);
  });

  it('gives up a watch still open past its timeoutSeconds (no answer at all) and reopens it from its version', async () => {
    // A real Event watch carries no BOOKMARKs, so a quiet one and a dead connection look the same; only
    // the server's own timeout tells them apart.
    const { api, lw, seen } = await setup({ watchTimeoutSeconds: 1, watchDeadlineSlackMs: 300 });
    api.put('pods', pod('p1'));
    api.stallNextWatches(2);
    lw.start();
    await waitFor(() => seen.lists.length === 1, 'the list');
    api.put('pods', pod('p2'));
    await waitFor(() => seen.objects.length === 1, 'p2 from the third watch', 10_000);
    expect(seen.objects).toEqual(['p2']);
    expect(lw.stats).toMatchObject({ lists: 1, watchesAbandoned: 2, reconnects: 0, relistsAfterGone: 0 });
    expect(lw.lastError).toBeNull();
    expect(api.requests.filter((r) => r.watch).map((r) => r.resourceVersion)).toEqual(['101', '101', '101']);
  });

  it('hands DELETED objects to onDeleted', async () => {
    const { api, lw, seen } = await setup();
    api.put('pods', pod('p1'));
    lw.start();
    await waitFor(() => api.watching('pods') === 1, 'the watch');
    api.put('pods', pod('p2'));
    api.delete('pods', 'shop', 'p1');
    api.delete('pods', 'shop', 'p2');
    await waitFor(() => seen.deleted.length === 2, 'the deletions');
    expect(seen.deleted).toEqual(['p1', 'p2']);
    expect(seen.objects).toEqual(['p2']);
    expect(lw.stats.invalidWatchEvents).toBe(0);
  });
});
