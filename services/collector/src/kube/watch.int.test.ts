import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '@pullwatch/event-schema';
import { createGroupConsumer, topicOffsets } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../../test/support/endpoints.ts';
import { until } from '../../../../test/support/until.ts';
import { FakeApiServer } from '../../test/fake-apiserver.ts';
import { loadCollectorConfig } from '../config.ts';
import { createCollector, type Collector } from '../collector.ts';

const logger = createLogger('watch-test', (process.env.TEST_LOG_LEVEL as 'warn' | undefined) ?? 'silent');
const metrics = createMetricsRegistry('watch-test');
const kafka = { brokers: testEndpoints().kafka.brokers, clientId: 'watch-test', logger };
const topic = uniqueName('watch_it');
const api = new FakeApiServer();
let collector: Collector;

const event = (name: string, pod: string, reason: string, message: string, count = 1) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{web}' },
  reason,
  message,
  type: 'Warning',
  count,
  lastTimestamp: new Date(Date.UTC(2026, 10, 24, 10, 0, count)).toISOString(),
  source: { host: 'node-a' },
});
const failed = (img: string) =>
  `Failed to pull image "${img}": rpc error: code = NotFound ` +
  `desc = failed to pull and unpack image "${img}": not found`;

const received: Envelope[] = [];
const consumer = createGroupConsumer(kafka, {
  groupId: uniqueName('watch_g'),
  topic,
  sessionTimeoutMs: 10_000,
  minBytes: 1,
  maxWaitMs: 100,
  maxBytesPerPartition: 1 << 20,
});

const waitFor = (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000) =>
  until(cond, what, timeoutMs, 50);
const untilReceived = (n: number, what: string) => waitFor(() => received.length >= n, `${what} (${n} messages)`);

/** Messages in the topic (the sum of its partitions' high watermarks): all the collector produced. */
async function producedSoFar(): Promise<number> {
  return (await topicOffsets(kafka, topic)).reduce((n, o) => n + o, 0);
}

/** Waits until the consumer has every message the collector produced, so repeats would be counted too. */
async function allConsumed() {
  let produced = -1;
  await waitFor(async () => {
    produced = await producedSoFar();
    return produced === received.length;
  }, 'the consumer to catch up');
  return produced;
}

beforeAll(async () => {
  await api.start();
  api.put('pods', {
    metadata: { name: 'web-1', namespace: 'shop', uid: 'p1' },
    spec: {
      nodeName: 'node-a',
      imagePullSecrets: [],
      containers: [{ name: 'web', image: 'ghcr.io/acme/web:9', imagePullPolicy: 'IfNotPresent' }],
    },
    status: {
      containerStatuses: [
        { name: 'web', state: { waiting: { reason: 'ErrImagePull', message: failed('ghcr.io/acme/web:9') } } },
      ],
    },
  });
  api.put('events', event('e1', 'web-1', 'Failed', failed('ghcr.io/acme/web:9')));
  api.put('events', event('e2', 'web-1', 'BackOff', 'Back-off pulling image "ghcr.io/acme/web:9"'));
  api.put(
    'events',
    event(
      'e3',
      'web-2',
      'Pulled',
      'Successfully pulled image "nginx:1.27" in 1s (1s including waiting). Image size: 10 bytes.',
    ),
  );
  api.put('events', event('e0', 'web-2', 'Scheduled', 'Successfully assigned shop/web-2 to node-a'));
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-kube-')), 'config');
  api.writeKubeconfig(kubeconfig, ['ctx-a']);
  collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '2',
      PULLWATCH_KUBECONFIG: kubeconfig,
      PULLWATCH_KUBE_CONTEXTS: 'ctx-a=prod-a',
    }),
    { logger, metrics, kafka },
  );
  await collector.start();
  await consumer.run(async (batch) => {
    for (const m of batch.messages) received.push(JSON.parse(m.value!.toString()) as Envelope);
  });
});

afterAll(async () => {
  await collector.stop();
  await consumer.close();
  await api.stop();
});

describe('Kubernetes watch (fake API server speaking the real protocol)', () => {
  it('lists, then watches; survives dropped connections and 410 Gone relists without repeats', async () => {
    await untilReceived(4, 'the initial list');
    expect(received.filter((e) => e.kind === 'pod-waiting')).toHaveLength(1);
    const waiting = received.find((e) => e.kind === 'pod-waiting');
    expect(waiting).toMatchObject({
      cluster: 'prod-a',
      source: 'watch',
      podWaiting: {
        image: 'ghcr.io/acme/web:9',
        imagePullPolicy: 'IfNotPresent',
        hasPullSecrets: false,
        reason: 'ErrImagePull',
        node: 'node-a',
      },
    });

    api.put('events', event('e1', 'web-1', 'Failed', failed('ghcr.io/acme/web:9'), 2));
    await untilReceived(5, 'the watched update');

    api.dropConnections();
    api.put('events', event('e4', 'web-1', 'Failed', 'Error: ErrImagePull'));
    await untilReceived(6, 'the event put while disconnected');

    api.dropConnections();
    api.put('events', event('e5', 'web-1', 'BackOff', 'Back-off pulling image "ghcr.io/acme/web:9"', 2));
    api.compact();
    await untilReceived(7, 'the event after a 410 relist');
    await waitFor(() => api.watching('events') === 1, 'the watch after the relist');
    api.bookmark();
    await waitFor(() => collector.stats().watch[0]!.events.bookmarks >= 1, 'the bookmark');
    // Everything the relist produced (repeats too) is in the topic by now; count it all.
    expect(await allConsumed()).toBe(7);

    const events = received.filter((e): e is Extract<Envelope, { kind: 'event' }> => e.kind === 'event');
    expect(events.map((e) => e.identity.key).sort()).toEqual([
      'prod-a/uid-e1/1',
      'prod-a/uid-e1/2',
      'prod-a/uid-e2/1',
      'prod-a/uid-e3/1',
      'prod-a/uid-e4/1',
      'prod-a/uid-e5/2',
    ]);
    expect(new Set(received.map((e) => e.identity.key)).size).toBe(received.length);
    // One Pod's events keep their order.
    expect(events.filter((e) => e.event.involvedObject?.name === 'web-1').map((e) => e.identity.key)).toEqual([
      'prod-a/uid-e1/1',
      'prod-a/uid-e2/1',
      'prod-a/uid-e1/2',
      'prod-a/uid-e4/1',
      'prod-a/uid-e5/2',
    ]);
    // Events carry what the Pod watch knows.
    expect(events.find((e) => e.identity.key === 'prod-a/uid-e1/1')!.pod).toEqual({
      image: 'ghcr.io/acme/web:9',
      imagePullPolicy: 'IfNotPresent',
      hasPullSecrets: false,
      node: 'node-a',
    });
    const watch = collector.stats().watch[0]!;
    expect(watch.events.relistsAfterGone).toBeGreaterThanOrEqual(1);
    expect(watch.skippedAlreadySent).toBeGreaterThanOrEqual(4);
    expect(api.requests.some((r) => r.watch && r.resourceVersion !== null)).toBe(true);
    // The same counts, as Prometheus scrapes them from /metrics.
    const scraped = await (await fetch(`${collector.ingestUrl}/metrics`)).text();
    const sample = (labels: string) =>
      Number(
        new RegExp(`^pullwatch_collector_watch_activity_total\\{${labels},service="watch-test"\\} (\\d+)$`, 'm').exec(
          scraped,
        )?.[1] ?? NaN,
      );
    expect(sample('cluster="prod-a",resource="events",activity="relistsAfterGone"')).toBe(
      watch.events.relistsAfterGone,
    );
    expect(sample('cluster="prod-a",resource="events",activity="reconnects"')).toBeGreaterThanOrEqual(1);
    expect(scraped).toMatch(
      new RegExp(
        '^pullwatch_collector_watch_objects_total\\{cluster="prod-a",outcome="skipped_already_sent",' +
          `service="watch-test"\\} ${collector.stats().watch[0]!.skippedAlreadySent}$`,
        'm',
      ),
    );
  });

  it('forgets deleted Pods: a churn of created and deleted Pods leaves the map of Pods bounded', async () => {
    const before = collector.stats().watch[0]!.podsTracked;
    expect(before).toBe(1); // web-1
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++)
        api.put('pods', { metadata: { name: `churn-${round}-${i}`, namespace: 'batch', uid: `c-${round}-${i}` } });
      for (let i = 0; i < 50; i++) api.delete('pods', 'batch', `churn-${round}-${i}`);
    }
    // A Pod waiting on its image after the churn: once its observation is in Kafka, the churn was handled.
    api.put('pods', {
      metadata: { name: 'marker', namespace: 'batch', uid: 'marker' },
      spec: { containers: [{ name: 'm', image: 'ghcr.io/acme/marker:1' }] },
      status: {
        containerStatuses: [
          { name: 'm', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } },
        ],
      },
    });
    await waitFor(
      () => received.some((e) => e.kind === 'pod-waiting' && e.podWaiting.pod === 'marker'),
      'the marker Pod',
    );
    expect(collector.stats().watch[0]!.podsTracked).toBe(2); // web-1 and marker

    // A Pod deleted while the watch is away, its DELETED compacted: the relist after 410 Gone forgets it.
    const relists = collector.stats().watch[0]!.pods.relistsAfterGone;
    api.dropConnections();
    api.delete('pods', 'batch', 'marker');
    api.compact();
    await waitFor(
      () =>
        collector.stats().watch[0]!.pods.relistsAfterGone > relists && collector.stats().watch[0]!.podsTracked === 1,
      'the Pod relist',
    );
  });

  it('skips invalid watched objects with a count, and keeps watching', async () => {
    await waitFor(() => api.watching('events') === 1, 'the Events watch');
    const s0 = collector.stats().watch[0]!;
    api.writeRaw('events', '{"type":"ADDED","object":'); // torn
    api.put('events', { ...event('bad', 'web-1', 'Failed', failed('ghcr.io/acme/web:9')), count: 'three' });
    api.put('events', event('e7', 'web-1', 'Failed', failed('ghcr.io/acme/web:10')));
    await waitFor(() => received.some((e) => e.identity.key === 'prod-a/uid-e7/1'), 'the event after the invalid ones');
    const s1 = collector.stats().watch[0]!;
    expect(s1.invalid - s0.invalid).toBe(1);
    expect(s1.events.invalidWatchEvents - s0.events.invalidWatchEvents).toBe(1);
    expect(s1.events.reconnects).toBe(s0.events.reconnects);
    const scraped = await (await fetch(`${collector.ingestUrl}/metrics`)).text();
    expect(scraped).toMatch(
      new RegExp(
        '^pullwatch_collector_watch_objects_total\\{cluster="prod-a",outcome="invalid",' +
          `service="watch-test"\\} ${s1.invalid}$`,
        'm',
      ),
    );
  });

  it('keeps the ingest closed (401) when only the watch is configured and no ingest token is', async () => {
    const res = await fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=prod-a`, {
      method: 'POST',
      headers: { authorization: 'Bearer anything-at-all-1234' },
      body: JSON.stringify([event('e9', 'web-1', 'Failed', failed('ghcr.io/acme/web:9'))]),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /^the ingest is closed: this collector has no ingest token configured/,
    );
  });
});
