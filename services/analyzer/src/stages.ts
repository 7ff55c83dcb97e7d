/**
 * The analyzer's work on one partition, in named stages: restore (once per assignment) → decode →
 * process → (dead-letter, store, commit: in analyzer.ts, where the Kafka clients and the insert
 * coalescer are). Decode and process touch nothing but the in-memory state.
 */
import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { type Envelope, EnvelopeSchema } from '@pullwatch/event-schema';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { extractTraceContext } from '@pullwatch/telemetry';
import { type AnalyzerState, processEnvelope } from './core/process.ts';
import type { PodStateRow, PullEventRow, RawEventRow } from './core/table-formats.ts';
import type { AnalyzerStore } from './store.ts';

/**
 * Stage 0, at a (re)assignment: the partitions' highest stored offsets, their Events' last counts and
 * the open Pod states, read back from ClickHouse into the in-memory state.
 */
export async function restoreState(
  store: AnalyzerStore,
  state: AnalyzerState,
  partitions: number[],
): Promise<Map<number, number>> {
  const [offsets, counts, pods] = await Promise.all([
    store.storedOffsets(partitions),
    store.lastCounts(partitions),
    store.openPodStates(),
  ]);
  for (const c of counts) {
    const key = `${c.cluster}/${c.uid}`;
    state.lastCount.set(key, Math.max(state.lastCount.get(key) ?? 0, c.count));
  }
  for (const s of pods) {
    const key = `${s.cluster}/${s.namespace}/${s.pod}/${s.container}/${s.image}`;
    state.pods.set(key, s);
    if (s.cause && s.cause !== 'no_cause' && s.cause !== 'unknown')
      state.lastCause.set(key, { cause: s.cause, subcause: s.subcause, hint: s.hint });
    state.imageOf.set(`${s.cluster}/${s.namespace}/${s.pod}/${s.container}`, s.image);
  }
  return offsets;
}

export interface DeadLetter {
  offset: number;
  value: Buffer | null;
  error: string;
}

export interface Decoded {
  message: ConsumedMessage;
  envelope: Envelope;
  text: string;
}

export interface DecodedSlice {
  decoded: Decoded[];
  dead: DeadLetter[];
  /** Already stored before a restart or a rebalance: not processed again. */
  skipped: number;
}

/** Stage 1: skips what ClickHouse already has, parses and validates the rest; what does not parse is a dead letter. */
export function decodeSlice(messages: ConsumedMessage[], storedUpTo: number): DecodedSlice {
  const out: DecodedSlice = { decoded: [], dead: [], skipped: 0 };
  for (const m of messages) {
    if (m.offset <= storedUpTo) {
      out.skipped += 1;
      continue;
    }
    const text = m.value?.toString('utf8') ?? '';
    try {
      out.decoded.push({ message: m, envelope: EnvelopeSchema.parse(JSON.parse(text)), text });
    } catch (err) {
      out.dead.push({
        offset: m.offset,
        value: m.value,
        error: err instanceof Error ? err.message.slice(0, 2000) : String(err),
      });
    }
  }
  return out;
}

export interface SliceRows {
  pulls: PullEventRow[];
  raws: RawEventRow[];
  states: PodStateRow[];
}

export interface ProcessedSlice {
  rows: SliceRows;
  dead: DeadLetter[];
  failures: number;
  successes: number;
  failuresByCause: Map<string, number>;
}

/** Stage 2: classifies and counts each envelope against the in-memory state; the rows to store. */
export function processSlice(
  decoded: Decoded[],
  partition: number,
  state: AnalyzerState,
  opts: { stuckAfterMs: number },
): ProcessedSlice {
  const pulls: PullEventRow[] = [];
  const raws: RawEventRow[] = [];
  const states = new Map<string, PodStateRow>();
  const dead: DeadLetter[] = [];
  const failuresByCause = new Map<string, number>();
  let failures = 0;
  let successes = 0;
  for (const { message, envelope, text } of decoded) {
    try {
      const r = processEnvelope(envelope, { partition, offset: message.offset }, state, {
        stuckAfterMs: opts.stuckAfterMs,
        payload: text,
      });
      raws.push(r.raw);
      if (r.pull) {
        pulls.push(r.pull);
        if (r.pull.outcome === 'failure') {
          failures += r.pull.occurrences;
          failuresByCause.set(r.pull.cause, (failuresByCause.get(r.pull.cause) ?? 0) + r.pull.occurrences);
        } else if (r.pull.outcome === 'success') successes += r.pull.occurrences;
      }
      if (r.podState) {
        const s = r.podState;
        states.set(`${s.cluster}/${s.namespace}/${s.pod}/${s.container}/${s.image}`, s);
      }
    } catch (err) {
      dead.push({
        offset: message.offset,
        value: message.value,
        error: `processing failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return { rows: { pulls, raws, states: [...states.values()] }, dead, failures, successes, failuresByCause };
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
