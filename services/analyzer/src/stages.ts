/**
 * The analyzer's work on one partition, in named stages: restore (once per assignment) → decode →
 * process → encode, one message at a time → (dead-letter, store, commit: in
 * pipeline/partition-pipeline.ts, with the dead-letter producer and the insert coalescer). Decode, process and encode touch nothing but the in-memory state.
 */
import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { isConcreteCause } from '@pullwatch/classifier';
import { type Envelope, safeParseEnvelope } from '@pullwatch/event-schema';
import { RowBlock, RowBlockWriter } from '@pullwatch/clickhouse';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { extractTraceContext } from '@pullwatch/telemetry';
import { monthOf } from './core/insert-verdict.ts';
import { type AnalyzerState, processEnvelope, type TimeWindow } from './core/process.ts';
import { containerKey, podKey } from './core/state.ts';
import {
  type PodStateRow,
  PULL_EVENT_FORMAT,
  type PullEventRow,
  RAW_EVENT_FORMAT,
  type RawEventRow,
} from './core/table-formats.ts';
import type { AnalyzerStore } from './store.ts';
import type { TopicNow } from './core/stored-offsets.ts';

/**
 * Stage 0, at a (re)assignment: the partitions' highest stored offsets, their Events' last counts and
 * the open Pod states, read back from ClickHouse into the in-memory state.
 */
export async function restoreState(
  store: AnalyzerStore,
  state: AnalyzerState,
  partitions: number[],
  topic: TopicNow,
): Promise<{ offsets: Map<number, number>; pullOffsets: Map<number, number> }> {
  const [offsets, pullOffsets, counts, pods] = await Promise.all([
    store.storedOffsets(partitions, topic),
    store.storedPullOffsets(partitions, topic),
    store.lastCounts(partitions),
    store.openPodStates(),
  ]);
  for (const c of counts) state.setCount(c.cluster, c.uid, Math.max(state.count(c.cluster, c.uid), c.count));
  for (const s of pods) {
    const ofContainer = containerKey(s.cluster, s.namespace, s.pod, s.container);
    const key = podKey(ofContainer, s.image);
    state.setPod(key, s);
    if (isConcreteCause(s.cause)) state.setCause(key, { cause: s.cause, subcause: s.subcause, hint: s.hint });
    state.setImage(ofContainer, s.image);
  }
  return { offsets, pullOffsets };
}

/** Why a message was dead-lettered: a closed set (the `reason` label of pullwatch_analyzer_dead_lettered_total). */
export const DEAD_LETTER_REASONS = ['decode', 'schema', 'processing', 'clickhouse_rejected'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface DeadLetter {
  offset: number;
  value: Buffer | null;
  reason: DeadLetterReason;
  error: string;
  /** ClickHouse's error code, for rows it refused. */
  code?: string;
}

export interface Decoded {
  envelope: Envelope;
  /** The message as text: the raw row's payload. */
  text: string;
}

/** Stage 1, decode: parses and validates one message; what does not parse is a dead letter. */
export function decodeMessage(m: ConsumedMessage): Decoded | DeadLetter {
  const text = m.value?.toString('utf8') ?? '';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { offset: m.offset, value: m.value, reason: 'decode', error: errorText(err) };
  }
  const r = safeParseEnvelope(json);
  if (!r.success) return { offset: m.offset, value: m.value, reason: 'schema', error: errorText(r.error) };
  return { envelope: r.data, text };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 2000);

/**
 * One message's rows in a slice's encoded blocks: the indivisible unit a refused insert is split down
 * to. Positions are byte offsets into the slice's whole blocks.
 */
export interface RowUnit {
  offset: number;
  pullFrom: number;
  pullTo: number;
  rawFrom: number;
  rawTo: number;
  /** The monthly partition of its event time (the tables are partitioned by it). */
  month: number;
}

/**
 * What a slice hands to the insert: its event rows already encoded, and the last state of each Pod it
 * changed; or a run of its messages (`sliceRows`), when a refused insert is split.
 */
export interface SliceRows {
  pulls: RowBlock<PullEventRow>;
  raws: RowBlock<RawEventRow>;
  states: PodStateRow[];
  units: RowUnit[];
  /** The whole slice's rows, which the units point into; a state belongs to the unit that made it. */
  whole: { pulls: Buffer; raws: Buffer; states: { unit: number; row: PodStateRow }[]; firstUnit: number };
}

/** The rows of units [from, to) of `rows` (a contiguous run: each block is a view of the slice's bytes). */
export function sliceRows(rows: SliceRows, from: number, to: number): SliceRows {
  const units = rows.units.slice(from, to);
  const first = units[0];
  const last = units[units.length - 1];
  const base = rows.whole.firstUnit + from;
  const pullRows = units.reduce((n, u) => n + (u.pullTo > u.pullFrom ? 1 : 0), 0);
  return {
    pulls: new RowBlock(
      PULL_EVENT_FORMAT,
      pullRows,
      first && last ? rows.whole.pulls.subarray(first.pullFrom, last.pullTo) : Buffer.alloc(0),
    ),
    raws: new RowBlock(
      RAW_EVENT_FORMAT,
      units.length,
      first && last ? rows.whole.raws.subarray(first.rawFrom, last.rawTo) : Buffer.alloc(0),
    ),
    states: rows.whole.states.filter((s) => s.unit >= base && s.unit < base + units.length).map((s) => s.row),
    units,
    whole: { ...rows.whole, firstUnit: base },
  };
}

/** How many monthly partitions the units fall in. */
export function partitionsOf(rows: readonly SliceRows[]): number {
  const months = new Set<number>();
  for (const r of rows) for (const u of r.units) months.add(u.month);
  return months.size;
}

export interface ProcessedSlice {
  rows: SliceRows;
  dead: DeadLetter[];
  /** Already stored before a restart or a rebalance: not processed again. */
  skipped: number;
  failures: number;
  successes: number;
  failuresByCause: Map<string, number>;
}

/**
 * Stages 1 to 3 over a slice, one message at a time: skip what ClickHouse already has (offsets up to
 * `storedUpTo`), decode, process against the in-memory state (classify, count), encode its rows. Only
 * the encoded rows and the Pod states outlive a message: the objects each one makes die young instead
 * of waiting, with the whole slice, for the insert. A message that fails any stage is a dead letter and
 * leaves no row.
 */
export function processSlice(
  messages: ConsumedMessage[],
  storedUpTo: number,
  partition: number,
  state: AnalyzerState,
  opts: {
    stuckAfterMs: number;
    window?: TimeWindow;
    /** Offsets at or below this have their pull rows stored already (their raw rows not): no pull row again. */
    pullsStoredUpTo?: number;
    /** The topic's ID, stored with each row. */
    topicId?: string;
  },
): ProcessedSlice {
  const pulls = new RowBlockWriter(PULL_EVENT_FORMAT, messages.length);
  const raws = new RowBlockWriter(RAW_EVENT_FORMAT, messages.length);
  const states = new Map<string, { unit: number; row: PodStateRow }>();
  const units: RowUnit[] = [];
  const out: Omit<ProcessedSlice, 'rows'> = {
    dead: [],
    skipped: 0,
    failures: 0,
    successes: 0,
    failuresByCause: new Map(),
  };
  for (const message of messages) {
    if (message.offset <= storedUpTo) {
      out.skipped += 1;
      continue;
    }
    const decoded = decodeMessage(message);
    if (!('envelope' in decoded)) {
      out.dead.push(decoded);
      continue;
    }
    const marks = [pulls.mark(), raws.mark()] as const;
    try {
      const r = processEnvelope(decoded.envelope, { partition, offset: message.offset, topicId: opts.topicId }, state, {
        stuckAfterMs: opts.stuckAfterMs,
        payload: decoded.text,
        ...(opts.window ? { window: opts.window } : {}),
      });
      const pull = r.pull && message.offset > (opts.pullsStoredUpTo ?? -1) ? r.pull : null;
      if (pull) pulls.add(pull);
      raws.add(r.raw);
      const [pullEnd, rawEnd] = [pulls.mark(), raws.mark()];
      units.push({
        offset: message.offset,
        pullFrom: marks[0].pos,
        pullTo: pullEnd.pos,
        rawFrom: marks[1].pos,
        rawTo: rawEnd.pos,
        month: monthOf(r.raw.event_time),
      });
      if (pull?.outcome === 'failure') {
        out.failures += pull.occurrences;
        out.failuresByCause.set(pull.cause, (out.failuresByCause.get(pull.cause) ?? 0) + pull.occurrences);
      } else if (pull?.outcome === 'success') out.successes += pull.occurrences;
      if (r.podState) {
        const s = r.podState;
        states.set(podKey(containerKey(s.cluster, s.namespace, s.pod, s.container), s.image), {
          unit: units.length - 1,
          row: s,
        });
      }
    } catch (err) {
      pulls.undo(marks[0]);
      raws.undo(marks[1]);
      out.dead.push({
        offset: message.offset,
        value: message.value,
        reason: 'processing',
        error: `processing failed: ${errorText(err)}`,
      });
    }
  }
  const pullBlock = pulls.finish();
  const rawBlock = raws.finish();
  const tagged = [...states.values()];
  return {
    ...out,
    rows: {
      pulls: pullBlock,
      raws: rawBlock,
      states: tagged.map((s) => s.row),
      units,
      whole: { pulls: pullBlock.bytes, raws: rawBlock.bytes, states: tagged, firstUnit: 0 },
    },
  };
}

const tracer = trace.getTracer('pullwatch-analyzer');

/**
 * Continues the collector's traces: one span per trace context in the slice (a collector request's
 * events share one), a child of the collector's `collector.forward` span, covering the analyzer's
 * work on those events until the slice is stored and committed (or failed).
 */
export class SliceSpans {
  private readonly spans: Span[] = [];

  constructor(messages: ConsumedMessage[], attributes: { partition: number }) {
    const byParent = new Map<string, { ctx: Context; events: number; first: number; last: number }>();
    for (const m of messages) {
      const key = m.headers.traceparent ?? '';
      const seen = byParent.get(key);
      if (seen) {
        seen.events += 1;
        seen.last = m.offset;
      } else
        byParent.set(key, {
          ctx: key ? extractTraceContext(m.headers) : context.active(),
          events: 1,
          first: m.offset,
          last: m.offset,
        });
    }
    for (const { ctx, events, first, last } of byParent.values())
      this.spans.push(
        tracer.startSpan(
          'analyzer.slice',
          {
            attributes: {
              'messaging.kafka.partition': attributes.partition,
              'pullwatch.events': events,
              'pullwatch.first_offset': first,
              'pullwatch.last_offset': last,
            },
          },
          ctx,
        ),
      );
  }

  end(err?: unknown): void {
    for (const s of this.spans) {
      if (err !== undefined)
        s.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      s.end();
    }
  }
}
