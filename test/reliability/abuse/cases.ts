/**
 * The abuse suite's cases (issue 21, item 8), generated from tables: input generators × the answer the hostile-input
 * contract gives them (/tmp/iss/CONTRACT-21.md, kept in docs as the collector's and the API's documented limits).
 * Nothing here talks to a server: the suite (../abuse.rel.test.ts) sends each case and checks its answer.
 */
import { V1_ROUTES } from '../../../services/query-api/src/test-support/api.ts';
import { encodeOtlpLogsProtobuf as encodeRaw } from '../../../services/collector/src/ingest/otlp-protobuf.ts';
import {
  bytes,
  event,
  type EventSpec,
  type JsonFormat,
  jsonBody,
  nestedArrays,
  nestedObjects,
  notFound,
  otlpJson,
  otlpProtobuf,
  protobufEmptyRecords,
  protobufNestedBody,
  tinyEvent,
} from './bodies.ts';

/** The contract's defaults: the suite runs the services with default settings, so these are what it must see. */
export const LIMITS = {
  bodyBytes: 4 * 1024 * 1024,
  eventsPerRequest: 5000,
  jsonDepth: 64,
  requestsInFlight: 32,
  nameChars: 253,
  namespaceChars: 63,
  clusterChars: 128,
  fieldPathChars: 1024,
  imageChars: 4096,
  messageChars: 8192,
  reasonChars: 128,
  count: 2 ** 31 - 1,
} as const;

const MiB = 1 << 20;

/** Clusters the cases send to, so the final counts can tell each kind of traffic apart. */
export const CLUSTER = {
  /** Hostile events the ingest must take (bounded): their stored fields are checked against the caps. */
  capped: 'abuse-capped',
  /** The regex bombs. */
  bombs: 'abuse-bombs',
  /** The partition bombs (110 months in one request) and their canary. */
  partitions: 'abuse-partitions',
  /** Cases whose events are all filtered or refused: nothing may be stored for it. */
  refused: 'abuse-refused',
  /** 5000 namespaces in one request: accepted, all stored. */
  namespaces: 'abuse-namespaces',
  /** The watched cluster (the fake API server's context). */
  watch: 'abuse-watch',
  /** Valid traffic, interleaved throughout. */
  valid: 'abuse-valid',
  /** Events whose namespaces are spreadsheet formulas (CSV export). */
  csv: 'abuse-csv',
  /** The canary after the regex bombs. */
  canary: 'abuse-canary',
} as const;

export type IngestSurface = 'http-json' | 'replay' | 'otlp-json' | 'otlp-protobuf';
export type Surface = IngestSurface | 'watch' | 'query-api';

/** The answer a case must get: the status, and for errors the contract's code (and what its message names). */
export interface Expected {
  status: number;
  code?: string;
  message?: RegExp;
  /** For a 200 of the JSON routes: the counts of the answer (exact). */
  counts?: { accepted: number; filtered: number; received: number; rejected?: number };
  /** Headers the answer must carry (exact values, case-insensitive names). */
  headers?: Record<string, string>;
  /**
   * For a 200 of OTLP: how many records the answer says were refused (an OTLP partial success); 0 or absent: the
   * empty ExportLogsServiceResponse.
   */
  otlpRejected?: number;
}

export interface IngestCase {
  surface: IngestSurface;
  name: string;
  /** Path and query on the collector. */
  path: string;
  contentType: string;
  body: () => Buffer | string;
  /** Sent with Transfer-Encoding: chunked (no Content-Length to refuse up front). */
  chunked?: boolean;
  /** Authorization header: the ingest token (default), none, or another value as is. */
  auth?: 'token' | 'none' | string;
  expect: Expected;
  /** Events of this case that end up stored (in raw_events), by cluster. */
  stores?: { cluster: string; events: number };
}

const JSON_TYPE = 'application/json';
const PB_TYPE = 'application/x-protobuf';

const k8s = (cluster: string, extra = '') => `/v1/k8s-events?cluster=${encodeURIComponent(cluster)}${extra}`;
const replay = (cluster: string) => k8s(cluster, '&source=replay');

// The contract's answers.
const tooLarge: Expected = {
  status: 413,
  code: 'payload_too_large',
  message: new RegExp(`\\b${LIMITS.bodyBytes}\\b`),
};
const tooMany: Expected = {
  status: 413,
  code: 'too_many_events',
  message: new RegExp(`more than ${LIMITS.eventsPerRequest} .*in one request`),
};
const tooDeep: Expected = {
  status: 400,
  code: 'bad_request',
  message: new RegExp(`nested deeper than ${LIMITS.jsonDepth}`),
};
const malformed: Expected = { status: 400, code: 'bad_request' };
const badCluster: Expected = { status: 400, code: 'bad_parameter', message: /cluster/ };
const unauthorized: Expected = { status: 401, code: 'unauthorized' };
const accepted = (n: number, filtered = 0): Expected => ({
  status: 200,
  counts: { accepted: n, filtered, received: n + filtered },
});
/**
 * A request with `valid` good events and `invalid` events over a name cap: the invalid ones are rejected and counted
 * in the answer, the rest accepted (contract: "counted as rejected in the response, not a 5xx").
 */
const partlyRejected = (valid: number, invalid: number): Expected => ({
  status: 200,
  counts: { accepted: valid, filtered: 0, received: valid + invalid, rejected: invalid },
});
const otlpOk: Expected = { status: 200, otlpRejected: 0 };
const otlpPartly = (rejected: number): Expected => ({ status: 200, otlpRejected: rejected });

// ---------------------------------------------------------------------------------------------------------------
// Regex bombs: 1 MiB of text built to make a backtracking pattern quadratic, one per pattern that reads text from
// outside (packages/classifier/src/extract.ts, message-kind.ts, event-schema's containerOf, isImageEvent).

export interface Bomb {
  name: string;
  /** Where the text goes: the message, or involvedObject.fieldPath. */
  field: 'message' | 'fieldPath';
  text: () => string;
}

const fill = (unit: string, bytesWanted = MiB) => unit.repeat(Math.ceil(bytesWanted / unit.length));

export const BOMBS: Bomb[] = [
  { name: '": not found" finder, slashes', field: 'message', text: () => `": not found a${'/'.repeat(MiB)}` },
  { name: '": not found" finder, repeated', field: 'message', text: () => fill('a/b: not founc ') },
  { name: 'prohibited by policy, parens', field: 'message', text: () => `prohibited by policy: ${'('.repeat(MiB)}` },
  { name: 'prohibited by policy, repeated', field: 'message', text: () => fill('prohibited by policy: (a) x') },
  { name: 'Error pulling image (', field: 'message', text: () => `Error pulling image (${'('.repeat(MiB)}` },
  { name: 'Error pulling image (, repeated', field: 'message', text: () => fill('Error pulling image (') },
  { name: 'failed to pull image ", unclosed', field: 'message', text: () => fill('Failed to pull image "') },
  // A quarter MiB of backslashes: JSON doubles them, and OTLP JSON's string body doubles them again.
  { name: 'image \\" escapes', field: 'message', text: () => `Failed to pull image \\"${'\\'.repeat(MiB / 4)}` },
  { name: 'initializing source docker://', field: 'message', text: () => fill('initializing source docker://a') },
  { name: 'pull access denied, no comma', field: 'message', text: () => fill('pull access denied for a') },
  { name: 'manifest for … not found', field: 'message', text: () => fill(`manifest for ${'a'.repeat(61)} `) },
  { name: 'repository … not found', field: 'message', text: () => fill(`repository ${'a'.repeat(63)} `) },
  { name: 'fetching manifest', field: 'message', text: () => `fetching manifest ${'a'.repeat(MiB)}` },
  { name: 'Error pulling, no colon', field: 'message', text: () => fill('Error pulling a') },
  { name: 'pinging docker registry', field: 'message', text: () => fill('pinging docker registry a') },
  { name: 'reading manifest … in', field: 'message', text: () => fill('reading manifest a in ') },
  { name: 'host/path: failed to', field: 'message', text: () => `${'a/'.repeat(MiB / 2)} : failed to ` },
  { name: 'registry API URLs', field: 'message', text: () => fill('https://a') },
  { name: 'lookup host', field: 'message', text: () => `lookup ${'a.'.repeat(MiB / 2)}!` },
  { name: "couldn't parse image reference", field: 'message', text: () => fill('couldn\'t parse image reference "') },
  { name: 'no such image', field: 'message', text: () => fill('no such image: a') },
  { name: 'placeholders <…>', field: 'message', text: () => '<'.repeat(MiB) },
  { name: 'astral characters', field: 'message', text: () => '🙂'.repeat(MiB / 2) },
  { name: 'containerOf, unclosed braces', field: 'fieldPath', text: () => fill('spec.containers{') },
  { name: 'containerOf, braces', field: 'fieldPath', text: () => `spec.containers{${'{'.repeat(MiB)}` },
];

/** An Event carrying a bomb, about images (so it is classified, not filtered). */
export function bombEvent(b: Bomb, uid: string): Record<string, unknown> {
  const spec: EventSpec = { uid, namespace: 'bombs', pod: `pod-${uid}` };
  // "ErrImagePull" marks a Failed event as about images without adding any pattern's gate.
  if (b.field === 'message') spec.message = `ErrImagePull: ${b.text()}`;
  else spec.fieldPath = b.text();
  return event(spec);
}

const bombCases = (): IngestCase[] => {
  const out: IngestCase[] = [];
  BOMBS.forEach((b, i) => {
    out.push({
      surface: 'http-json',
      name: `regex bomb: ${b.name}`,
      path: k8s(CLUSTER.bombs),
      contentType: JSON_TYPE,
      body: () => jsonBody([bombEvent(b, `bomb-http-${i}`)], 'array'),
      expect: accepted(1),
      stores: { cluster: CLUSTER.bombs, events: 1 },
    });
  });
  // The other carriers: every fourth bomb each, so every pattern is sent at least twice.
  BOMBS.forEach((b, i) => {
    const carrier = (['replay', 'otlp-json', 'otlp-protobuf'] as const)[i % 3]!;
    const ev = () => bombEvent(b, `bomb-${carrier}-${i}`);
    const groups = () => [{ cluster: CLUSTER.bombs, bodies: [ev()] }];
    out.push({
      surface: carrier,
      name: `regex bomb: ${b.name}`,
      path: carrier === 'replay' ? replay(CLUSTER.bombs) : '/v1/logs',
      contentType: carrier === 'otlp-protobuf' ? PB_TYPE : JSON_TYPE,
      body:
        carrier === 'replay'
          ? () => jsonBody([ev()], 'list')
          : carrier === 'otlp-json'
            ? () => JSON.stringify(otlpJson(groups()))
            : () => otlpProtobuf(groups()),
      expect: carrier === 'replay' ? accepted(1) : otlpOk,
      stores: { cluster: CLUSTER.bombs, events: 1 },
    });
  });
  return out;
};

// ---------------------------------------------------------------------------------------------------------------
// Partition bombs: one request of 110 events whose times fall in 110 different months (100 back, 10 ahead), all of
// one Pod, so they share a Kafka partition with the canary sent after them.

export const PARTITION_POD = { namespace: 'partitions', pod: 'web-0' };

export function monthsEvents(prefix: string, n = 110): Record<string, unknown>[] {
  const now = new Date();
  return Array.from({ length: n }, (_, i) => {
    const monthsBack = i < 100 ? i + 1 : -(i - 99);
    const t = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 15, 12));
    return event({
      uid: `${prefix}-${i}`,
      namespace: PARTITION_POD.namespace,
      pod: PARTITION_POD.pod,
      message: notFound(`ghcr.io/acme/partitions:${prefix}-${i}`),
      time: t.toISOString(),
    });
  });
}

export const partitionCases = (): IngestCase[] => [
  {
    surface: 'http-json',
    name: 'partition bomb: 110 months in one JSON array',
    path: k8s(CLUSTER.partitions),
    contentType: JSON_TYPE,
    body: () => jsonBody(monthsEvents('months-http'), 'array'),
    expect: accepted(110),
    stores: { cluster: CLUSTER.partitions, events: 110 },
  },
  {
    surface: 'replay',
    name: 'partition bomb: an old kubectl dump replayed (110 months)',
    path: replay(CLUSTER.partitions),
    contentType: JSON_TYPE,
    body: () => jsonBody(monthsEvents('months-replay'), 'list'),
    expect: accepted(110),
    stores: { cluster: CLUSTER.partitions, events: 110 },
  },
  {
    surface: 'otlp-protobuf',
    name: 'partition bomb: 110 months in one OTLP protobuf request',
    path: '/v1/logs',
    contentType: PB_TYPE,
    body: () => otlpProtobuf([{ cluster: CLUSTER.partitions, bodies: monthsEvents('months-otlp') }]),
    expect: otlpOk,
    stores: { cluster: CLUSTER.partitions, events: 110 },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// The HTTP ingest: JSON routes and the replay format.

const OVER = [LIMITS.bodyBytes + 1, Math.floor(LIMITS.bodyBytes * 1.5), LIMITS.bodyBytes * 4];

/** A body of exactly `size` bytes in one of the shapes a client would send. */
function sized(shape: 'padded-json' | 'bytes' | 'ndjson', size: number, seed: number): Buffer {
  if (shape === 'bytes') return bytes(size, seed);
  if (shape === 'ndjson') {
    const line = `${JSON.stringify(tinyEvent(seed))}\n`;
    return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
  }
  // A valid one-Event array, padded with whitespace to the size.
  const json = JSON.stringify([tinyEvent(seed)]);
  return Buffer.from(`${json.slice(0, -1)}${' '.repeat(Math.max(0, size - json.length))}]`);
}

const TYPES: Record<'padded-json' | 'bytes' | 'ndjson', string> = {
  'padded-json': JSON_TYPE,
  bytes: 'application/octet-stream',
  ndjson: 'application/x-ndjson',
};

function httpJsonCases(): IngestCase[] {
  const out: IngestCase[] = [];
  const add = (c: Omit<IngestCase, 'surface'>) => out.push({ surface: 'http-json', ...c });

  // Bodies over the limit: refused by size, whether the size is declared or only seen while reading.
  for (const size of OVER)
    for (const shape of ['padded-json', 'bytes', 'ndjson'] as const)
      for (const chunked of [false, true])
        add({
          name: `body of ${size} bytes (${shape}, ${chunked ? 'chunked' : 'Content-Length'})`,
          path: k8s(CLUSTER.refused),
          contentType: TYPES[shape],
          chunked,
          body: () => sized(shape, size, size),
          expect: tooLarge,
        });
  // At the limit: taken.
  add({
    name: `body of exactly ${LIMITS.bodyBytes} bytes`,
    path: k8s(CLUSTER.refused),
    contentType: JSON_TYPE,
    body: () => sized('padded-json', LIMITS.bodyBytes, 1),
    expect: accepted(0, 1),
  });

  // Events per request, in every JSON shape the route reads.
  for (const format of ['array', 'list', 'ndjson', 'watch'] as const) {
    for (const n of [LIMITS.eventsPerRequest + 1, 10_000, 60_000])
      add({
        name: `${n} events in one body (${format})`,
        path: k8s(CLUSTER.refused),
        contentType: JSON_TYPE,
        body: () =>
          jsonBody(
            Array.from({ length: n }, (_, i) => tinyEvent(i)),
            format,
          ),
        // Wrapped as watch lines, 60,000 events are over the body limit, which is checked first.
        expect: n === 60_000 && format === 'watch' ? tooLarge : tooMany,
      });
    add({
      name: `${LIMITS.eventsPerRequest} events in one body (${format}), at the cap`,
      path: k8s(CLUSTER.refused),
      contentType: JSON_TYPE,
      body: () =>
        jsonBody(
          Array.from({ length: LIMITS.eventsPerRequest }, (_, i) => tinyEvent(i)),
          format,
        ),
      expect: accepted(0, LIMITS.eventsPerRequest),
    });
  }
  add({
    name: `${LIMITS.eventsPerRequest} distinct namespaces in one body`,
    path: k8s(CLUSTER.namespaces),
    contentType: JSON_TYPE,
    body: () =>
      jsonBody(
        Array.from({ length: LIMITS.eventsPerRequest }, (_, i) => event({ uid: `ns-${i}`, namespace: `ns-${i}` })),
        'array',
      ),
    expect: accepted(LIMITS.eventsPerRequest),
    stores: { cluster: CLUSTER.namespaces, events: LIMITS.eventsPerRequest },
  });
  add({
    name: `${LIMITS.eventsPerRequest + 1} distinct namespaces in one body`,
    path: k8s(CLUSTER.refused),
    contentType: JSON_TYPE,
    body: () =>
      jsonBody(
        Array.from({ length: LIMITS.eventsPerRequest + 1 }, (_, i) => event({ uid: `nx-${i}`, namespace: `nx-${i}` })),
        'array',
      ),
    expect: tooMany,
  });

  // Nesting, checked while parsing (never by recursion): bare, around an Event's field, and on an NDJSON line.
  const deep = LIMITS.jsonDepth + 2;
  for (const depth of [deep, 100, 1000, 20_000, 200_000]) {
    add({
      name: `arrays nested ${depth} deep`,
      path: k8s(CLUSTER.refused),
      contentType: JSON_TYPE,
      body: () => nestedArrays(depth),
      expect: tooDeep,
    });
    add({
      name: `objects nested ${depth} deep`,
      path: k8s(CLUSTER.refused),
      contentType: JSON_TYPE,
      body: () => nestedObjects(depth),
      expect: tooDeep,
    });
    add({
      name: `an Event's label nested ${depth} deep`,
      path: k8s(CLUSTER.refused),
      contentType: JSON_TYPE,
      body: () => {
        const ev = JSON.stringify(event({ uid: `deep-${depth}` }));
        return `[${ev.replace('"metadata":{', `"metadata":{"labels":${nestedObjects(depth)},`)}]`;
      },
      expect: tooDeep,
    });
    add({
      name: `NDJSON line 2 nested ${depth} deep`,
      path: k8s(CLUSTER.refused),
      contentType: 'application/x-ndjson',
      body: () => `${JSON.stringify(tinyEvent(1))}\n${nestedArrays(depth)}\n${JSON.stringify(tinyEvent(2))}`,
      expect: tooDeep,
    });
  }

  // Malformed and invalid bodies: 400, nothing accepted (unchanged).
  const invalid: [string, () => string | Buffer][] = [
    ['truncated JSON', () => '[{"kind":'],
    ['random bytes', () => bytes(4096, 7)],
    [
      'invalid UTF-8 in a string',
      () =>
        Buffer.concat([
          Buffer.from('[{"metadata":{"name":"'),
          Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
          Buffer.from('"}}]'),
        ]),
    ],
    ['single quotes', () => "[{'metadata':{}}]"],
    ['a NaN literal', () => '[{"metadata":{},"involvedObject":{},"count":NaN}]'],
    ['an array of numbers', () => '[1,2,3]'],
    ['an array of null', () => '[null]'],
    ['an Event without involvedObject', () => '[{"metadata":{}}]'],
    ['a Pod posted as an Event', () => '[{"kind":"Pod","metadata":{},"involvedObject":{}}]'],
    ['a non-integer count', () => JSON.stringify([{ ...event({ uid: 'frac' }), count: 1.5 }])],
    ['a count as a string', () => JSON.stringify([{ ...event({ uid: 'strcount' }), count: '1' }])],
    ['a name that is a number', () => '[{"metadata":{"name":1},"involvedObject":{}}]'],
    ['a watch ERROR event', () => '{"type":"ERROR","object":{"kind":"Status","code":410}}'],
    ['NDJSON with line 3 broken', () => `${JSON.stringify(tinyEvent(1))}\n${JSON.stringify(tinyEvent(2))}\n{"x":`],
    ['a lone quote', () => '"'],
  ];
  for (const [name, body] of invalid)
    add({ name, path: k8s(CLUSTER.refused), contentType: JSON_TYPE, body, expect: malformed });

  // The cluster parameter: the existing rule (letters, digits, ".", "_", "-"; at most 128).
  const clusters: [string, string, Expected][] = [
    ['no cluster', '/v1/k8s-events', badCluster],
    [`a cluster of ${LIMITS.clusterChars + 1} characters`, k8s('c'.repeat(LIMITS.clusterChars + 1)), badCluster],
    ['a cluster of 4000 characters', k8s('c'.repeat(4000)), badCluster],
    ['a cluster with a space', k8s('a b'), badCluster],
    ['a cluster with a path', k8s('../etc'), badCluster],
    ['a cluster with SQL', k8s("' OR 1=1 --"), badCluster],
    ['a cluster with a NUL', '/v1/k8s-events?cluster=a%00b', badCluster],
    ['a cluster with non-ASCII letters', k8s('clüster'), badCluster],
    ['a cluster starting with "-"', k8s('-lead'), badCluster],
    ['a cluster given twice', '/v1/k8s-events?cluster=a&cluster=b', badCluster],
    [`a cluster of ${LIMITS.clusterChars} characters`, k8s('c'.repeat(LIMITS.clusterChars)), accepted(0, 1)],
  ];
  for (const [name, path, expect] of clusters)
    add({ name, path, contentType: JSON_TYPE, body: () => JSON.stringify([tinyEvent(1)]), expect });

  // Authentication before anything is read.
  for (const [name, auth] of [
    ['no Authorization header', 'none'],
    ['an unknown bearer token', 'Bearer not-the-ingest-token-0000'],
    ['a Basic credential', 'Basic Zm9vOmJhcg=='],
  ] as const)
    add({
      name,
      path: k8s(CLUSTER.refused),
      contentType: JSON_TYPE,
      auth,
      body: () => JSON.stringify([event({ uid: 'unauthorized' })]),
      expect: unauthorized,
    });

  // Field caps: over-long names are refused per event; other fields are cut and the event kept.
  const capped = (name: string, spec: Omit<EventSpec, 'uid'>, expect: Expected, stored: number) =>
    add({
      name,
      path: k8s(CLUSTER.capped),
      contentType: JSON_TYPE,
      body: () =>
        jsonBody(
          [
            event({ uid: `ok-${name.replace(/\W+/g, '-')}` }),
            event({ uid: `capped-${name.replace(/\W+/g, '-')}`, ...spec }),
          ],
          'array',
        ),
      expect,
      stores: { cluster: CLUSTER.capped, events: stored },
    });
  capped(`a Pod name of ${LIMITS.nameChars} characters`, { pod: 'p'.repeat(LIMITS.nameChars) }, accepted(2), 2);
  capped(
    `a Pod name of ${LIMITS.nameChars + 1} characters`,
    { pod: 'p'.repeat(LIMITS.nameChars + 1) },
    partlyRejected(1, 1),
    1,
  );
  // 256 KiB: the name is in the Event four times, and the body must stay under its own limit.
  capped('a Pod name of 256 KiB', { pod: 'p'.repeat(MiB / 4) }, partlyRejected(1, 1), 1);
  capped(
    `a namespace of ${LIMITS.namespaceChars} characters`,
    { namespace: 'n'.repeat(LIMITS.namespaceChars) },
    accepted(2),
    2,
  );
  capped(
    `a namespace of ${LIMITS.namespaceChars + 1} characters`,
    { namespace: 'n'.repeat(LIMITS.namespaceChars + 1) },
    partlyRejected(1, 1),
    1,
  );
  capped('a namespace of 1 MiB', { namespace: 'n'.repeat(MiB) }, partlyRejected(1, 1), 1);
  capped('a message of 1 MiB', { message: `ErrImagePull: ${'m'.repeat(MiB)}` }, accepted(2), 2);
  // 256 KiB: the reference is in the message more than once, and the body must stay under its own limit.
  capped(
    'an image reference of 256 KiB',
    { message: notFound(`ghcr.io/acme/${'i'.repeat(MiB / 4)}:1`) },
    accepted(2),
    2,
  );
  capped('a fieldPath of 1 MiB', { fieldPath: `spec.containers{${'f'.repeat(MiB)}}` }, accepted(2), 2);
  capped('a reason of 1 MiB (not about images: filtered)', { reason: 'r'.repeat(MiB) }, accepted(1, 1), 1);
  capped('a count of 2^31', { count: 2 ** 31 }, accepted(2), 2);
  capped('a count of 2^40', { count: 2 ** 40 }, accepted(2), 2);
  return out;
}

function replayCases(): IngestCase[] {
  const out: IngestCase[] = [];
  const add = (c: Omit<IngestCase, 'surface' | 'contentType'>) =>
    out.push({ surface: 'replay', contentType: JSON_TYPE, ...c });
  for (const format of ['list', 'ndjson', 'watch'] as const satisfies JsonFormat[]) {
    add({
      name: `an old dump of ${LIMITS.eventsPerRequest + 1} events (${format})`,
      path: replay(CLUSTER.refused),
      body: () =>
        jsonBody(
          Array.from({ length: LIMITS.eventsPerRequest + 1 }, (_, i) => tinyEvent(i)),
          format,
        ),
      expect: tooMany,
    });
    add({
      name: `a dump over the body limit (${format})`,
      path: replay(CLUSTER.refused),
      body: () => {
        const line = JSON.stringify(event({ uid: 'big', message: `ErrImagePull: ${'x'.repeat(64 * 1024)}` }));
        return jsonBody(Array(70).fill(JSON.parse(line)), format);
      },
      expect: tooLarge,
    });
    add({
      name: `a dump with an item nested 1000 deep (${format})`,
      path: replay(CLUSTER.refused),
      body: () => {
        const body = jsonBody([tinyEvent(1), tinyEvent(2)], format);
        return body.replace('"uid":"t2"', `"uid":"t2","x":${nestedArrays(1000)}`);
      },
      expect: tooDeep,
    });
  }
  add({
    name: 'a watch stream with BOOKMARK and DELETED lines',
    path: replay(CLUSTER.capped),
    body: () =>
      [
        { type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } },
        { type: 'ADDED', object: event({ uid: 'replay-added' }) },
        { type: 'DELETED', object: event({ uid: 'replay-deleted' }) },
        { type: 'MODIFIED', object: event({ uid: 'replay-modified', count: 2 }) },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    expect: accepted(2),
    stores: { cluster: CLUSTER.capped, events: 2 },
  });
  add({
    name: 'an EventList whose items is not an array',
    path: replay(CLUSTER.refused),
    body: () => '{"kind":"EventList","items":5}',
    expect: malformed,
  });
  add({
    name: 'a dump with a 1 MiB namespace',
    path: replay(CLUSTER.capped),
    body: () =>
      jsonBody([event({ uid: 'replay-ok' }), event({ uid: 'replay-ns', namespace: 'n'.repeat(MiB) })], 'list'),
    expect: partlyRejected(1, 1),
    stores: { cluster: CLUSTER.capped, events: 1 },
  });
  add({
    name: 'a dump of CRLF NDJSON with blank lines',
    path: replay(CLUSTER.capped),
    body: () =>
      `\r\n${JSON.stringify(event({ uid: 'replay-crlf-1' }))}\r\n\r\n${JSON.stringify(event({ uid: 'replay-crlf-2' }))}\r\n`,
    expect: accepted(2),
    stores: { cluster: CLUSTER.capped, events: 2 },
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// OTLP/HTTP logs, JSON and protobuf.

type Groups = { cluster: string | null; bodies: unknown[] }[];

function otlpCases(): IngestCase[] {
  const out: IngestCase[] = [];
  for (const encoding of ['otlp-json', 'otlp-protobuf'] as const) {
    const pb = encoding === 'otlp-protobuf';
    const encode = (g: Groups) => (pb ? otlpProtobuf(g) : JSON.stringify(otlpJson(g)));
    const add = (c: Omit<IngestCase, 'surface' | 'contentType' | 'path'> & { path?: string }) =>
      out.push({ surface: encoding, contentType: pb ? PB_TYPE : JSON_TYPE, path: '/v1/logs', ...c });
    const many = (n: number, clusters = 1) =>
      Array.from({ length: clusters }, (_, c) => ({
        cluster: CLUSTER.refused,
        bodies: Array.from({ length: Math.ceil(n / clusters) }, (_, i) => tinyEvent(c * n + i)),
      }));

    for (const size of OVER)
      for (const chunked of [false, true])
        add({
          name: `a body of ${size} bytes (${chunked ? 'chunked' : 'Content-Length'})`,
          chunked,
          body: () => bytes(size, size + 1),
          expect: tooLarge,
        });
    for (const [n, clusters] of [
      [LIMITS.eventsPerRequest + 1, 1],
      [60_000, 1],
      [LIMITS.eventsPerRequest + 1, LIMITS.eventsPerRequest + 1],
      [6000, 3],
    ] as const)
      add({
        name: `${n} log records in ${clusters} ResourceLogs`,
        body: () => encode(many(n, clusters)),
        // In OTLP JSON, 60,000 records are over the body limit, which is checked first.
        expect: n === 60_000 && !pb ? tooLarge : tooMany,
      });
    add({
      name: `${LIMITS.eventsPerRequest} log records, at the cap`,
      body: () => encode(many(LIMITS.eventsPerRequest)),
      expect: otlpOk,
    });
    if (pb) {
      // What hung the ingest: a 16 MiB protobuf of empty log records; and the same under the body limit.
      add({
        name: '16 MiB of empty log records',
        body: () => protobufEmptyRecords(CLUSTER.refused, 8 * MiB),
        expect: tooLarge,
      });
      add({
        name: '2 million empty log records in 4 MB',
        body: () => protobufEmptyRecords(CLUSTER.refused, 2_000_000),
        expect: tooMany,
      });
      add({
        name: `${LIMITS.eventsPerRequest + 1} empty log records`,
        body: () => protobufEmptyRecords(CLUSTER.refused, LIMITS.eventsPerRequest + 1),
        expect: tooMany,
      });
      for (const depth of [100, 1000, 100_000])
        for (const via of ['array', 'kvlist'] as const)
          add({
            name: `a body AnyValue nested ${depth} deep (${via})`,
            body: () => protobufNestedBody(CLUSTER.refused, depth, via),
            expect: tooDeep,
          });
      const valid = otlpProtobuf([{ cluster: CLUSTER.refused, bodies: [tinyEvent(1)] }]);
      const broken: [string, () => Buffer][] = [
        ['a length past the end', () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])],
        ['a truncated request', () => valid.subarray(0, valid.length - 5)],
        ['wire type 7', () => Buffer.from([0x0f, 0x01])],
        ['an 11-byte varint', () => Buffer.from([0x08, ...Array(11).fill(0xff), 0x01])],
        ['an unterminated group', () => Buffer.from([0x0b, 0x01, 0x02])],
      ];
      for (const [name, body] of broken) add({ name: `malformed protobuf: ${name}`, body, expect: malformed });
    } else {
      add({
        name: '60000 empty log records',
        body: () => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: Array(60_000).fill({}) }] }] }),
        expect: tooMany,
      });
      for (const depth of [LIMITS.jsonDepth + 2, 1000, 30_000]) {
        add({
          name: `resourceLogs nested ${depth} deep`,
          body: () => `{"resourceLogs":${nestedArrays(depth)}}`,
          expect: tooDeep,
        });
        add({
          name: `a body kvlistValue nested ${depth} deep`,
          body: () => {
            let v = '{"stringValue":"x"}';
            for (let i = 0; i < depth; i++) v = `{"kvlistValue":{"values":[{"key":"k","value":${v}}]}}`;
            return `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${v}}]}]}]}`;
          },
          expect: tooDeep,
        });
      }
      const broken: [string, string][] = [
        ['not JSON', '{"resourceLogs":['],
        ['resourceLogs not an array', '{"resourceLogs":5}'],
        ['no resourceLogs', '{"logs":[]}'],
        ['scopeLogs not an array', '{"resourceLogs":[{"scopeLogs":{}}]}'],
        ['a log record that is a number', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[1]}]}]}'],
      ];
      for (const [name, body] of broken) add({ name: `malformed: ${name}`, body: () => body, expect: malformed });
    }
    add({
      name: 'a record body that is text but not JSON',
      body: () => {
        const req = {
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: CLUSTER.refused } }] },
              scopeLogs: [{ logRecords: [{ body: { stringValue: 'not json' } }] }],
            },
          ],
        };
        return pb ? Buffer.from(encodeRaw(req)) : JSON.stringify(req);
      },
      expect: malformed,
    });
    add({
      name: 'a record without a cluster attribute or ?cluster=',
      body: () => encode([{ cluster: null, bodies: [event({ uid: 'nocluster' })] }]),
      expect: malformed,
    });
    add({
      name: `a k8s.cluster.name of ${LIMITS.clusterChars + 1} characters`,
      body: () => encode([{ cluster: 'c'.repeat(LIMITS.clusterChars + 1), bodies: [event({ uid: 'longcluster' })] }]),
      expect: malformed,
    });
    add({
      name: 'no token',
      auth: 'none',
      body: () => encode([{ cluster: CLUSTER.refused, bodies: [tinyEvent(1)] }]),
      expect: unauthorized,
    });
    // Field caps inside log records.
    const tag = pb ? 'pb' : 'js';
    add({
      name: 'a record whose Pod name is 256 KiB, beside a valid one',
      body: () =>
        encode([
          {
            cluster: CLUSTER.capped,
            bodies: [event({ uid: `otlp-${tag}-ok` }), event({ uid: `otlp-${tag}-pod`, pod: 'p'.repeat(MiB / 4) })],
          },
        ]),
      expect: otlpPartly(1),
      stores: { cluster: CLUSTER.capped, events: 1 },
    });
    add({
      name: 'a record whose message is 1 MiB',
      body: () =>
        encode([
          {
            cluster: CLUSTER.capped,
            bodies: [event({ uid: `otlp-${tag}-msg`, message: `ErrImagePull: ${'m'.repeat(MiB)}` })],
          },
        ]),
      expect: otlpOk,
      stores: { cluster: CLUSTER.capped, events: 1 },
    });
    add({
      name: 'a structured (kvlist) Event body',
      body: () => {
        const ev = event({ uid: `otlp-${tag}-kvlist` });
        const any = (v: unknown): unknown =>
          typeof v === 'string'
            ? { stringValue: v }
            : typeof v === 'number'
              ? { intValue: v }
              : {
                  kvlistValue: {
                    values: Object.entries(v as object).map(([key, value]) => ({ key, value: any(value) })),
                  },
                };
        const req = {
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: CLUSTER.capped } }] },
              scopeLogs: [{ logRecords: [{ body: any(ev) }] }],
            },
          ],
        };
        return pb ? Buffer.from(encodeRaw(req)) : JSON.stringify(req);
      },
      expect: otlpOk,
      stores: { cluster: CLUSTER.capped, events: 1 },
    });
  }
  return out;
}

/** Every ingest case, by phase: the regex bombs first (the canary follows them), then the partition bombs, then the rest. */
export const INGEST = {
  bombs: bombCases(),
  partitions: partitionCases(),
  rest: [...httpJsonCases(), ...replayCases(), ...otlpCases()],
};

// ---------------------------------------------------------------------------------------------------------------
// Watch objects: Events and Pods served by the fake API server the collector's watch tests use.

export type WatchOutcome = 'stored' | 'dropped' | 'filtered' | 'skipped-line';

export interface WatchCase {
  surface: 'watch';
  name: string;
  /** The object to serve (an Event or a Pod), or a raw line written into the Event watch stream. */
  put: { resource: 'events' | 'pods'; object: Record<string, unknown> } | { line: () => string };
  /** The id its stored row carries (the Event's uid, or the Pod's uid at the start of its state key). */
  uid: string;
  expect: WatchOutcome;
}

function watchEvent(uid: string, spec: Omit<EventSpec, 'uid'> = {}): Record<string, unknown> {
  return event({ uid, namespace: 'watched', ...spec });
}

function waitingPod(
  uid: string,
  o: { name?: string; namespace?: string; image?: string; message?: string; container?: string },
) {
  const container = o.container ?? 'app';
  const image = o.image ?? `ghcr.io/acme/${uid}:1`;
  return {
    metadata: { name: o.name ?? `pod-${uid}`, namespace: o.namespace ?? 'watched', uid },
    spec: { nodeName: 'node-a', containers: [{ name: container, image, imagePullPolicy: 'IfNotPresent' }] },
    status: {
      containerStatuses: [
        {
          name: container,
          image,
          state: { waiting: { reason: 'ErrImagePull', message: o.message ?? notFound(image) } },
        },
      ],
    },
  };
}

function watchCases(): WatchCase[] {
  const out: WatchCase[] = [];
  const ev = (name: string, uid: string, spec: Omit<EventSpec, 'uid'>, expect: WatchOutcome) =>
    out.push({ surface: 'watch', name, put: { resource: 'events', object: watchEvent(uid, spec) }, uid, expect });
  BOMBS.forEach((b, i) => {
    const uid = `watch-bomb-${i}`;
    out.push({
      surface: 'watch',
      name: `Event regex bomb: ${b.name}`,
      put: { resource: 'events', object: { ...bombEvent(b, uid), metadata: { name: uid, namespace: 'watched', uid } } },
      uid,
      expect: 'stored',
    });
  });
  ev(
    `an Event for a Pod name of ${LIMITS.nameChars} characters`,
    'watch-name-ok',
    { pod: 'p'.repeat(LIMITS.nameChars) },
    'stored',
  );
  ev(
    `an Event for a Pod name of ${LIMITS.nameChars + 1} characters`,
    'watch-name-long',
    { pod: 'p'.repeat(LIMITS.nameChars + 1) },
    'dropped',
  );
  ev('an Event for a Pod name of 1 MiB', 'watch-name-mib', { pod: 'p'.repeat(MiB) }, 'dropped');
  ev(
    `an Event in a namespace of ${LIMITS.namespaceChars} characters`,
    'watch-ns-ok',
    { namespace: 'n'.repeat(LIMITS.namespaceChars) },
    'stored',
  );
  ev(
    `an Event in a namespace of ${LIMITS.namespaceChars + 1} characters`,
    'watch-ns-long',
    { namespace: 'n'.repeat(LIMITS.namespaceChars + 1) },
    'dropped',
  );
  ev('an Event in a namespace of 1 MiB', 'watch-ns-mib', { namespace: 'n'.repeat(MiB) }, 'dropped');
  ev(
    'an Event with a 1 MiB image reference',
    'watch-image',
    { message: notFound(`ghcr.io/acme/${'i'.repeat(MiB)}:1`) },
    'stored',
  );
  ev('an Event with a 1 MiB reason', 'watch-reason', { reason: 'r'.repeat(MiB) }, 'filtered');
  ev('an Event with a count of 2^40', 'watch-count', { count: 2 ** 40 }, 'stored');
  out.push({
    surface: 'watch',
    name: 'an Event without involvedObject',
    put: {
      resource: 'events',
      object: { metadata: { name: 'watch-noref', namespace: 'watched', uid: 'watch-noref' }, reason: 'Failed' },
    },
    uid: 'watch-noref',
    expect: 'dropped',
  });
  const pod = (name: string, uid: string, o: Parameters<typeof waitingPod>[1], expect: WatchOutcome) =>
    out.push({ surface: 'watch', name, put: { resource: 'pods', object: waitingPod(uid, o) }, uid, expect });
  pod('a waiting Pod', 'watch-pod-ok', {}, 'stored');
  pod(
    `a Pod named with ${LIMITS.nameChars + 1} characters`,
    'watch-pod-name',
    { name: 'p'.repeat(LIMITS.nameChars + 1) },
    'dropped',
  );
  pod(
    `a Pod in a namespace of ${LIMITS.namespaceChars + 1} characters`,
    'watch-pod-ns',
    { namespace: 'n'.repeat(LIMITS.namespaceChars + 1) },
    'dropped',
  );
  pod('a Pod whose image is 1 MiB', 'watch-pod-image', { image: `ghcr.io/acme/${'i'.repeat(MiB)}:1` }, 'stored');
  pod('a Pod waiting with a 1 MiB message', 'watch-pod-msg', { message: `ErrImagePull: ${'m'.repeat(MiB)}` }, 'stored');
  pod('a Pod waiting with a regex bomb', 'watch-pod-bomb', { message: BOMBS[0]!.text() }, 'stored');
  pod('a Pod whose container name is 1 MiB', 'watch-pod-container', { container: 'c'.repeat(MiB) }, 'dropped');
  // Lines no watch event is made of: skipped, the watch goes on.
  for (const [name, line] of [
    ['a watch line that is not JSON', () => '{"type":"ADDED","object":'],
    ['a watch line without an object', () => '{"type":"ADDED"}'],
    ['a watch line nested 100000 deep', () => nestedArrays(100_000)],
    ['a 1 MiB watch line of garbage', () => bytes(MiB, 5).toString('base64')],
  ] as const)
    out.push({ surface: 'watch', name, put: { line }, uid: '', expect: 'skipped-line' });
  return out;
}

export const WATCH = watchCases();

// ---------------------------------------------------------------------------------------------------------------
// The query API.

export interface QueryCase {
  surface: 'query-api';
  name: string;
  path: string;
  auth?: 'token' | 'none' | string;
  expect: Expected;
}

export const ROUTES = V1_ROUTES;

const badParam = (param?: string): Expected => ({
  status: 400,
  code: 'bad_parameter',
  ...(param ? { message: new RegExp(`^${param.replace(/[$()*+.?[\\\]^{|}]/g, '\\$&')}\\b`) } : {}),
});
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const T = '2026-01-01 00:00:00.000';

/** Unknown paths probed without a token: each must be answered 401 and leave no trace in /metrics. */
export const UNMATCHED_PATHS = Array.from({ length: 20 }, (_, i) => `/v1/abuse-unmatched-${i}-${'x'.repeat(i * 50)}`);

/** The Content-Security-Policy the dashboard is served with. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function queryCases(): QueryCase[] {
  const out: QueryCase[] = [];
  const add = (name: string, path: string, expect: Expected, auth?: QueryCase['auth']) =>
    out.push({
      surface: 'query-api',
      name: name.length > 100 ? `${name.slice(0, 100)}…` : name,
      path,
      expect,
      ...(auth ? { auth } : {}),
    });

  for (const route of ROUTES)
    for (const key of ['__proto__', 'constructor', 'prototype'])
      add(`${route}?${key}=`, `${route}?${encodeURIComponent(key)}=1`, badParam(key));

  const cursors: [string, string][] = [
    ['not base64 JSON', 'zzz'],
    ['characters outside base64', '!!!'],
    ['["x","y",1]', b64('["x","y",1]')],
    ['a negative count', b64(`["${T}","u",-1]`)],
    ['a fractional count', b64(`["${T}","u",1.5]`)],
    ['a count of 1e400', b64(`["${T}","u",1e400]`)],
    ['a count past UInt32', b64(`["${T}","u",4294967296]`)],
    ['a count as a string', b64(`["${T}","u","1"]`)],
    ['two elements', b64(`["${T}","u"]`)],
    ['four elements', b64(`["${T}","u",1,2]`)],
    ['an object', b64('{}')],
    ['null', b64('null')],
    ['a string', b64('"x"')],
    ['numbers', b64('[1,2,3]')],
    ['an impossible time', b64('["2026-13-45 99:99:99.000","u",1]')],
    ['an empty time', b64('["","u",0]')],
    ['a uid that is an object', b64(`["${T}",{"a":1},1]`)],
    ['nested arrays', b64('[["x"],"u",1]')],
    ['201 characters', 'A'.repeat(201)],
  ];
  for (const [name, cursor] of cursors)
    add(`/v1/failures cursor: ${name}`, `/v1/failures?cursor=${encodeURIComponent(cursor)}`, badParam('cursor'));
  add('/v1/failures cursor: a well-formed one', `/v1/failures?cursor=${b64(`["${T}","u",1]`)}`, { status: 200 });
  for (const [name, cursor] of [
    ['not base64 JSON', 'zzz'],
    ['["x","y",1]', b64('["x","y",1]')],
    ['a negative count', b64('[-1,"k"]')],
    ['a count of 1e400', b64('[1e400,"k"]')],
  ])
    add(
      `/v1/reports/failures cursor: ${name}`,
      `/v1/reports/failures?cursor=${encodeURIComponent(cursor!)}`,
      badParam('cursor'),
    );

  const params: [string, string][] = [
    ['/v1/failures?limit=-1', 'limit'],
    ['/v1/failures?limit=0', 'limit'],
    ['/v1/failures?limit=1.5', 'limit'],
    ['/v1/failures?limit=1e400', 'limit'],
    ['/v1/failures?limit=1001', 'limit'],
    ['/v1/failures?limit=abc', 'limit'],
    ['/v1/failures?limit=', 'limit'],
    ['/v1/failures?limit=1&limit=2', 'limit'],
    ['/v1/failures?from=garbage', 'from'],
    ['/v1/failures?from=2026-13-45T00:00:00Z', 'from'],
    ['/v1/failures?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
    ['/v1/failures?from=2000-01-01T00:00:00Z', 'from'],
    ['/v1/failures?cause=bogus', 'cause'],
    ['/v1/failures?cluster=', 'cluster'],
    [`/v1/failures?cluster=${'c'.repeat(513)}`, 'cluster'],
    ['/v1/failures?cluster=a&cluster=b', 'cluster'],
    ['/v1/failures?bogus=1', 'bogus'],
    ['/v1/trends?interval=2m', 'interval'],
    ['/v1/incidents?status=bogus', 'status'],
    ['/v1/pods/stuck?minutes=-1', 'minutes'],
    ['/v1/pods/stuck?minutes=100001', 'minutes'],
    ['/v1/reports/failures?groupBy=bogus', 'groupBy'],
    ['/v1/reports/failures?groupBy=cluster,cluster', 'groupBy'],
    ['/v1/reports/failures?format=xml', 'format'],
    ['/v1/reports/failures?limit=0', 'limit'],
    ['/v1/alerts?status=bogus', 'status'],
    ['/v1/quota/docker-hub?x=1', 'x'],
  ];
  for (const [path, param] of params) add(path, path, badParam(param));

  for (const path of UNMATCHED_PATHS) add(`unknown path, no token: ${path.slice(0, 40)}…`, path, unauthorized, 'none');
  add('a route with a wrong token', '/v1/failures', unauthorized, 'Bearer wrong');
  add('a route with a Basic credential', '/v1/failures', unauthorized, 'Basic Zm9vOmJhcg==');
  add('an unknown path outside /v1', '/admin', { status: 404, code: 'not_found' });

  const framing = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' };
  add('headers of a 200', '/v1/alerts', { status: 200, headers: framing });
  add('headers of a 400', '/v1/failures?limit=0', { status: 400, code: 'bad_parameter', headers: framing });
  add('headers of a 401', '/v1/failures', { status: 401, code: 'unauthorized', headers: framing }, 'none');
  add('headers of a 404', '/nope', { status: 404, code: 'not_found', headers: framing });
  add('the dashboard', '/', { status: 200, headers: { ...framing, 'content-security-policy': CSP } }, 'none');

  add(
    'a report over the result-size limit',
    `/v1/reports/failures?groupBy=namespace,image&cluster=${CLUSTER.valid}&from=${encodeURIComponent(
      new Date(Date.now() - 3600_000).toISOString(),
    )}`,
    { status: 422, code: 'report_too_large', message: /narrow the window or group by fewer keys/ },
  );
  return out;
}

export const QUERY = queryCases();

/** The namespaces the CSV cases store, and each one's cell as the export must write it. */
export const CSV_CELLS: [namespace: string, cell: string][] = [
  ['=1+1', "'=1+1"],
  ['+1+1', "'+1+1"],
  ['-1+1', "'-1+1"],
  ['@SUM(1)', "'@SUM(1)"],
  ['\tx', "'\tx"],
  ['\rx', '"\'\rx"'],
];

/** Whether a report accepts at most this many groups (the suite sets PULLWATCH_REPORT_MAX_GROUPS to it). */
export const REPORT_MAX_GROUPS = 100;

/** How many cases each surface has. */
export function countsBySurface(): Record<Surface, number> {
  const counts: Record<Surface, number> = {
    'http-json': 0,
    replay: 0,
    'otlp-json': 0,
    'otlp-protobuf': 0,
    watch: 0,
    'query-api': 0,
  };
  for (const c of [...INGEST.bombs, ...INGEST.partitions, ...INGEST.rest, ...WATCH, ...QUERY]) counts[c.surface] += 1;
  counts['query-api'] += CSV_CELLS.length;
  return counts;
}
