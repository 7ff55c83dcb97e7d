// The collector's work per event on POST /v1/k8s-events, step by step, on one core and in one process:
// what each pure stage costs in µs per event, beside JSON.parse of the same bodies (the floor of any
// step that reads them) and JSON.stringify of the parsed Events (the floor of the encode step). No
// engines, no network: the HTTP server, the Kafka producer and GC under load are the end-to-end suite's.
import {
  checkJsonText,
  encodeEnvelope,
  eventsOfBody,
  normalise,
  type ParsedEvent,
  parseK8sEvents,
} from '@pullwatch/collector';
import { boundEvent, eventEnvelope, isImageEvent, K8sEventSchema, safeParseK8sEvent } from '@pullwatch/event-schema';
import { BATCH_EVENTS, ingestBatches, type IngestBatch } from './ingest.ts';
import type { BenchContext, BenchSection } from './types.ts';

const ROUNDS = 7;
/** The collector's defaults (PULLWATCH_MAX_EVENTS_PER_REQUEST, PULLWATCH_MAX_JSON_DEPTH). */
const LIMITS = { maxEvents: 5000, maxDepth: 64 };
/** A slice that never yields: the stages run in one go (the server's slicer reads the clock once per event). */
const NO_YIELD = { due: () => false, yield: () => Promise.resolve() };

/**
 * µs per event of each pass, best of `rounds` after a warm-up; the passes take turns in every round, so
 * load from elsewhere on the machine falls on all of them alike.
 */
async function race(events: number, passes: (() => unknown)[], rounds = ROUNDS): Promise<number[]> {
  for (const pass of passes) await pass();
  const best = passes.map(() => Infinity);
  for (let r = 0; r < rounds; r++)
    for (const [i, pass] of passes.entries()) {
      const t0 = process.hrtime.bigint();
      await pass();
      best[i] = Math.min(best[i]!, Number(process.hrtime.bigint() - t0) / 1e3 / events);
    }
  return best;
}

/** What the encode step takes per event: boundEvent's result for an image Event, with its body's cluster. */
interface Kept {
  cluster: string;
  parsed: ParsedEvent;
  bounded: Extract<ReturnType<typeof boundEvent>, { ok: true }>;
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const n = Math.min(ctx.scale.events, 100_000);
  const clusters = Math.min(ctx.scale.clusters, 50);
  const bodies: IngestBatch[] = [...ingestBatches(n, clusters)];
  const bytes = bodies.reduce((s, b) => s + Buffer.byteLength(b.body), 0);
  // The inputs of the steps after parse, made once (not timed).
  const parsed = bodies.map((b) => ({ cluster: b.cluster, events: [...eventsOfBody(b.body)] }));
  const values = bodies.map((b) => JSON.parse(b.body) as unknown[]);
  const kept: Kept[] = [];
  for (const { cluster, events } of parsed)
    for (const p of events) {
      const bounded = boundEvent(p.event);
      if (bounded.ok && isImageEvent(bounded.normalized)) kept.push({ cluster, parsed: p, bounded });
    }
  ctx.log(`${n} events in ${bodies.length} bodies (${(bytes / 2 ** 20).toFixed(1)} MiB), ${kept.length} kept`);

  let sink = 0;
  const [jsonParse, scan, parse, validate, validateZod, bound, envelope, whole, stringify, stringifyBytes] =
    (await race(n, [
      // Baseline: JSON.parse alone of the same bodies.
      () => {
        for (const b of bodies) sink += (JSON.parse(b.body) as unknown[]).length;
      },
      // (a) The pre-parse scan: depth and number of events, from the text.
      async () => {
        for (const b of bodies) await checkJsonText(b.body, LIMITS, 'k8s-events', NO_YIELD);
      },
      // (b) Parse: JSON.parse and each Event validated, as the route takes them.
      () => {
        for (const b of bodies) for (const _ of eventsOfBody(b.body)) sink++;
      },
      // The schema alone (part of b): each parsed value validated, as the route does (compiled).
      () => {
        for (const list of values) for (const v of list) if (safeParseK8sEvent(v).success) sink++;
      },
      // The same with zod's own safeParse (what the route ran before the compiled check).
      () => {
        for (const list of values) for (const v of list) if (K8sEventSchema.safeParse(v).success) sink++;
      },
      // (c) Bound and filter.
      () => {
        for (const { events } of parsed)
          for (const p of events) {
            const b = boundEvent(p.event);
            if (b.ok && isImageEvent(b.normalized)) sink++;
          }
      },
      // (d) Envelope and encode, of the Events the filter keeps (all of this mix's).
      () => {
        for (const { cluster, parsed: p, bounded } of kept) {
          const { event, normalized, messageTruncated } = bounded;
          const watchType = p.watchType === 'ADDED' || p.watchType === 'MODIFIED' ? p.watchType : undefined;
          sink += encodeEnvelope(
            eventEnvelope({ cluster, source: 'http', event, normalized, watchType, messageTruncated }),
          ).value.length;
        }
      },
      // (e) The whole path of a body: scan, parse, bound, filter, envelope, encode.
      async () => {
        for (const b of bodies)
          sink += (await normalise(await parseK8sEvents(b.body, b.cluster, LIMITS, NO_YIELD), 'http', false, NO_YIELD))
            .out.length;
      },
      // Baselines for the encode step: JSON.stringify of each parsed Event, and with its UTF-8 bytes.
      () => {
        for (const { events } of parsed) for (const p of events) sink += JSON.stringify(p.event).length;
      },
      () => {
        for (const { events } of parsed) for (const p of events) sink += Buffer.from(JSON.stringify(p.event)).length;
      },
    ])) as [number, number, number, number, number, number, number, number, number, number];
  if (sink === 0) throw new Error('the passes did nothing');

  const us = (v: number) => Math.round(v * 100) / 100;
  const floor = (name: string, v: number) => ({ name, value: us(v) });
  const parseFloor = floor('JSON.parse alone of the same bodies', jsonParse);
  const steps = scan + parse + bound + envelope;
  return {
    name: 'collector steps (one core, no engines)',
    figures: [
      { metric: 'JSON.parse of the bodies, per event', value: us(jsonParse), unit: 'µs' },
      {
        metric: 'JSON.stringify of the parsed Events, per event',
        value: us(stringify),
        unit: 'µs',
        baseline: floor('the same and its UTF-8 bytes (Buffer.from)', stringifyBytes),
        ratio: stringify / stringifyBytes,
      },
      {
        metric: '(a) pre-parse scan (checkJsonText: depth, number of events), per event',
        value: us(scan),
        unit: 'µs',
        baseline: parseFloor,
        ratio: scan / jsonParse,
      },
      {
        metric: '(b) parse (eventsOfBody: JSON.parse + each Event validated), per event',
        value: us(parse),
        unit: 'µs',
        baseline: parseFloor,
        ratio: parse / jsonParse,
      },
      {
        metric: '  of which the schema (safeParseK8sEvent: compiled by ajv from the zod schema), per event',
        value: us(validate),
        unit: 'µs',
        baseline: floor("zod's K8sEventSchema.safeParse of the same values", validateZod),
        ratio: validate / validateZod,
      },
      { metric: '(c) bound + filter (boundEvent, isImageEvent), per event', value: us(bound), unit: 'µs' },
      {
        metric: '(d) envelope + encode (eventEnvelope, encodeEnvelope), per event',
        value: us(envelope),
        unit: 'µs',
        baseline: floor('JSON.stringify of the parsed Event and its bytes', stringifyBytes),
        ratio: envelope / stringifyBytes,
      },
      {
        metric: '(e) the whole path of a body (parseK8sEvents + normalise), per event',
        value: us(whole),
        unit: 'µs',
        baseline: floor('the steps (a)–(d) timed apart, summed', steps),
        ratio: whole / steps,
      },
    ],
    notes: [
      `${n} events of the end-to-end mix (bench/ingest.ts: 60 % successful pulls, 30 % failures, 10 % back-off) ` +
        `in ${bodies.length} JSON arrays of up to ${BATCH_EVENTS} (${clusters} clusters, ` +
        `${Math.round(bytes / n)} bytes per event); best of ${ROUNDS} passes after a warm-up, the passes taking ` +
        'turns in every round.',
      'Each step runs on the output of the one before it, made once beforehand; the whole path (e) makes its ' +
        "own, as the route does (each Event's objects die young), so it includes the GC of its garbage.",
      'The stages run without yielding (the server yields to the event loop every 4 ms of a request).',
      "Beyond these steps the collector spends its CPU in HTTP (reading the bodies), the Kafka producer's " +
        'record encoding and GC under load: the end-to-end suite measures the whole.',
    ],
  };
}
