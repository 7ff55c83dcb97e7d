import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '@pullwatch/event-schema';
import { readTopic } from '@pullwatch/kafka';
import { uniqueName } from '../../../test/support/endpoints.ts';
import type { Collector } from './collector.ts';
import { startIngestCollector, testKafka } from './test-support.ts';

const kafka = testKafka('otlp-official-test');
const TOKEN = 'otlp-official-test-ingest-token';
const topic = uniqueName('otlp_official');
let collector: Collector;

// Every AnyValue kind an Event carries: strings, ints (count), a double, a bool, nested maps and an array.
const event = (i: number) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: {
    name: `web-${i}.17f3`,
    namespace: 'shop',
    uid: `uid-official-${i}`,
    resourceVersion: String(1000 + i),
    labels: { team: 'payments' },
    finalizers: ['a', 'b'],
  },
  involvedObject: {
    kind: 'Pod',
    name: `web-${i}`,
    namespace: 'shop',
    uid: `pod-uid-${i}`,
    fieldPath: 'spec.containers{app}',
  },
  reason: 'Failed',
  message: `Failed to pull image "ghcr.io/acme/web:${i}": rpc error: code = NotFound desc = not found`,
  type: 'Warning',
  count: 3 + i,
  firstTimestamp: '2026-11-24T10:00:00Z',
  lastTimestamp: `2026-11-24T10:0${i}:00Z`,
  source: { component: 'kubelet', host: 'node-a' },
  extra: { ratio: 0.25, synthetic: true },
});

/**
 * An ExportLogsServiceRequest as the OpenTelemetry SDK encodes it, with the generated code of the official
 * opentelemetry-proto definitions inside @opentelemetry/otlp-transformer: not our proto/otlp-logs.proto,
 * so a wrong field number there would decode to something else here.
 */
async function officialRequest(cluster: string, bodies: Record<string, unknown>[]): Promise<Uint8Array> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'k8s.cluster.name': cluster, 'service.name': 'otelcol-k8sobjects' }),
    processors: [new SimpleLogRecordProcessor(exporter)],
  });
  const otelLogger = provider.getLogger('otelcol/k8sobjectsreceiver');
  // The k8sobjects receiver in watch mode: the body is the watch event {type, object} as a map.
  for (const body of bodies) otelLogger.emit({ body: body as never, attributes: { 'event.domain': 'k8s' } });
  await provider.forceFlush();
  const bytes = ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords());
  await provider.shutdown();
  if (!bytes) throw new Error('the OpenTelemetry serializer produced nothing');
  return bytes;
}

beforeAll(async () => {
  collector = await startIngestCollector(kafka, { token: TOKEN, topic, partitions: 1, metrics: 'otlp-official' });
});
afterAll(async () => {
  await collector.stop();
});

describe('OTLP/HTTP protobuf from the official OpenTelemetry encoder', () => {
  it('decodes an SDK-encoded ExportLogsServiceRequest to exactly the Events that were sent', async () => {
    const body = await officialRequest('eu-official', [
      { type: 'ADDED', object: event(1) },
      { type: 'MODIFIED', object: event(2) },
    ]);
    const res = await fetch(`${collector.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-protobuf' },
      body: Buffer.from(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-protobuf/);

    const got = (await readTopic(kafka, topic, { count: 2 })).map((m) => JSON.parse(m.value!.toString()) as Envelope);

    expect(got.map((e) => [e.kind, e.cluster, e.source, e.identity.key])).toEqual([
      ['event', 'eu-official', 'otlp', 'eu-official/uid-official-1/4'],
      ['event', 'eu-official', 'otlp', 'eu-official/uid-official-2/5'],
    ]);
    // Every field as sent: strings, integers, the double, the bool, nested maps and the array.
    expect(got.map((e) => (e.kind === 'event' ? e.event : null))).toEqual([event(1), event(2)]);
  });
});
