import { K8sEventSchema, type K8sEvent } from '@pullwatch/event-schema';

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
  const r = K8sEventSchema.safeParse(value);
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
  const trimmed = text.trim();
  if (!trimmed) return [];
  let whole: unknown;
  let isWholeJson = false;
  try {
    whole = JSON.parse(trimmed);
    isWholeJson = true;
  } catch {
    // Not one JSON document: NDJSON below.
  }
  const out: ParsedEvent[] = [];
  const push = (p: ParsedEvent | null) => {
    if (p && p.watchType !== 'DELETED') out.push(p);
  };
  if (isWholeJson) {
    if (Array.isArray(whole)) {
      for (const [i, v] of whole.entries()) push(toEvent(v, `item ${i}`));
      return out;
    }
    if (whole && typeof whole === 'object' && Array.isArray((whole as { items?: unknown }).items)) {
      for (const [i, v] of (whole as { items: unknown[] }).items.entries()) push(toEvent(v, `items[${i}]`));
      return out;
    }
    push(toEvent(whole, 'line 1'));
    return out;
  }
  const lines = trimmed.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new BodyError(`line ${i + 1}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    push(toEvent(value, `line ${i + 1}`));
  });
  return out;
}
