import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '@pullwatch/event-schema';
import { readTopic, topicOffsets } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { until } from '../../../test/support/until.ts';
import { loadCollectorConfig } from './config.ts';
import { createCollector, type Collector } from './collector.ts';

// Issue 21: bodies that each stalled the ingest for minutes, or answered 500, get their exact status
// (the hostile-input contract) quickly, while /healthz keeps answering and valid traffic is stored exactly.
const logger = createLogger('ingest-limits-test', 'silent');
const TOKEN = 'ingest-limits-test-token';
const kafka = { brokers: testEndpoints().kafka.brokers, clientId: 'ingest-limits-test', logger };

const event = (i: number, namespace = 'shop', name = `web-${i % 3}`) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `e${i}`, namespace, uid: `uid-${i}` },
  involvedObject: { kind: 'Pod', name, namespace },
  reason: 'Failed',
  message: `Failed to pull image "nginx:${i}": not found`,
  count: 1,
});
const deepJson = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepAnyValue = (depth: number) =>
  `${'{"kvlistValue":{"values":[{"key":"k","value":'.repeat(depth)}{"stringValue":"x"}${'}]}}'.repeat(depth)}`;
const otlpJson = (body: string) => `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${body}}]}]}]}`;

/** An ExportLogsServiceRequest of `n` empty LogRecords, written by hand: 2 bytes each. */
function emptyRecordsProtobuf(n: number): Buffer {
  const lengthPrefixed = (tag: number, payload: Buffer) => {
    const len: number[] = [];
    for (let v = payload.length; ; v = Math.floor(v / 128)) {
      len.push(v >= 128 ? (v % 128) | 0x80 : v);
      if (v < 128) break;
    }
    return Buffer.concat([Buffer.from([tag, ...len]), payload]);
  };
  const records = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) records[2 * i] = 0x12; // ScopeLogs.log_records, length 0
  return lengthPrefixed(0x0a, lengthPrefixed(0x12, records)); // resource_logs { scope_logs { … } }
}

/**
 * An ExportLogsServiceRequest whose one LogRecord's body is AnyValues nested `depth` deep (kvlist_value →
 * values → value → kvlist_value …), written by hand: every level is a prefix before the level inside it.
 */
function deepProtobuf(depth: number): Buffer {
  const varint = (v: number) => {
    const out: number[] = [];
    for (; v >= 128; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
    out.push(v);
    return out;
  };
  const innermost = [0x0a, 0x01, 0x78]; // AnyValue { string_value: "x" }
  let size = innermost.length;
  const prefixes: number[][] = [];
  const wrap = (head: number[]) => {
    const prefix = [...head, ...varint(size)];
    size += prefix.length;
    prefixes.push(prefix);
  };
  for (let i = 0; i < depth; i++) {
    wrap([0x0a, 0x01, 0x6b, 0x12]); // KeyValue { key: "k", value: … }
    wrap([0x0a]); // KeyValueList { values: … }
    wrap([0x32]); // AnyValue { kvlist_value: … }
  }
  for (const tag of [0x2a, 0x12, 0x12, 0x0a]) wrap([tag]); // LogRecord.body, log_records, scope_logs, resource_logs
  return Buffer.from([...prefixes.reverse().flat(), ...innermost]);
}

function startCollector(topic: string, env: Record<string, string> = {}): Promise<Collector> {
  const collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_TOKEN: TOKEN,
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '2',
      ...env,
    }),
    { logger, metrics: createMetricsRegistry(uniqueName('il')), kafka },
  );
  return collector.start().then(() => collector);
}

type Kind = 'k8s' | 'otlp-json' | 'otlp-protobuf';
const post = (collector: Collector, kind: Kind, body: string | Uint8Array, init: RequestInit = {}) =>
  fetch(`${collector.ingestUrl}${kind === 'k8s' ? '/v1/k8s-events' : '/v1/logs'}?cluster=eu-1`, {
    method: 'POST',
    body,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': kind === 'otlp-protobuf' ? 'application/x-protobuf' : 'application/json',
    },
    ...init,
  });

/** Polls /healthz back to back while `work` runs; the slowest answer. */
async function healthzWhile<T>(collector: Collector, work: () => Promise<T>): Promise<{ result: T; maxMs: number }> {
  let done = false;
  let maxMs = 0;
  let answers = 0;
  const poll = (async () => {
    while (!done) {
      const t0 = performance.now();
      const r = await fetch(`${collector.ingestUrl}/healthz`);
      expect(r.status).toBe(200);
      await r.text();
      maxMs = Math.max(maxMs, performance.now() - t0);
      answers += 1;
    }
  })();
  const result = await work();
  done = true;
  await poll;
  expect(answers).toBeGreaterThan(0);
  return { result, maxMs };
}

async function errorOf(r: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await r.json()) as { error: { code: string; message: string } };
  return { status: r.status, code: body.error.code, message: body.error.message };
}

describe('ingest limits with the defaults (4 MiB bodies, 5000 events, depth 64)', () => {
  const topic = uniqueName('limits_default');
  let collector: Collector;
  beforeAll(async () => {
    collector = await startCollector(topic);
  });
  afterAll(async () => {
    await collector.stop();
  });

  it('answers each abusive body with its exact status and code, and stores only the valid events', async () => {
    const cases: { name: string; kind: Kind; body: string | Uint8Array; status: number; code: string; says: string }[] =
      [
        {
          name: '60,000 events (15 MB)',
          kind: 'k8s',
          body: JSON.stringify(Array.from({ length: 60_000 }, (_, i) => event(100_000 + i))),
          status: 413,
          code: 'payload_too_large',
          says: 'request body over the limit of 4194304 bytes',
        },
        {
          name: '60,000 minimal events in 180 KB',
          kind: 'k8s',
          body: `[${Array.from({ length: 60_000 }, () => '{}').join(',')}]`,
          status: 413,
          code: 'too_many_events',
          says: 'more than 5000 events in one request',
        },
        {
          name: '5,001 events in NDJSON',
          kind: 'k8s',
          body: Array.from({ length: 5001 }, (_, i) => JSON.stringify(event(200_000 + i))).join('\n'),
          status: 413,
          code: 'too_many_events',
          says: 'more than 5000 events in one request',
        },
        {
          name: '5,001 events in an EventList',
          kind: 'k8s',
          body: JSON.stringify({
            kind: 'EventList',
            items: Array.from({ length: 5001 }, (_, i) => event(300_000 + i)),
          }),
          status: 413,
          code: 'too_many_events',
          says: 'more than 5000 events in one request',
        },
        {
          name: '16 MiB protobuf of empty log records',
          kind: 'otlp-protobuf',
          body: emptyRecordsProtobuf(8 * 1024 * 1024 - 8),
          status: 413,
          code: 'payload_too_large',
          says: 'request body over the limit of 4194304 bytes',
        },
        {
          name: '1.5 MiB protobuf of 786,000 empty log records',
          kind: 'otlp-protobuf',
          body: emptyRecordsProtobuf(786_000),
          status: 413,
          code: 'too_many_events',
          says: 'more than 5000 log records in one request',
        },
        {
          name: 'OTLP/JSON of 5,001 log records',
          kind: 'otlp-json',
          body: `{"resourceLogs":[{"scopeLogs":[{"logRecords":[${Array.from({ length: 5001 }, () => '{}').join(',')}]}]}]}`,
          status: 413,
          code: 'too_many_events',
          says: 'more than 5000 log records in one request',
        },
        {
          name: 'JSON nested 30,000 deep',
          kind: 'k8s',
          body: deepJson(30_000),
          status: 400,
          code: 'bad_request',
          says: 'nested deeper than 64',
        },
        {
          name: 'an Event with a field nested 20,000 deep',
          kind: 'k8s',
          body: `${JSON.stringify(event(1)).slice(0, -1)},"extra":${deepJson(20_000)}}`,
          status: 400,
          code: 'bad_request',
          says: 'nested deeper than 64',
        },
        {
          name: 'NDJSON whose second line is nested 65 deep',
          kind: 'k8s',
          body: `${JSON.stringify(event(2))}\n${deepJson(65)}`,
          status: 400,
          code: 'bad_request',
          says: 'nested deeper than 64',
        },
        {
          name: 'OTLP/JSON body nested 20,000 deep',
          kind: 'otlp-json',
          body: otlpJson(deepAnyValue(20_000)),
          status: 400,
          code: 'bad_request',
          says: 'nested deeper than 64',
        },
        {
          name: 'OTLP/JSON string body holding JSON nested 30,000 deep',
          kind: 'otlp-json',
          body: otlpJson(JSON.stringify({ stringValue: deepJson(30_000) })),
          status: 400,
          code: 'bad_request',
          says: 'nested deeper than 64',
        },
        {
          name: 'OTLP protobuf nested 20,000 deep',
          kind: 'otlp-protobuf',
          body: deepProtobuf(20_000),
          status: 400,
          code: 'bad_request',
          says: 'nested deeper than 64',
        },
        {
          name: 'malformed protobuf (a length past the end)',
          kind: 'otlp-protobuf',
          body: Buffer.from([0x0a, 0x7f, 0x12]),
          status: 400,
          code: 'bad_request',
          says: 'not an OTLP ExportLogsServiceRequest in protobuf',
        },
      ];
    const valid: string[] = [];
    for (const [n, c] of cases.entries()) {
      const t0 = performance.now();
      const got = await errorOf(await post(collector, c.kind, c.body));
      const ms = performance.now() - t0;
      expect({ case: c.name, status: got.status, code: got.code }).toEqual({
        case: c.name,
        status: c.status,
        code: c.code,
      });
      expect(got.message, c.name).toContain(c.says);
      expect(ms, `${c.name} answered in ${ms.toFixed(0)} ms`).toBeLessThan(10_000);
      // A valid request after each abusive one: still accepted.
      const ok = await post(collector, 'k8s', JSON.stringify([event(n)]));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ accepted: 1, filtered: 0, received: 1 });
      valid.push(`uid-${n}`);
    }
    const stored = (await readTopic(kafka, topic, { count: valid.length })).map(
      (m) => (JSON.parse(m.value!.toString()) as Envelope).identity.uid,
    );
    expect(stored.sort()).toEqual(valid.sort());
    expect((await topicOffsets(kafka, topic)).reduce((a, b) => a + b, 0)).toBe(valid.length);
  });

  it('takes 5,000 events in distinct namespaces, and a 1 MiB namespace, in linear time', async () => {
    const many = await post(
      collector,
      'k8s',
      JSON.stringify(Array.from({ length: 5000 }, (_, i) => event(400_000 + i, `ns-${i}`))),
    );
    expect(await many.json()).toEqual({ accepted: 5000, filtered: 0, received: 5000 });
    // Before the fix the Kafka partitioner's hash of a 1 MiB key alone took minutes.
    const t0 = performance.now();
    const long = await post(collector, 'k8s', JSON.stringify([event(500_000, 'n'.repeat(1 << 20))]));
    expect(long.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('ingest limits: bodies past the size limit reach the parsers', () => {
  const topic = uniqueName('limits_large');
  let collector: Collector;
  beforeAll(async () => {
    collector = await startCollector(topic, { PULLWATCH_MAX_BODY_BYTES: String(32 * 1024 * 1024) });
  });
  afterAll(async () => {
    await collector.stop();
  });

  it('refuses 60,000 events and a 16 MiB protobuf of empty records while /healthz answers within 100 ms', async () => {
    const body = JSON.stringify(Array.from({ length: 60_000 }, (_, i) => event(i)));
    const events = await healthzWhile(collector, () => post(collector, 'k8s', body).then(errorOf));
    expect(events.result).toEqual({
      status: 413,
      code: 'too_many_events',
      message:
        'more than 5000 events in one request (PULLWATCH_MAX_EVENTS_PER_REQUEST); send them in smaller requests; ' +
        'nothing of this request was accepted',
    });
    const records = await healthzWhile(collector, () =>
      post(collector, 'otlp-protobuf', emptyRecordsProtobuf(8 * 1024 * 1024 - 8)).then(errorOf),
    );
    expect(records.result).toMatchObject({ status: 413, code: 'too_many_events' });
    expect(records.result.message).toContain('more than 5000 log records in one request');
    expect({ events: events.maxMs < 100, records: records.maxMs < 100 }, JSON.stringify([events, records])).toEqual({
      events: true,
      records: true,
    });
  });

  it('accepts exactly 5,000 events, with /healthz answering meanwhile', async () => {
    const body = JSON.stringify(Array.from({ length: 5000 }, (_, i) => event(700_000 + i)));
    const { result } = await healthzWhile(collector, () => post(collector, 'k8s', body));
    expect(await result.json()).toEqual({ accepted: 5000, filtered: 0, received: 5000 });
  });
});

describe('ingest limits: requests in flight', () => {
  const topic = uniqueName('limits_inflight');
  let collector: Collector;
  beforeAll(async () => {
    collector = await startCollector(topic, { PULLWATCH_MAX_REQUESTS_IN_FLIGHT: '2' });
  });
  afterAll(async () => {
    await collector.stop();
  });

  /** A request whose body arrives only when `finish` is called: in flight until then. */
  function slowRequest(i: number) {
    let finish!: () => void;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('['));
        finish = () => {
          controller.enqueue(new TextEncoder().encode(`${JSON.stringify(event(i))}]`));
          controller.close();
        };
      },
    });
    const response = post(collector, 'k8s', stream as unknown as string, { duplex: 'half' } as RequestInit);
    return { response, finish: () => finish() };
  }
  const metrics = async () => (await fetch(`${collector.ingestUrl}/metrics`)).text();

  it('answers 429 with Retry-After: 1 past PULLWATCH_MAX_REQUESTS_IN_FLIGHT, and takes requests again once they end', async () => {
    const a = slowRequest(1);
    const b = slowRequest(2);
    // Both slow requests are being read once another is refused.
    await until(async () => (await post(collector, 'k8s', '[]')).status === 429, 'two requests in flight');
    const refused = await post(collector, 'k8s', JSON.stringify([event(3)]));
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await errorOf(refused)).toEqual({
      status: 429,
      code: 'too_many_requests',
      message:
        '2 ingest requests are being processed (PULLWATCH_MAX_REQUESTS_IN_FLIGHT); nothing of this request was ' +
        'accepted, retry later',
    });
    expect(await metrics()).toMatch(/pullwatch_collector_requests_total\{route="k8s-events",status="429"\} [1-9]/);
    a.finish();
    b.finish();
    expect((await a.response).status).toBe(200);
    expect((await b.response).status).toBe(200);
    const after = await post(collector, 'k8s', JSON.stringify([event(4)]));
    expect(await after.json()).toEqual({ accepted: 1, filtered: 0, received: 1 });
    const uids = (await readTopic(kafka, topic, { count: 3 })).map(
      (m) => (JSON.parse(m.value!.toString()) as Envelope).identity.uid,
    );
    expect(uids.sort()).toEqual(['uid-1', 'uid-2', 'uid-4']);
  });

  it('frees the slot of a request whose client went away', async () => {
    const controller = new AbortController();
    const a = slowRequest(10);
    const gone = post(
      collector,
      'k8s',
      new ReadableStream() as unknown as string,
      {
        duplex: 'half',
        signal: controller.signal,
      } as RequestInit,
    ).catch(() => 'aborted');
    await until(async () => (await post(collector, 'k8s', '[]')).status === 429, 'two requests in flight');
    controller.abort();
    expect(await gone).toBe('aborted');
    await until(
      async () => (await post(collector, 'k8s', '[]')).status === 200,
      'the aborted request to free its slot',
    );
    a.finish();
    expect((await a.response).status).toBe(200);
  });
});
