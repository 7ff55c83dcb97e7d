import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '@pullwatch/event-schema';
import { readTopic, topicOffsets } from '@pullwatch/kafka';
import { repoRoot } from '@pullwatch/engines';
import { createLogger } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { type ProbeReport, startHttpProbe } from '../../../test/support/http-probe.ts';
import { until } from '../../../test/support/until.ts';

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
/** OTLP/JSON of one log record per Event, each body the Event's JSON text (as the k8sobjects receiver sends). */
const otlpJsonRecords = (events: object[]) =>
  JSON.stringify({
    resourceLogs: [{ scopeLogs: [{ logRecords: events.map((e) => ({ body: { stringValue: JSON.stringify(e) } })) }] }],
  });

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

interface Collector {
  ingestUrl: string;
  stop(): Promise<void>;
}

/**
 * The collector as `pullwatch start` runs it, in a process of its own: a stall of its event loop is its
 * own, not the test's (which builds and sends bodies of megabytes), and the probe measures only it.
 */
async function startCollector(topic: string, env: Record<string, string> = {}): Promise<Collector> {
  const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'collector'], {
    env: {
      ...process.env,
      PULLWATCH_INGEST_TOKEN: TOKEN,
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '2',
      PULLWATCH_LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ingestUrl = await new Promise<string>((resolve, reject) => {
    child.on('message', (m: { type?: string; url?: string }) => {
      if (m.type === 'pullwatch:ready' && m.url) resolve(m.url);
    });
    void exited.then(() => reject(new Error(`the collector exited (${child.exitCode}) before it was ready`)));
  });
  return {
    ingestUrl,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

type Kind = 'k8s' | 'otlp-json' | 'otlp-protobuf';
const post = (collector: Collector, kind: Kind, body: string | Uint8Array) =>
  fetch(`${collector.ingestUrl}${kind === 'k8s' ? '/v1/k8s-events' : '/v1/logs'}?cluster=eu-1`, {
    method: 'POST',
    body,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': kind === 'otlp-protobuf' ? 'application/x-protobuf' : 'application/json',
    },
  });

interface Answer {
  status: number;
  body: unknown;
  retryAfter: string | null;
}
const answerOf = async (r: Response): Promise<Answer> => ({
  status: r.status,
  body: await r.json(),
  retryAfter: r.headers.get('retry-after'),
});
const refusal = (status: number, code: string, message: string, retryAfter: string | null = null): Answer => ({
  status,
  body: { error: { code, message } },
  retryAfter,
});
const accepted = (n: number): Answer => ({
  status: 200,
  body: { accepted: n, filtered: 0, received: n },
  retryAfter: null,
});

const NOTHING = 'nothing of this request was accepted';
const tooLarge = (bytes: number) => refusal(413, 'payload_too_large', `request body over the limit of ${bytes} bytes`);
const tooMany = (what: 'events' | 'log records') =>
  refusal(
    413,
    'too_many_events',
    `more than 5000 ${what} in one request (PULLWATCH_MAX_EVENTS_PER_REQUEST); send them in smaller requests; ${NOTHING}`,
  );
const tooDeep = (what: string, prefix = '') =>
  refusal(400, 'bad_request', `${prefix}${what} nested deeper than 64 levels (PULLWATCH_MAX_JSON_DEPTH); ${NOTHING}`);

/**
 * A request whose body arrives only when `finish` is called (node:http, chunked): in flight until then.
 * `destroy` ends it as a client that goes away does.
 */
function slowRequest(collector: Collector, i: number) {
  const req = request(`${collector.ingestUrl}/v1/k8s-events?cluster=eu-1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(text),
          retryAfter: res.headers['retry-after'] ?? null,
        }),
      );
    });
  });
  req.flushHeaders();
  req.write('[');
  return {
    answer,
    finish: () => req.end(`${JSON.stringify(event(i))}]`),
    destroy: () => {
      answer.catch(() => {});
      req.destroy();
    },
  };
}

const uidsIn = async (topic: string, count: number) =>
  (await readTopic(kafka, topic, { count })).map((m) => (JSON.parse(m.value!.toString()) as Envelope).identity.uid);

/**
 * /healthz and /readyz must keep answering while the ingest is abused: here, among the other integration
 * files running beside it on two cores, within 1 s (before the limits they went unanswered for minutes).
 * The contract's 100 ms is held where nothing else runs: the abuse suite (npm run test:reliability).
 */
const PROBE_LIMIT_MS = 1000;

/** A probe of /healthz and /readyz from a worker thread: the test's own work does not delay its requests. */
function healthProbe(collector: Collector, limitMs = PROBE_LIMIT_MS) {
  const probe = startHttpProbe([`${collector.ingestUrl}/healthz`, `${collector.ingestUrl}/readyz`]);
  /** What the probe saw since the last check: each URL answered 200, some times, within PROBE_LIMIT_MS. */
  const check = async (what: string, report?: ProbeReport) => {
    const seen = report ?? (await probe.take());
    const summary = Object.entries(seen).map(([url, s]) => ({
      url: new URL(url).pathname,
      answered: s.answers > 0,
      bad: s.bad,
      fast: s.maxMs < limitMs,
    }));
    expect(summary, `${what}: ${JSON.stringify(seen)}`).toEqual([
      { url: '/healthz', answered: true, bad: [], fast: true },
      { url: '/readyz', answered: true, bad: [], fast: true },
    ]);
  };
  return { take: probe.take, check, stop: probe.stop };
}

interface Abuse {
  name: string;
  kind: Kind;
  body: string | Uint8Array;
  answer: Answer;
}

describe('ingest limits with the defaults (4 MiB bodies, 5000 events, depth 64, 32 in flight)', () => {
  const topic = uniqueName('limits_default');
  let collector: Collector;
  let probe: ReturnType<typeof healthProbe>;
  /** The uids of every valid event sent: exactly these must be in Kafka at the end. */
  const valid: string[] = [];
  let nextValid = 0;
  const sendValid = async () => {
    const i = nextValid++;
    valid.push(`uid-${i}`);
    return answerOf(await post(collector, 'k8s', JSON.stringify([event(i)])));
  };
  beforeAll(async () => {
    collector = await startCollector(topic);
    probe = healthProbe(collector);
    // A first request compiles the ingest's code paths: the probe measures the abuse, not a cold start.
    expect(await sendValid()).toEqual(accepted(1));
  });
  afterAll(async () => {
    await probe?.stop();
    await collector?.stop();
  });

  // Each abuse the issue names, sent together with a valid event; built before the probe's window starts.
  const abuses: Abuse[] = [
    {
      name: 'an Event whose namespace is 1 MiB: refused alone, by the field limits',
      kind: 'k8s',
      body: JSON.stringify([event(900_000, 'n'.repeat(1 << 20))]),
      answer: {
        status: 200,
        body: {
          accepted: 0,
          filtered: 0,
          received: 1,
          rejected: 1,
          rejections: [
            'item 0: metadata.namespace: longer than 63 characters (1048576), more than a Kubernetes namespace can be',
          ],
        },
        retryAfter: null,
      },
    },
    {
      name: '60,000 events (15 MB): over the body limit',
      kind: 'k8s',
      body: JSON.stringify(Array.from({ length: 60_000 }, (_, i) => event(100_000 + i))),
      answer: tooLarge(4194304),
    },
    {
      name: '60,000 events in 180 KB',
      kind: 'k8s',
      body: `[${Array.from({ length: 60_000 }, () => '{}').join(',')}]`,
      answer: tooMany('events'),
    },
    {
      name: '5,001 events in NDJSON',
      kind: 'k8s',
      body: Array.from({ length: 5001 }, (_, i) => JSON.stringify(event(200_000 + i))).join('\n'),
      answer: tooMany('events'),
    },
    {
      name: '5,001 events in an EventList',
      kind: 'k8s',
      body: JSON.stringify({ kind: 'EventList', items: Array.from({ length: 5001 }, (_, i) => event(300_000 + i)) }),
      answer: tooMany('events'),
    },
    {
      name: '16 MiB OTLP protobuf of empty log records: over the body limit',
      kind: 'otlp-protobuf',
      body: emptyRecordsProtobuf(8 * 1024 * 1024 - 8),
      answer: tooLarge(4194304),
    },
    {
      name: '1.5 MiB OTLP protobuf of 786,000 empty log records',
      kind: 'otlp-protobuf',
      body: emptyRecordsProtobuf(786_000),
      answer: tooMany('log records'),
    },
    {
      name: 'OTLP/JSON of 5,001 log records',
      kind: 'otlp-json',
      body: `{"resourceLogs":[{"scopeLogs":[{"logRecords":[${Array.from({ length: 5001 }, () => '{}').join(',')}]}]}]}`,
      answer: tooMany('log records'),
    },
    { name: 'JSON nested 30,000 deep', kind: 'k8s', body: deepJson(30_000), answer: tooDeep('JSON') },
    {
      name: 'an Event with a field nested 30,000 deep',
      kind: 'k8s',
      body: `${JSON.stringify(event(1)).slice(0, -1)},"extra":${deepJson(30_000)}}`,
      answer: tooDeep('JSON'),
    },
    {
      name: 'NDJSON whose second line is nested 65 deep',
      kind: 'k8s',
      body: `${JSON.stringify(event(2))}\n${deepJson(65)}`,
      answer: tooDeep('JSON'),
    },
    {
      name: 'OTLP/JSON whose body AnyValue nests 30,000 deep',
      kind: 'otlp-json',
      body: otlpJson(deepAnyValue(30_000)),
      answer: tooDeep('JSON'),
    },
    {
      name: 'OTLP/JSON whose string body holds JSON nested 30,000 deep',
      kind: 'otlp-json',
      body: otlpJson(JSON.stringify({ stringValue: deepJson(30_000) })),
      answer: tooDeep('JSON'),
    },
    {
      name: 'OTLP protobuf whose body AnyValue nests 30,000 deep',
      kind: 'otlp-protobuf',
      body: deepProtobuf(30_000),
      answer: tooDeep('protobuf messages'),
    },
    {
      name: 'malformed protobuf (a length past the end)',
      kind: 'otlp-protobuf',
      body: Buffer.from([0x0a, 0x7f, 0x12]),
      answer: refusal(
        400,
        'bad_request',
        `not an OTLP ExportLogsServiceRequest in protobuf (a length runs past the end of its message); ${NOTHING}`,
      ),
    },
  ];

  it.each(abuses)('$name: the exact answer, a valid event alongside stored, /healthz and /readyz quick', async (c) => {
    await probe.take();
    const [abusive, ok] = await Promise.all([post(collector, c.kind, c.body).then(answerOf), sendValid()]);
    await probe.check(c.name);
    expect(abusive).toEqual(c.answer);
    expect(ok).toEqual(accepted(1));
  });

  it('takes 5,000 events in 5,000 distinct namespaces in one body, with /healthz and /readyz quick', async () => {
    const body = JSON.stringify(Array.from({ length: 5000 }, (_, i) => event(400_000 + i, `ns-${i}`)));
    for (let i = 0; i < 5000; i++) valid.push(`uid-${400_000 + i}`);
    await probe.take();
    const [many, ok] = await Promise.all([post(collector, 'k8s', body).then(answerOf), sendValid()]);
    expect(many).toEqual(accepted(5000));
    expect(ok).toEqual(accepted(1));
    await probe.check('5,000 namespaces');
  });

  it('answers 429 with Retry-After: 1 past 32 requests in flight, and frees the slots of finished and abandoned requests', async () => {
    await probe.take();
    const slow = Array.from({ length: 32 }, (_, i) => slowRequest(collector, 600_000 + i));
    // All 32 are being read once another is refused.
    await until(async () => (await post(collector, 'k8s', '[]')).status === 429, '32 requests in flight');
    expect(await answerOf(await post(collector, 'k8s', JSON.stringify([event(599_999)])))).toEqual(
      refusal(
        429,
        'too_many_requests',
        `32 ingest requests are being processed (PULLWATCH_MAX_REQUESTS_IN_FLIGHT); ${NOTHING}, retry later`,
        '1',
      ),
    );
    const metrics = await (await fetch(`${collector.ingestUrl}/metrics`)).text();
    expect(metrics).toMatch(/pullwatch_collector_requests_total\{route="k8s-events",status="429"[^}]*\} [1-9]/);
    // A client that goes away frees its slot.
    slow[31]!.destroy();
    await until(async () => (await post(collector, 'k8s', '[]')).status === 200, 'the abandoned slot to be freed');
    for (const s of slow.slice(0, 31)) s.finish();
    const answers = await Promise.all(slow.slice(0, 31).map((s) => s.answer));
    expect(answers).toEqual(Array.from({ length: 31 }, () => accepted(1)));
    for (let i = 0; i < 31; i++) valid.push(`uid-${600_000 + i}`);
    expect(await sendValid()).toEqual(accepted(1));
    await probe.check('33 requests at once');
  });

  it('stored exactly the valid events, each once', async () => {
    const stored = await uidsIn(topic, valid.length);
    expect(stored.sort()).toEqual([...valid].sort());
    expect((await topicOffsets(kafka, topic)).reduce((a, b) => a + b, 0)).toBe(valid.length);
  });
});

describe('ingest limits: bodies under a 32 MiB body limit reach the parsers', () => {
  const topic = uniqueName('limits_large');
  let collector: Collector;
  let probe: ReturnType<typeof healthProbe>;
  let nextValid = 1_000_000;
  beforeAll(async () => {
    collector = await startCollector(topic, { PULLWATCH_MAX_BODY_BYTES: String(32 * 1024 * 1024) });
    // Bodies of 14-16 MB, 4× what the default limit lets in: reading, decoding and collecting them costs the
    // event loop pauses of up to ~500 ms measured on 2 busy cores (V8's garbage collector, Buffer copies), not
    // the minutes the parsers took before; the contract's 100 ms is held by the abuse suite.
    probe = healthProbe(collector, 2000);
    expect(await answerOf(await post(collector, 'k8s', JSON.stringify([event(nextValid++)])))).toEqual(accepted(1));
  });
  afterAll(async () => {
    await probe?.stop();
    await collector?.stop();
  });

  const abuses: Abuse[] = [
    {
      name: '60,000 events (15 MB)',
      kind: 'k8s',
      body: JSON.stringify(Array.from({ length: 60_000 }, (_, i) => event(i))),
      answer: tooMany('events'),
    },
    {
      name: '16 MiB OTLP protobuf of 8 million empty log records',
      kind: 'otlp-protobuf',
      body: emptyRecordsProtobuf(8 * 1024 * 1024 - 8),
      answer: tooMany('log records'),
    },
    {
      name: 'OTLP/JSON of 60,000 log records (14 MB)',
      kind: 'otlp-json',
      body: otlpJsonRecords(Array.from({ length: 60_000 }, (_, i) => event(i))),
      answer: tooMany('log records'),
    },
  ];

  it.each(abuses)('$name: refused at the cap, with /healthz and /readyz quick', async (c) => {
    await probe.take();
    const [abusive, ok] = await Promise.all([
      post(collector, c.kind, c.body).then(answerOf),
      post(collector, 'k8s', JSON.stringify([event(nextValid++)])).then(answerOf),
    ]);
    await probe.check(c.name);
    expect(abusive).toEqual(c.answer);
    expect(ok).toEqual(accepted(1));
  });

  it('accepts exactly 5,000 events, with /healthz and /readyz quick', async () => {
    const body = JSON.stringify(Array.from({ length: 5000 }, (_, i) => event(700_000 + i)));
    await probe.take();
    expect(await answerOf(await post(collector, 'k8s', body))).toEqual(accepted(5000));
    await probe.check('5,000 events');
    const expected = [
      ...Array.from({ length: abuses.length + 1 }, (_, i) => `uid-${1_000_000 + i}`),
      ...Array.from({ length: 5000 }, (_, i) => `uid-${700_000 + i}`),
    ];
    expect((await uidsIn(topic, expected.length)).sort()).toEqual(expected.sort());
    expect((await topicOffsets(kafka, topic)).reduce((a, b) => a + b, 0)).toBe(expected.length);
  });
});
