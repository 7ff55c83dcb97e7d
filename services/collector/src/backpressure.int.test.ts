import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '@pullwatch/event-schema';
import { readTopic } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { dedicatedKafka } from '../../../test/support/dedicated-kafka.ts';
import { freePort } from '../../../test/support/free-port.ts';
import { freeze, thaw } from '../../../test/support/freeze.ts';
import { until } from '../../../test/support/until.ts';
import { uniqueName } from '../../../test/support/endpoints.ts';
import { loadCollectorConfig } from './config.ts';
import { createCollector, type Collector } from './collector.ts';

const logger = createLogger('backpressure-test', 'silent');
// Ports from the OS (port 0), not fixed ones.
const broker = dedicatedKafka(await freePort(), await freePort());
const kafka = { brokers: broker.brokers, clientId: 'backpressure-test', logger };
const topic = uniqueName('bp');
let collector: Collector;

const event = (i: number) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `e${i}`, namespace: 'shop', uid: `uid-${i}` },
  involvedObject: { kind: 'Pod', name: `web-${i % 3}`, namespace: 'shop' },
  reason: 'Failed',
  message: `Failed to pull image "nginx:${i}": not found`,
  count: 1,
});
const post = (from: number, n: number) =>
  fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=eu-1`, {
    method: 'POST',
    headers: { authorization: 'Bearer backpressure-test-token' },
    body: JSON.stringify(Array.from({ length: n }, (_, i) => event(from + i))),
  });

beforeAll(async () => {
  await broker.kafka.up(() => undefined);
  collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_TOKEN: 'backpressure-test-token',
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '2',
      PULLWATCH_PRODUCE_TIMEOUT_MS: '3000',
      PULLWATCH_BUFFER_MAX_EVENTS: '50',
    }),
    { logger, metrics: createMetricsRegistry('bp'), kafka },
  );
  await collector.start();
});

afterAll(async () => {
  await collector.stop().catch(() => undefined);
  await broker.kafka.down();
  broker.cleanup();
});

describe('back-pressure when the broker stops', () => {
  it('answers 503 with Retry-After while Kafka is down, refuses more than the buffer, and loses nothing', async () => {
    expect((await post(0, 10)).status).toBe(200);
    expect((await post(10, 60)).status).toBe(503); // over the in-flight bound: pushed back, not buffered

    await broker.kafka.down();
    const down = await post(100, 10);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(((await down.json()) as { error: { message: string } }).error.message).toMatch(
      /nothing of this request was accepted/,
    );

    await broker.kafka.up(() => undefined);
    // A client honouring Retry-After: the same request again, a second apart, until it is accepted.
    await until(async () => (await post(100, 10)).status === 200, 'the resent request accepted', 40_000, 1000);

    const uids = new Set(
      (await readTopic(kafka, topic, { timeoutMs: 60_000 })).map(
        (m) => (JSON.parse(m.value!.toString()) as Envelope).identity.uid,
      ),
    );
    // Every accepted event is there (a retried request may have been written twice: the identity lets
    // the analyzer count it once); nothing of the refused 60-event request was produced.
    expect([...uids].sort()).toEqual(
      [
        ...Array.from({ length: 10 }, (_, i) => `uid-${i}`),
        ...Array.from({ length: 10 }, (_, i) => `uid-${100 + i}`),
      ].sort(),
    );
  });

  /** A metric's value from /metrics: the series of `name` whose labels include `label`. */
  const metric = async (name: string, label = '') => {
    const text = await (await fetch(`${collector.ingestUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
    return Number(line?.split(' ').at(-1) ?? NaN);
  };

  it(
    'a request that does not fit beside those waiting for Kafka waits PULLWATCH_BUFFER_WAIT_MS for room: ' +
      'admitted when an acknowledgement frees it, else 503 with Retry-After',
    async () => {
      const { pid } = await broker.kafka.status();
      expect(pid).not.toBeNull();
      // Every thread stopped before the first request: otherwise the broker may still acknowledge it.
      await freeze(pid!, 'the broker');
      let resumed = false;
      try {
        // 40 events wait for the frozen broker; 20 more do not fit beside them (limit 50).
        const first = post(300, 40);
        await until(
          async () => (await metric('pullwatch_collector_buffered_events')) === 40,
          '40 events in flight',
          10_000,
          20,
        );
        const received = collector.stats().received;
        const t0 = Date.now();
        const refused = await post(340, 20);
        const waited = Date.now() - t0;
        expect(collector.stats().received).toBe(received + 20);
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('2');
        const message = ((await refused.json()) as { error: { message: string } }).error.message;
        expect(message.replace(/\(\d+ bytes\)/, '(N bytes)')).toBe(
          '40 events (N bytes) are waiting for Kafka (limits 50 events, 33554432 bytes); nothing of this request ' +
            'was accepted, retry later',
        );
        expect(waited).toBeGreaterThanOrEqual(1000);
        expect(waited).toBeLessThan(2500);
        expect(await metric('pullwatch_collector_buffer_waits_total', 'outcome="pushed_back"')).toBe(1);

        // Again, and this time the broker comes back while the request waits: admitted, acknowledged.
        const again = post(340, 20);
        await until(
          () => collector.stats().received === received + 40,
          'the second request to wait for room',
          10_000,
          20,
        );
        await thaw(pid!, 'the broker');
        resumed = true;
        expect((await again).status).toBe(200);
        expect((await first).status).toBe(200);
        expect(await metric('pullwatch_collector_buffer_waits_total', 'outcome="admitted"')).toBe(1);
        expect(await metric('pullwatch_collector_buffered_events')).toBe(0);
      } finally {
        if (!resumed) await thaw(pid!, 'the broker');
      }
      const uids = new Set(
        (await readTopic(kafka, topic, { timeoutMs: 60_000 })).map(
          (m) => (JSON.parse(m.value!.toString()) as Envelope).identity.uid,
        ),
      );
      for (let i = 300; i < 360; i++) expect(uids.has(`uid-${i}`), `uid-${i}`).toBe(true);
    },
  );

  it(
    'a broker that stops answering: the produce times out at PULLWATCH_PRODUCE_TIMEOUT_MS with a 503, ' +
      'and the retried request lands',
    async () => {
      const { pid } = await broker.kafka.status();
      expect(pid).not.toBeNull();
      // Frozen, not stopped: connections stay open and nothing answers, so only the produce timeout can end the
      // wait. Every thread stopped before the request: `kill` returns while the broker's threads may still run.
      await freeze(pid!, 'the broker');
      try {
        const t0 = Date.now();
        const hung = await post(200, 5);
        const waited = Date.now() - t0;
        expect(hung.status).toBe(503);
        expect(hung.headers.get('retry-after')).toBe('5');
        expect(((await hung.json()) as { error: { message: string } }).error.message).toMatch(/within 3000 ms/);
        expect(waited).toBeGreaterThanOrEqual(3000);
        expect(waited).toBeLessThan(6000);
      } finally {
        await thaw(pid!, 'the broker');
      }
      await until(async () => (await post(200, 5)).status === 200, 'the retried request accepted', 40_000, 1000);
      const uids = new Set(
        (await readTopic(kafka, topic, { timeoutMs: 60_000 })).map(
          (m) => (JSON.parse(m.value!.toString()) as Envelope).identity.uid,
        ),
      );
      for (let i = 200; i < 205; i++) expect(uids.has(`uid-${i}`)).toBe(true);
    },
  );
});
