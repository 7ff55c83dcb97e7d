import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeSchema, normalizeEvent, type Envelope } from '@pullwatch/event-schema';
import { ensureTopics, readTopic, topicOffsets } from '@pullwatch/kafka';
import { startTracing } from '@pullwatch/telemetry';
import { uniqueName } from '../../../test/support/endpoints.ts';
import type { Collector } from './collector.ts';
import { startIngestCollector, testKafka } from './test-support.ts';
import { encodeOtlpLogsProtobuf } from './ingest/otlp-protobuf.ts';

const kafka = testKafka('collector-test');
const TOKEN = 'collector-test-ingest-token';
const auth = { authorization: `Bearer ${TOKEN}` };
// Spans without an exporter: their W3C context must still reach Kafka.
startTracing({ serviceName: 'collector-test' });

function event(
  pod: string,
  i: number,
  reason = 'Failed',
  message = `Failed to pull image "nginx:1.${i}": rpc error: code = NotFound desc = not found`,
) {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${pod}.${i}`,
      namespace: 'shop',
      uid: `uid-${pod}-${i}`,
      resourceVersion: String(100 + i),
      managedFields: [{ manager: 'x' }],
    },
    involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{app}' },
    reason,
    message,
    type: 'Warning',
    count: 1,
    lastTimestamp: new Date(Date.UTC(2026, 10, 24, 10, 0, i)).toISOString(),
  };
}

/** Consumes the topic until it has `expected` messages and everything in the topic (so a duplicate would show). */
async function consumeAll(
  topic: string,
  expected: number,
): Promise<{ partition: number; envelope: Envelope; traceparent: string | null }[]> {
  const messages = await readTopic(kafka, topic, { count: expected });
  // Acknowledged means written: anything past `expected` in the topic would be a duplicate.
  expect((await topicOffsets(kafka, topic)).reduce((n, o) => n + o, 0)).toBe(expected);
  return messages.map((m) => ({
    partition: m.partition,
    envelope: EnvelopeSchema.parse(JSON.parse(m.value!.toString())),
    traceparent: m.headers.traceparent ?? null,
  }));
}

describe('collector HTTP ingest into the real Kafka', () => {
  const topic = uniqueName('collector_it');
  let collector: Collector;
  beforeAll(async () => {
    collector = await startIngestCollector(kafka, { token: TOKEN, topic, partitions: 3, metrics: 'collector-test' });
  });
  afterAll(async () => {
    await collector.stop();
  });

  const post = (body: string, query = 'cluster=eu-1', path = '/v1/k8s-events') =>
    fetch(`${collector.ingestUrl}${path}?${query}`, {
      method: 'POST',
      body,
      headers: { ...auth, 'content-type': 'application/json' },
    });

  it('accepts a JSON array, an EventList and NDJSON, filters non-image events, keeps per-Pod order', async () => {
    const arr = [
      event('web-1', 1),
      event('web-1', 2),
      event('web-2', 3),
      event('web-1', 4, 'Scheduled', 'Successfully assigned shop/web-1 to node-a'),
    ];
    const r1 = await post(JSON.stringify(arr));
    expect(r1.status).toBe(200);
    expect(await r1.json()).toEqual({ accepted: 3, filtered: 1, received: 4 });

    const r2 = await post(JSON.stringify({ kind: 'EventList', items: [event('web-1', 5), event('web-3', 6)] }));
    expect(await r2.json()).toMatchObject({ accepted: 2 });

    const ndjson = [
      event('web-1', 7),
      { type: 'MODIFIED', object: event('web-2', 8) },
      { type: 'BOOKMARK', object: { kind: 'Event', metadata: { resourceVersion: '999' } } },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n');
    const r3 = await post(ndjson);
    expect(await r3.json()).toMatchObject({ accepted: 2 });

    const got = await consumeAll(topic, 7);
    expect(got).toHaveLength(7);
    const web1 = got.filter(
      (g) =>
        normalizeEvent(g.envelope.kind === 'event' ? g.envelope.event : (undefined as never)).object.name === 'web-1',
    );
    expect(web1.map((g) => g.envelope.identity.uid)).toEqual([
      'uid-web-1-1',
      'uid-web-1-2',
      'uid-web-1-5',
      'uid-web-1-7',
    ]);
    expect(new Set(web1.map((g) => g.partition)).size).toBe(1);
    for (const g of got) {
      expect(g.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      expect(g.envelope.cluster).toBe('eu-1');
      expect(g.envelope.kind === 'event' && 'managedFields' in g.envelope.event.metadata).toBe(false);
    }
  });

  it('rejects a bad request whole, naming the line, and produces nothing of it', async () => {
    const topic2 = uniqueName('collector_bad');
    const c2 = await startIngestCollector(kafka, {
      token: TOKEN,
      topic: topic2,
      partitions: 1,
      metrics: 'c2',
      env: { PULLWATCH_MAX_BODY_BYTES: '4096' },
    });
    try {
      const bad = `${JSON.stringify(event('web-9', 1))}\n{"kind":"Event"`;
      const r = await fetch(`${c2.ingestUrl}/v1/k8s-events?cluster=eu-1`, { method: 'POST', body: bad, headers: auth });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/line 2/);
      const noCluster = await fetch(`${c2.ingestUrl}/v1/k8s-events`, { method: 'POST', body: '[]', headers: auth });
      expect(noCluster.status).toBe(400);
      const big = await fetch(`${c2.ingestUrl}/v1/k8s-events?cluster=eu-1`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(Array.from({ length: 40 }, (_, i) => event('web-9', i))),
      });
      expect(big.status).toBe(413);
      const ok = await fetch(`${c2.ingestUrl}/v1/k8s-events?cluster=eu-1`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify([event('web-9', 99)]),
      });
      expect(ok.status).toBe(200);
      // Only the one good event reached the topic.
      expect((await topicOffsets(kafka, topic2)).reduce((n, o) => n + o, 0)).toBe(1);
    } finally {
      await c2.stop();
    }
  });

  it(
    'answers a permanent Kafka refusal (events over the topic limit) with 413 and no Retry-After ' +
      '(retryable ones stay 503: backpressure.int.test.ts)',
    async () => {
      const topic4 = uniqueName('collector_limit');
      // The topic takes produce batches of at most 2 KiB: one ordinary event fits, a request of many does not.
      await ensureTopics(kafka, [{ topic: topic4, numPartitions: 1, config: { 'max.message.bytes': '2048' } }]);
      const c4 = await startIngestCollector(kafka, { token: TOKEN, topic: topic4, partitions: 1, metrics: 'c4' });
      try {
        const tooBig = await fetch(`${c4.ingestUrl}/v1/k8s-events?cluster=eu-1`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify(Array.from({ length: 30 }, (_, i) => event('web-7', i))),
        });
        expect(tooBig.status).toBe(413);
        expect(tooBig.headers.get('retry-after')).toBeNull();
        expect(((await tooBig.json()) as { error: { code: string } }).error.code).toBe('event_too_large');
        const fits = await fetch(`${c4.ingestUrl}/v1/k8s-events?cluster=eu-1`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify([event('web-7', 99)]),
        });
        expect(fits.status).toBe(200);
        expect((await topicOffsets(kafka, topic4)).reduce((n, o) => n + o, 0)).toBe(1);
      } finally {
        await c4.stop();
      }
    },
  );

  it('takes OTLP/JSON logs from the k8sobjects receiver with the cluster from the resource', async () => {
    const topic3 = uniqueName('collector_otlp');
    const c3 = await startIngestCollector(kafka, { token: TOKEN, topic: topic3, partitions: 1, metrics: 'c3' });
    try {
      const kv = (o: Record<string, unknown>): unknown => ({
        kvlistValue: {
          values: Object.entries(o).map(([key, v]) => ({
            key,
            value:
              typeof v === 'object' && v !== null
                ? kv(v as Record<string, unknown>)
                : typeof v === 'number'
                  ? { intValue: String(v) }
                  : { stringValue: String(v) },
          })),
        },
      });
      const body = {
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: 'us-2' } }] },
            scopeLogs: [
              {
                logRecords: [
                  { body: kv({ type: 'ADDED', object: event('api-1', 1) }) },
                  { body: { stringValue: JSON.stringify(event('api-1', 2)) } },
                ],
              },
            ],
          },
        ],
      };
      const r = await fetch(`${c3.ingestUrl}/v1/logs`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { ...auth, 'content-type': 'application/json' },
      });
      expect(r.status).toBe(200);
      // The same request in protobuf, as the OpenTelemetry Collector's otlphttp exporter sends it by default.
      const proto = await fetch(`${c3.ingestUrl}/v1/logs`, {
        method: 'POST',
        body: Buffer.from(encodeOtlpLogsProtobuf(body)),
        headers: { ...auth, 'content-type': 'application/x-protobuf' },
      });
      expect(proto.status).toBe(200);
      expect(proto.headers.get('content-type')).toMatch(/protobuf/);
      const garbage = await fetch(`${c3.ingestUrl}/v1/logs`, {
        method: 'POST',
        body: Buffer.from([0xff, 0xff, 0xff, 0x01]),
        headers: { ...auth, 'content-type': 'application/x-protobuf' },
      });
      expect(garbage.status).toBe(400);
      const missing = await fetch(`${c3.ingestUrl}/v1/logs`, {
        method: 'POST',
        body: JSON.stringify({
          resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: JSON.stringify(event('x', 1)) } }] }] }],
        }),
        headers: { ...auth, 'content-type': 'application/json' },
      });
      expect(missing.status).toBe(400);
      const clusters = (await readTopic(kafka, topic3, { count: 4 })).map(
        (m) => (JSON.parse(m.value!.toString()) as Envelope).cluster,
      );
      expect(clusters).toEqual(['us-2', 'us-2', 'us-2', 'us-2']);
    } finally {
      await c3.stop();
    }
  });
});
