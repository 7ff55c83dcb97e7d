/**
 * The analyzer's work on one partition, in named stages: restore (once per assignment) → decode →
 * process → encode, one message at a time → (dead-letter, store, commit: in analyzer.ts, where the Kafka
 * clients and the insert coalescer are). Decode, process and encode touch nothing but the in-memory state.
 */
import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { type Envelope, EnvelopeSchema } from '@pullwatch/event-schema';
import { type RowBlock, RowBlockWriter } from '@pullwatch/clickhouse';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { extractTraceContext } from '@pullwatch/telemetry';
import { type AnalyzerState, processEnvelope } from './core/process.ts';
import { containerKey, podKey } from './core/state.ts';
import {
  type PodStateRow,
  PULL_EVENT_FORMAT,
  type PullEventRow,
  RAW_EVENT_FORMAT,
  type RawEventRow,
} from './core/table-formats.ts';
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
  for (const c of counts) state.setCount(c.cluster, c.uid, Math.max(state.count(c.cluster, c.uid), c.count));
  for (const s of pods) {
    const ofContainer = containerKey(s.cluster, s.namespace, s.pod, s.container);
    const key = podKey(ofContainer, s.image);
    state.setPod(key, s);
    if (s.cause && s.cause !== 'no_cause' && s.cause !== 'unknown')
      state.setCause(key, { cause: s.cause, subcause: s.subcause, hint: s.hint });
    state.setImage(ofContainer, s.image);
  }
  return offsets;
}

export interface DeadLetter {
  offset: number;
  value: Buffer | null;
  error: string;
}

export interface Decoded {
  envelope: Envelope;
  /** The message as text: the raw row's payload. */
  text: string;
}

/** Stage 1, decode: parses and validates one message; what does not parse is a dead letter. */
export function decodeMessage(m: ConsumedMessage): Decoded | DeadLetter {
  const text = m.value?.toString('utf8') ?? '';
  try {
    return { envelope: EnvelopeSchema.parse(JSON.parse(text)), text };
  } catch (err) {
    return { offset: m.offset, value: m.value, error: err instanceof Error ? err.message.slice(0, 2000) : String(err) };
  }
}

/** What a slice hands to the insert: its event rows already encoded, and the last state of each Pod it changed. */
export interface SliceRows {
  pulls: RowBlock<PullEventRow>;
  raws: RowBlock<RawEventRow>;
  states: PodStateRow[];
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
  opts: { stuckAfterMs: number },
): ProcessedSlice {
  const pulls = new RowBlockWriter(PULL_EVENT_FORMAT, messages.length);
  const raws = new RowBlockWriter(RAW_EVENT_FORMAT, messages.length);
  const states = new Map<string, PodStateRow>();
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
      const r = processEnvelope(decoded.envelope, { partition, offset: message.offset }, state, {
        stuckAfterMs: opts.stuckAfterMs,
        payload: decoded.text,
      });
      if (r.pull) pulls.add(r.pull);
      raws.add(r.raw);
      if (r.pull?.outcome === 'failure') {
        out.failures += r.pull.occurrences;
        out.failuresByCause.set(r.pull.cause, (out.failuresByCause.get(r.pull.cause) ?? 0) + r.pull.occurrences);
      } else if (r.pull?.outcome === 'success') out.successes += r.pull.occurrences;
      if (r.podState) {
        const s = r.podState;
        states.set(podKey(containerKey(s.cluster, s.namespace, s.pod, s.container), s.image), s);
      }
    } catch (err) {
      pulls.undo(marks[0]);
      raws.undo(marks[1]);
      out.dead.push({
        offset: message.offset,
        value: message.value,
        error: `processing failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return { ...out, rows: { pulls: pulls.finish(), raws: raws.finish(), states: [...states.values()] } };
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
