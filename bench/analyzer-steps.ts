// The analyzer's work per event, step by step, on one core and in one process: what each step costs
// in µs per event, beside JSON.parse of the same messages (the floor any step that reads them pays)
// and beside classifying every message again (the design before classifications were reused). No
// engines: only the pure stages. Two mixes: the end-to-end suite's, where no failure message repeats
// (the worst case for reuse), and a fleet's, where failures name one of 500 images.
import { classify } from '@pullwatch/classifier';
import {
  AnalyzerState,
  decodeMessage,
  PULL_EVENT_FORMAT,
  type PullEventRow,
  processEnvelope,
  processSlice,
  RAW_EVENT_FORMAT,
  type RawEventRow,
} from '@pullwatch/analyzer';
import { RowBlockWriter } from '@pullwatch/clickhouse';
import { type Envelope, EnvelopeSchema } from '@pullwatch/event-schema';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { consumedMessages } from './ingest.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

const SLICE = 2000;
const STUCK_AFTER_MS = 600_000;
const ROUNDS = 5;
const FLEET_IMAGES = 500;

/**
 * µs per item of each pass, best of ROUNDS after a warm-up; the passes take turns in every round, so
 * load from elsewhere on the machine falls on all of them alike. Each `prepare()` (not timed) gives a pass
 * its fresh state.
 */
function race(items: number, passes: (() => () => unknown)[]): number[] {
  for (const prepare of passes) prepare()();
  const best = passes.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++)
    passes.forEach((prepare, i) => {
      const pass = prepare();
      const t0 = process.hrtime.bigint();
      pass();
      best[i] = Math.min(best[i]!, Number(process.hrtime.bigint() - t0) / 1e3 / items);
    });
  return best;
}

/** What processSlice hands processEnvelope for each message: its envelope and its raw row's payload. */
interface Decoded {
  messages: ConsumedMessage[];
  envelopes: Envelope[];
  payloads: RawEventRow['payload'][];
}

function consumed(n: number, clusters: number, images?: number): Decoded {
  const messages = consumedMessages(n, clusters, images);
  const envelopes: Envelope[] = [];
  const payloads: RawEventRow['payload'][] = [];
  for (const m of messages) {
    const d = decodeMessage(m);
    if (!('envelope' in d)) throw new Error(`bench envelope ${m.offset} does not decode: ${d.error}`);
    envelopes.push(d.envelope);
    payloads.push(d.text);
  }
  return { messages, envelopes, payloads };
}

/** Every message's rows, as processSlice makes them (from an empty state). */
function rowsOf({ envelopes, payloads }: Decoded): { pulls: (PullEventRow | null)[]; raws: RawEventRow[] } {
  const state = new AnalyzerState();
  const pulls: (PullEventRow | null)[] = [];
  const raws: RawEventRow[] = [];
  envelopes.forEach((e, i) => {
    const r = processEnvelope(e, { partition: 0, offset: i }, state, {
      stuckAfterMs: STUCK_AFTER_MS,
      payload: payloads[i]!,
    });
    pulls.push(r.pull);
    raws.push(r.raw);
  });
  return { pulls, raws };
}

/** Encodes the rows in slices as processSlice does: one block writer per table and slice. */
function encode(pulls: (PullEventRow | null)[], raws: RawEventRow[]): void {
  for (let i = 0; i < raws.length; i += SLICE) {
    const p = new RowBlockWriter(PULL_EVENT_FORMAT, SLICE);
    const r = new RowBlockWriter(RAW_EVENT_FORMAT, SLICE);
    for (let j = i; j < Math.min(raws.length, i + SLICE); j++) {
      const pull = pulls[j];
      if (pull) p.add(pull);
      r.add(raws[j]!);
    }
    p.finish();
    r.finish();
  }
}

const reusing = () => new AnalyzerState();
const classifyingAll = () => new AnalyzerState({ classifyCacheChars: 0 });

function steps(mix: string, decoded: Decoded): BenchFigure[] {
  const { messages, envelopes, payloads } = decoded;
  const n = messages.length;
  const [parse, decode, decodeZod, classifyAll] = race(n, [
    () => () => messages.map((m) => JSON.parse(m.value?.toString('utf8') ?? '')),
    () => () => messages.map(decodeMessage),
    // decodeMessage as it was before the compiled check: zod's own safeParse of every envelope.
    () => () => messages.map((m) => EnvelopeSchema.safeParse(JSON.parse(m.value?.toString('utf8') ?? ''))),
    () => () => {
      for (const e of envelopes)
        if (e.kind === 'event') classify({ message: e.event.message ?? '', reason: e.event.reason ?? null });
    },
  ]);
  const process = (state: AnalyzerState) => () => {
    for (let i = 0; i < n; i++)
      processEnvelope(envelopes[i]!, { partition: 0, offset: i }, state, {
        stuckAfterMs: STUCK_AFTER_MS,
        payload: payloads[i]!,
      });
  };
  const slice = (state: AnalyzerState) => () => {
    for (let i = 0; i < n; i += SLICE)
      processSlice(messages.slice(i, i + SLICE), -1, 0, state, { stuckAfterMs: STUCK_AFTER_MS });
  };
  const [processReusing, processEvery, sliceReusing, sliceEvery] = race(n, [
    () => process(reusing()),
    () => process(classifyingAll()),
    () => slice(reusing()),
    () => slice(classifyingAll()),
  ]) as [number, number, number, number];
  const { pulls, raws } = rowsOf(decoded);
  const [encodeRows] = race(n, [() => () => encode(pulls, raws)]);
  const probe = reusing();
  process(probe)();
  const { hits, misses } = probe.classifyStats();
  const us = (v: number) => Math.round(v * 100) / 100;
  const again = (v: number) => ({ name: 'the same, every message classified again', value: us(v) });
  return [
    {
      metric: `${mix}: decode (JSON.parse + envelope schema), per event`,
      value: us(decode!),
      unit: 'µs',
      baseline: { name: 'JSON.parse alone', value: us(parse!) },
      ratio: decode! / parse!,
    },
    {
      metric: `${mix}: decode with the compiled check (ajv, from the zod schema), per event`,
      value: us(decode!),
      unit: 'µs',
      baseline: { name: "the same with zod's EnvelopeSchema.safeParse (before)", value: us(decodeZod!) },
      ratio: decode! / decodeZod!,
    },
    { metric: `${mix}: classify() of every message, per event`, value: us(classifyAll!), unit: 'µs' },
    {
      metric: `${mix}: process (classify, count, attribute, rows, Pod state), per event`,
      value: us(processReusing),
      unit: 'µs',
      baseline: again(processEvery),
      ratio: processReusing / processEvery,
    },
    {
      metric: `${mix}: encode rows (RowBinary, the pull and raw rows), per event`,
      value: us(encodeRows!),
      unit: 'µs',
    },
    {
      metric: `${mix}: encode rows + bookkeeping (a slice minus decode and process), per event`,
      value: us(Math.max(0, sliceReusing - decode! - processReusing)),
      unit: 'µs',
    },
    {
      metric: `${mix}: a whole slice (decode, process, encode), per event`,
      value: us(sliceReusing),
      unit: 'µs',
      baseline: again(sliceEvery),
      ratio: sliceReusing / sliceEvery,
    },
    {
      metric: `${mix}: classifications answered from memory`,
      value: Math.round((1000 * hits) / Math.max(1, hits + misses)) / 10,
      unit: '%',
    },
  ];
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const n = Math.min(ctx.scale.events, 100_000);
  const clusters = Math.min(ctx.scale.clusters, 50);
  const figures: BenchFigure[] = [];
  for (const [mix, images] of [
    ['end-to-end mix', undefined],
    [`fleet mix (${FLEET_IMAGES} images)`, FLEET_IMAGES],
  ] as const) {
    figures.push(...steps(mix, consumed(n, clusters, images)));
    ctx.log(`${mix}: ${figures.length} figures`);
  }
  return {
    name: 'analyzer steps (one core, no engines)',
    figures,
    notes: [
      `${n} envelopes (60 % successful pulls, 30 % failures, 10 % back-off; ${clusters} clusters), slices of ${SLICE}; best of ${ROUNDS} passes after a warm-up, each from an empty state.`,
      'Successful pulls are classified every time (their messages name a duration and a size, different for each pull); the other kinds are remembered (lru-cache, bounded by characters: 4 000 000 by default).',
      'Beyond these steps the analyzer process spends its CPU in the Kafka client, the ClickHouse client and GC: the end-to-end suite measures the whole.',
    ],
  };
}
