import { type K8sEvent, safeParseK8sEvent } from '@pullwatch/event-schema';

export class BodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyError';
  }
}

/** One Event from a body, and where it came from (for error messages). */
export interface ParsedEvent {
  event: K8sEvent;
  /** `line 3` (NDJSON) or `item 2` (JSON array / EventList). */
  where: string;
  /** For watch events: ADDED, MODIFIED, DELETED. DELETED events are dropped (not an occurrence). */
  watchType?: string;
}

function toEvent(value: unknown, where: string): ParsedEvent | null {
  if (value && typeof value === 'object' && 'type' in value && 'object' in value) {
    const w = value as { type: unknown; object: unknown };
    if (w.type === 'BOOKMARK') return null;
    if (w.type === 'ERROR')
      throw new BodyError(`${where}: watch ERROR event: ${JSON.stringify(w.object).slice(0, 200)}`);
    const inner = toEvent(w.object, where);
    return inner && { ...inner, watchType: String(w.type) };
  }
  const r = safeParseK8sEvent(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new BodyError(
      `${where}: not a Kubernetes ` +
        `Event (${issue ? `${issue.path.join('.') || 'object'}: ${issue.message}` : 'invalid'})`,
    );
  }
  return { event: r.data, where };
}

/**
 * Reads an ingest body: a JSON array of Events, a `kubectl get events -o json` list, a single
 * Event, or NDJSON of Events or watch events. The whole body is validated before anything is
 * used, so a request is accepted whole or rejected whole; the error names the offending line.
 */
export function parseEventsBody(text: string): ParsedEvent[] {
  return [...eventsOfBody(text)];
}

/**
 * parseEventsBody one Event at a time, each validated as it is taken: a caller that turns each into
 * what it keeps lets the rest of the Event's objects die young. A BodyError can come at any step, so
 * the caller uses nothing until it has taken them all (all or nothing).
 */
export function* eventsOfBody(text: string): Generator<ParsedEvent> {
  const trimmed = text.trim();
  if (!trimmed) return;
  let whole: unknown;
  let isWholeJson = false;
  try {
    whole = JSON.parse(trimmed);
    isWholeJson = true;
  } catch {
    // Not one JSON document: NDJSON below.
  }
  const kept = (p: ParsedEvent | null): p is ParsedEvent => p !== null && p.watchType !== 'DELETED';
  if (isWholeJson) {
    if (Array.isArray(whole)) {
      for (let i = 0; i < whole.length; i++) {
        const p = toEvent(whole[i], `item ${i}`);
        if (kept(p)) yield p;
      }
      return;
    }
    const items = whole && typeof whole === 'object' ? (whole as { items?: unknown }).items : undefined;
    if (Array.isArray(items)) {
      for (let i = 0; i < items.length; i++) {
        const p = toEvent(items[i], `items[${i}]`);
        if (kept(p)) yield p;
      }
      return;
    }
    const p = toEvent(whole, 'line 1');
    if (kept(p)) yield p;
    return;
  }
  let start = 0;
  for (let line = 1; start <= trimmed.length; line++) {
    const end = trimmed.indexOf('\n', start);
    const text = trimmed.slice(start, end === -1 ? trimmed.length : end);
    start = end === -1 ? trimmed.length + 1 : end + 1;
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BodyError(`line ${line}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const p = toEvent(value, `line ${line}`);
    if (kept(p)) yield p;
  }
}
