import { BodyError } from './parse-body.ts';

/** What one ingest request may hold; a body past them is refused before anything of it is parsed into objects. */
export interface BodyLimits {
  /** Events (JSON routes) or log records (OTLP) in one request. */
  maxEvents: number;
  /** Nesting of JSON arrays and objects, and of OTLP protobuf messages. */
  maxDepth: number;
}

/** More events or log records in one request than PULLWATCH_MAX_EVENTS_PER_REQUEST: 413. */
export class TooManyEventsError extends Error {
  constructor(
    readonly cap: number,
    what: 'events' | 'log records',
  ) {
    super(`more than ${cap} ${what} in one request (PULLWATCH_MAX_EVENTS_PER_REQUEST); send them in smaller requests`);
    this.name = 'TooManyEventsError';
  }
}

/** Nested deeper than PULLWATCH_MAX_JSON_DEPTH: a malformed body (400), found before any recursive parser sees it. */
export class TooDeepError extends BodyError {
  constructor(what: string, maxDepth: number) {
    super(`${what} nested deeper than ${maxDepth} levels (PULLWATCH_MAX_JSON_DEPTH)`);
    this.name = 'TooDeepError';
  }
}

/** Work on one request's body is done in slices of at most this long, so /healthz and other requests get a turn. */
const SLICE_MS = 4;

/**
 * A checkpoint for long loops: resolves at once while the current slice of the event loop is young, and
 * after a turn of the event loop (setImmediate: I/O callbacks run first) once it is older than SLICE_MS.
 * `await` only when `due()` says so: an await per item would cost more than the items.
 */
export function slicer(): { due(): boolean; yield(): Promise<void> } {
  let start = performance.now();
  return {
    due: () => performance.now() - start > SLICE_MS,
    yield: () =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          start = performance.now();
          resolve();
        }),
      ),
  };
}

enum C {
  Quote = 0x22,
  Backslash = 0x5c,
  OpenSquare = 0x5b,
  CloseSquare = 0x5d,
  OpenCurly = 0x7b,
  CloseCurly = 0x7d,
  Comma = 0x2c,
  Colon = 0x3a,
  Space = 0x20,
  Tab = 0x09,
  Newline = 0x0a,
  Return = 0x0d,
}

/** Which arrays hold the request's events: those of the JSON ingest body, or OTLP's `logRecords`. */
export type CountedShape = 'k8s-events' | 'otlp-logs';

/** Characters scanned between checks of the slice's age (inside strings, from quote or backslash to the next, natively). */
const CHUNK = 64 * 1024;
/** Past the end of any string (V8's longest is 2^29 - 24 characters), and still a small integer. */
const NONE = 2 ** 30 - 1;

/**
 * One linear pass over JSON text, before JSON.parse: the nesting depth of arrays and objects outside
 * strings (V8's JSON.parse, and everything after it that walks the result, recurses once per level, so
 * 30,000 levels blew the stack), and the number of events, counted from the text so that a body of too
 * many is refused before any of them becomes an object. Events are the elements of a top-level array, of
 * an `items` array in a top-level object (an EventList), the values of NDJSON (one per line), or the
 * elements of OTLP's `logRecords` arrays. Malformed JSON is left for JSON.parse to describe.
 * Runs in slices (see slicer): 16 MiB of text takes tens of milliseconds in all.
 */
export async function checkJsonText(
  text: string,
  limits: BodyLimits,
  shape: CountedShape,
  slice = slicer(),
): Promise<void> {
  const step = jsonScanner(text, limits, shape);
  while (!step()) if (slice.due()) await slice.yield();
}

/** checkJsonText's depth check alone, in one go: for JSON text inside a body already within the size limit. */
export function checkJsonDepth(text: string, maxDepth: number): void {
  const step = jsonScanner(text, { maxDepth, maxEvents: Number.POSITIVE_INFINITY }, 'k8s-events');
  while (!step());
}

/** The scan, a chunk of text per call; true once the whole text is scanned. */
function jsonScanner(text: string, limits: BodyLimits, shape: CountedShape): () => boolean {
  const maxDepth = limits.maxDepth;
  // Per open container (index = its depth, 1-based): 1 array, 2 object; whether its elements are counted;
  // whether an array has no element yet.
  const kind = new Uint8Array(maxDepth + 2);
  const counted = new Uint8Array(maxDepth + 2);
  const empty = new Uint8Array(maxDepth + 2);
  let depth = 0;
  let events = 0;
  let topValues = 0;
  let inString = false;
  // The last string closed at an object's key position (keyFrom … keyTo; none: -1), compared with the keys
  // we look for only when an array opens: no string is made per key.
  let keyStart = -1;
  let keyFrom = -1;
  let keyTo = -1;
  const lastKeyIs = (key: string) => keyTo - keyFrom === key.length && text.startsWith(key, keyFrom);
  let expectKey = false;
  const what = shape === 'otlp-logs' ? 'log records' : 'events';
  // Strings, most of the text, are crossed natively: the next quote and the next backslash after a position
  // (NONE: no more), each searched again only once passed, so each character is searched over once.
  let nextQuote = -1;
  let nextBackslash = -1;
  const at = (char: string, i: number) => {
    const found = text.indexOf(char, i);
    return found < 0 ? NONE : found;
  };
  let from = 0;
  return () => {
    const to = Math.min(text.length, from + CHUNK);
    let i = from;
    for (; i < to; i++) {
      if (inString) {
        if (nextQuote < i) nextQuote = at('"', i);
        // A quote after anything but a backslash ends the string, whatever escapes came before it.
        let next = nextQuote;
        if (next >= to || text.charCodeAt(next - 1) === C.Backslash) {
          if (nextBackslash < i) nextBackslash = at('\\', i);
          if (nextBackslash < next) next = nextBackslash;
        }
        // The string goes on past this chunk: the chunk ends where the character-by-character scan ended it,
        // so the checks at its end (and which error a body gets first) stay as they were.
        if (next >= to) {
          i = to;
          break;
        }
        // An escape: step over it and the character it escapes (the loop's i++).
        if (next !== nextQuote) {
          i = next + 1;
          continue;
        }
        i = next;
        inString = false;
        if (keyStart >= 0) {
          keyFrom = keyStart;
          keyTo = i;
          keyStart = -1;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (c <= C.Space && (c === C.Space || c === C.Newline || c === C.Tab || c === C.Return)) continue;
      // A value starts in a counted array that had none yet: its first element.
      if (depth > 0 && empty[depth] && c !== C.CloseSquare && c !== C.CloseCurly) {
        empty[depth] = 0;
        if (counted[depth]) events++;
      }
      if (depth === 0 && c !== C.CloseSquare && c !== C.CloseCurly && c !== C.Comma && c !== C.Colon) {
        // A top-level value begins (NDJSON has one per line); a literal's further characters are not another.
        const prev = i > 0 ? text.charCodeAt(i - 1) : C.Space;
        const literalGoesOn =
          c !== C.Quote &&
          c !== C.OpenSquare &&
          c !== C.OpenCurly &&
          prev !== C.Space &&
          prev !== C.Newline &&
          prev !== C.Tab &&
          prev !== C.Return &&
          prev !== C.CloseSquare &&
          prev !== C.CloseCurly &&
          prev !== C.Quote;
        if (!literalGoesOn) topValues++;
      }
      switch (c) {
        case C.Quote:
          inString = true;
          if (expectKey) keyStart = i + 1;
          expectKey = false;
          break;
        case C.OpenSquare:
        case C.OpenCurly: {
          if (depth >= maxDepth) throw new TooDeepError('JSON', maxDepth);
          depth++;
          const isArray = c === C.OpenSquare;
          kind[depth] = isArray ? 1 : 2;
          counted[depth] = Number(
            isArray &&
              (shape === 'otlp-logs'
                ? lastKeyIs('logRecords')
                : depth === 1 || (depth === 2 && kind[1] === 2 && lastKeyIs('items'))),
          );
          empty[depth] = Number(isArray);
          expectKey = !isArray;
          keyFrom = keyTo = -1;
          break;
        }
        case C.CloseSquare:
        case C.CloseCurly:
          if (depth > 0) depth--;
          expectKey = false;
          keyFrom = keyTo = -1;
          break;
        case C.Comma:
          if (depth > 0) {
            if (counted[depth]) events++;
            expectKey = kind[depth] === 2;
          }
          break;
        case C.Colon:
          expectKey = false;
          break;
        default:
          expectKey = false;
      }
    }
    // An escape at a chunk's end skips the first character of the next.
    from = i;
    if (events > limits.maxEvents || topValues > limits.maxEvents) throw new TooManyEventsError(limits.maxEvents, what);
    return from >= text.length;
  };
}
