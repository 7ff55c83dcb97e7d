import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { encodeOtlpLogsProtobuf } from '../../../services/collector/src/ingest/otlp-protobuf.ts';

/** A core/v1 Event; every field can be replaced by a hostile value. */
export interface EventSpec {
  uid: string;
  namespace?: string;
  pod?: string;
  name?: string;
  reason?: string;
  message?: string;
  fieldPath?: string;
  count?: number;
  /** lastTimestamp (ISO); default a minute ago. */
  time?: string;
}

/** The message kubelet writes when an image is not found. */
export const notFound = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image ` +
  `"${image}": failed to resolve reference "${image}": ${image}: not found`;

export function event(s: EventSpec): Record<string, unknown> {
  const namespace = s.namespace ?? 'shop';
  const pod = s.pod ?? `pod-${s.uid}`;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: s.name ?? `ev-${s.uid}`, namespace, uid: s.uid },
    involvedObject: {
      kind: 'Pod',
      name: pod,
      namespace,
      fieldPath: s.fieldPath ?? 'spec.containers{app}',
    },
    reason: s.reason ?? 'Failed',
    message: s.message ?? notFound(`ghcr.io/acme/${pod}:1`),
    type: 'Warning',
    count: s.count ?? 1,
    firstTimestamp: s.time ?? new Date(Date.now() - 60_000).toISOString(),
    lastTimestamp: s.time ?? new Date(Date.now() - 60_000).toISOString(),
    source: { host: 'node-a' },
  };
}

/** The cheapest thing the ingest takes for an Event (not about images: filtered). */
export const tinyEvent = (i: number) => ({ metadata: { uid: `t${i}` }, involvedObject: {} });

export type JsonFormat = 'array' | 'list' | 'ndjson' | 'watch';

/** Events as each JSON body the ingest reads: an array, a kubectl EventList, NDJSON, or NDJSON watch events. */
export function jsonBody(events: unknown[], format: JsonFormat): string {
  switch (format) {
    case 'array':
      return JSON.stringify(events);
    case 'list':
      return JSON.stringify({ apiVersion: 'v1', kind: 'EventList', items: events });
    case 'ndjson':
      return events.map((e) => JSON.stringify(e)).join('\n');
    case 'watch':
      return events.map((e) => JSON.stringify({ type: 'ADDED', object: e })).join('\n');
  }
}

/** `depth` nested arrays, or objects, around `inner`. */
export const nestedArrays = (depth: number, inner = '') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
export const nestedObjects = (depth: number, inner = '1') => `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;

/** An OTLP/JSON ExportLogsServiceRequest: one ResourceLogs per cluster, each Event a log record (JSON text body). */
export function otlpJson(groups: { cluster: string | null; bodies: unknown[] }[]): Record<string, unknown> {
  return {
    resourceLogs: groups.map((g) => ({
      resource: {
        attributes: g.cluster === null ? [] : [{ key: 'k8s.cluster.name', value: { stringValue: g.cluster } }],
      },
      scopeLogs: [{ logRecords: g.bodies.map((b) => ({ body: { stringValue: JSON.stringify(b) } })) }],
    })),
  };
}

const ExportLogsServiceResponse = protobuf
  .loadSync(fileURLToPath(new URL('../../../services/collector/proto/otlp-logs.proto', import.meta.url)))
  .lookupType('opentelemetry.proto.ExportLogsServiceResponse');

/** How many records an OTLP protobuf answer says were refused (0: the empty, all-accepted answer). */
export function protobufRejected(answer: Buffer): number {
  const r = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(answer), { longs: Number }) as {
    partialSuccess?: { rejectedLogRecords?: number };
  };
  return r.partialSuccess?.rejectedLogRecords ?? 0;
}

/** The same request in OTLP protobuf, encoded with the collector's own schema (protobufjs). */
export function otlpProtobuf(groups: { cluster: string | null; bodies: unknown[] }[]): Buffer {
  return Buffer.from(encodeOtlpLogsProtobuf(otlpJson(groups)));
}

// Hand-built protobuf for what the schema's encoder will not write (millions of records, absurd nesting):
// field tags of the OTLP logs messages (field number << 3 | 2, length-delimited).
const LD = (field: number) => (field << 3) | 2;

/** Request → ResourceLogs (with the cluster attribute) → the ScopeLogs field `scopeLogs` writes. */
function protobufEnvelope(cluster: string, scopeLogs: (w: protobuf.Writer) => void): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(LD(1)).fork(); // resource_logs
  w.uint32(LD(1)).fork(); // resource
  w.uint32(LD(1)).fork(); // attributes
  w.uint32(LD(1)).string('k8s.cluster.name');
  w.uint32(LD(2)).fork().uint32(LD(1)).string(cluster).ldelim();
  w.ldelim().ldelim();
  scopeLogs(w);
  w.ldelim();
  return Buffer.from(w.finish());
}

/** `n` empty LogRecords (2 bytes each) in one ScopeLogs: the cheapest records to send, and to count. */
export function protobufEmptyRecords(cluster: string, n: number): Buffer {
  const records = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) records[i * 2] = LD(2); // log_records, length 0
  return protobufEnvelope(cluster, (w) => w.uint32(LD(2)).bytes(records));
}

/** One LogRecord whose body is an AnyValue nested `depth` times (through ArrayValue or KeyValueList). */
export function protobufNestedBody(cluster: string, depth: number, via: 'array' | 'kvlist'): Buffer {
  return protobufEnvelope(cluster, (w) => {
    w.uint32(LD(2)).fork(); // scope_logs
    w.uint32(LD(2)).fork(); // log_records
    w.uint32(LD(5)).fork(); // body: AnyValue
    for (let i = 0; i < depth; i++) {
      if (via === 'array')
        w.uint32(LD(5)).fork().uint32(LD(1)).fork(); // array_value → values
      else w.uint32(LD(6)).fork().uint32(LD(1)).fork().uint32(LD(1)).string('k').uint32(LD(2)).fork(); // kvlist
    }
    w.uint32(LD(1)).string('x');
    for (let i = 0; i < depth; i++) {
      if (via === 'array') w.ldelim().ldelim();
      else w.ldelim().ldelim().ldelim();
    }
    w.ldelim().ldelim().ldelim();
  });
}

/** A deterministic byte stream (no two runs differ). */
export function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
