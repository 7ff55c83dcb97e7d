import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../test/support/seeded.ts';
import { type BodyLimits, type CountedShape, checkJsonText, TooDeepError, TooManyEventsError } from './limits.ts';

/** A slicer whose every chunk is due: the number of yields is the number of chunks the scan took, less one. */
function countingSlice() {
  const slice = { yields: 0, due: () => true, yield: async () => void slice.yields++ };
  return slice;
}

/** What a scan came to: ok or the error's class and message, and after how many chunks. */
async function outcome(text: string, limits: BodyLimits, shape: CountedShape): Promise<string> {
  const slice = countingSlice();
  try {
    await checkJsonText(text, limits, shape, slice);
    return `ok after ${slice.yields + 1} chunks`;
  } catch (err) {
    return `${errorOf(err)} after ${slice.yields + 1} chunks`;
  }
}

function errorOf(err: unknown): string {
  if (err instanceof TooDeepError || err instanceof TooManyEventsError) return `${err.name}: ${err.message}`;
  throw err;
}

/** The number of events the scan counts in `text`: the least maxEvents it accepts. */
async function eventsCounted(text: string, shape: CountedShape = 'k8s-events'): Promise<number> {
  let [lo, hi] = [0, 1 << 20];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      await checkJsonText(text, { maxEvents: mid, maxDepth: 64 }, shape, countingSlice());
      hi = mid;
    } catch (err) {
      if (!(err instanceof TooManyEventsError)) throw err;
      lo = mid + 1;
    }
  }
  return lo;
}

const limits = (maxEvents: number, maxDepth: number): BodyLimits => ({ maxEvents, maxDepth });
const CHUNK = 64 * 1024;

describe('checkJsonText', () => {
  it('keeps a string open past a quote after an odd number of backslashes, and closes it after an even number', async () => {
    // `"a\"[[[["`: one string; its brackets are text.
    expect(await outcome(String.raw`["a\"[[[[", "b"]`, limits(2, 1), 'k8s-events')).toBe('ok after 1 chunks');
    expect(await eventsCounted(String.raw`["a\"[[[[", "b"]`)).toBe(2);
    expect(await eventsCounted(String.raw`["a\\\"]]", "b", "c"]`)).toBe(3);
    // `"a\\"`: the string ends; the brackets after it nest 4 deep.
    const even = String.raw`["a\\", [[["b"]]]]`;
    expect(await outcome(even, limits(2, 4), 'k8s-events')).toBe('ok after 1 chunks');
    expect(await outcome(even, limits(2, 3), 'k8s-events')).toBe(
      'TooDeepError: JSON nested deeper than 3 levels (PULLWATCH_MAX_JSON_DEPTH) after 1 chunks',
    );
    expect(await eventsCounted(String.raw`["\\\\", "\\", "x\"\\", "\"\\\""]`)).toBe(4);
  });

  it('does not count brackets, braces or commas inside strings', async () => {
    const text = JSON.stringify([{ m: '[[[{{{,,,]]]}}}' }, { m: '[{"items":[1,2,3]}]' }]);
    expect(await outcome(text, limits(2, 2), 'k8s-events')).toBe('ok after 1 chunks');
    expect(await eventsCounted(text)).toBe(2);
  });

  it('takes `items` for a key only at a key position of the top-level object', async () => {
    expect(await eventsCounted('{"kind":"EventList","items":[{},{},{}]}')).toBe(3);
    // The same word as a value, inside a value, or as a key one level deeper: the body is one event.
    expect(await eventsCounted('{"a":"items":[{},{},{}]}')).toBe(1);
    expect(await eventsCounted('{"a":"\\"items\\":[{},{},{}]"}')).toBe(1);
    expect(await eventsCounted('{"a":{"items":[{},{},{}]}}')).toBe(1);
    expect(await eventsCounted('{"a":1,"items":[]}')).toBe(1);
  });

  it('counts the elements of a top-level array, the values of NDJSON and OTLP logRecords exactly', async () => {
    expect(await eventsCounted(JSON.stringify([{ a: [1, 2] }, 2, 'x', null, [3]]))).toBe(5);
    expect(await eventsCounted(JSON.stringify([{ a: [1, 2] }, 2], null, 2))).toBe(2);
    expect(await eventsCounted('[]')).toBe(1);
    expect(await eventsCounted('{"a":[1,2]}\n{"b":"]\\n{"}\n\n  {"c":3}\r\ntrue\n')).toBe(4);
    const otlp = JSON.stringify({
      resourceLogs: [
        { scopeLogs: [{ logRecords: [{ body: { stringValue: '{"logRecords":[1,2]}' } }, {}, {}] }] },
        { scopeLogs: [{ logRecords: [{}] }, { logRecords: [] }] },
      ],
    });
    expect(await eventsCounted(otlp, 'otlp-logs')).toBe(4);
    expect(await eventsCounted(otlp, 'k8s-events')).toBe(1);
    expect(await outcome(otlp, limits(3, 64), 'otlp-logs')).toBe(
      'TooManyEventsError: more than 3 log records in one request (PULLWATCH_MAX_EVENTS_PER_REQUEST); send them in smaller requests after 1 chunks',
    );
  });

  it('accepts nesting exactly at the limit and refuses one level past it', async () => {
    const nested = (n: number) => `${'[{"a":'.repeat(n)}1${'}]'.repeat(n)}`;
    expect(await outcome(nested(3), limits(1, 6), 'k8s-events')).toBe('ok after 1 chunks');
    expect(await outcome(`${nested(3)}`.replace('1', '[]'), limits(1, 6), 'k8s-events')).toBe(
      'TooDeepError: JSON nested deeper than 6 levels (PULLWATCH_MAX_JSON_DEPTH) after 1 chunks',
    );
  });

  it('crosses a string that spans several chunks, escapes at their edges included', async () => {
    for (const slash of [CHUNK - 1, CHUNK - 2]) {
      // A backslash as the last character of a chunk escapes the first of the next: the quote there is text.
      const head = `[{"message":"${'x'.repeat(slash - 13)}`;
      const text = `${head}\\"]]]]${'y'.repeat(3.5 * CHUNK)}\\\\${'[{'.repeat(9)}", "b"}, 3]`;
      expect(text.indexOf('\\')).toBe(slash);
      expect(await outcome(text, limits(2, 2), 'k8s-events')).toBe('ok after 5 chunks');
      expect(await outcome(text, limits(2, 2), 'k8s-events')).toBe(oldOutcome(text, limits(2, 2), 'k8s-events'));
      expect(await eventsCounted(text)).toBe(2);
    }
  });

  it('checks the count at the same chunk ends as before: too many events found before a too deep part', async () => {
    // 3 events in the first chunk, a string to past its end, then nesting 5 deep in the second.
    const text = `[1,2,3,"${'z'.repeat(CHUNK)}",[[[[1]]]]]`;
    expect(await outcome(text, limits(3, 4), 'k8s-events')).toBe(
      'TooManyEventsError: more than 3 events in one request (PULLWATCH_MAX_EVENTS_PER_REQUEST); send them in smaller requests after 1 chunks',
    );
    expect(await outcome(text, limits(5, 4), 'k8s-events')).toBe(
      'TooDeepError: JSON nested deeper than 4 levels (PULLWATCH_MAX_JSON_DEPTH) after 2 chunks',
    );
  });

  it('yields every chunk on a 16 MiB body, of many events or of one string', async () => {
    const event = JSON.stringify({ kind: 'Event', message: 'Failed to pull image \\"x\\": [1] {a}', count: 1 });
    const many = `[${Array.from({ length: Math.ceil((16 << 20) / (event.length + 1)) }, () => event).join(',')}]`;
    const slice = countingSlice();
    await checkJsonText(many, limits(1 << 20, 64), 'k8s-events', slice);
    expect(slice.yields).toBeGreaterThanOrEqual(250);
    expect(`ok after ${slice.yields + 1} chunks`).toBe(oldOutcome(many, limits(1 << 20, 64), 'k8s-events'));
    const one = `["${'a'.repeat(16 << 20)}"]`;
    const oneSlice = countingSlice();
    await checkJsonText(one, limits(1, 64), 'k8s-events', oneSlice);
    expect(oneSlice.yields).toBe(Math.ceil(one.length / CHUNK) - 1);
  });

  it('comes to exactly what the character-by-character scan came to, on random JSON-ish texts', async () => {
    const { next: random, pick } = seededRandom(25);
    const shapes: CountedShape[] = ['k8s-events', 'otlp-logs'];
    let compared = 0;
    for (let n = 0; n < 6000; n++) {
      const text = n % 3 === 0 ? tokenSoup(random, 1 + Math.floor(random() * 60)) : mutated(random, jsonText(random));
      const l = limits(Math.floor(random() * 12), 1 + Math.floor(random() * 8));
      const shape = pick(shapes);
      expect(await outcome(text, l, shape), text).toBe(oldOutcome(text, l, shape));
      compared++;
    }
    // Texts of several chunks: long strings with escapes, ending anywhere relative to a chunk's end.
    for (let n = 0; n < 40; n++) {
      const parts: string[] = [];
      let length = 0;
      while (length < 3.5 * CHUNK) {
        const part =
          random() < 0.3
            ? `"${longString(random, Math.floor(random() * 1.5 * CHUNK))}"`
            : mutated(random, jsonText(random));
        parts.push(part);
        length += part.length + 1;
      }
      const text = `[${parts.join(random() < 0.5 ? ',' : '\n')}]`;
      const l = limits(parts.length - Math.floor(random() * 4), 3 + Math.floor(random() * 6));
      const shape = pick(shapes);
      expect(await outcome(text, l, shape)).toBe(oldOutcome(text, l, shape));
      compared++;
    }
    expect(compared).toBe(6040);
  });
});

const TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\',
  '\\\\',
  '\\"',
  '"items"',
  '"logRecords"',
  'items',
  ' ',
  '\n',
  '\t',
  '\r',
  'true',
  '12',
  'x',
  'é',
  '日',
  '😀',
  '"a"',
  '"resourceLogs"',
  '"a very long key indeed"',
  '""',
];

function tokenSoup(random: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += TOKENS[Math.floor(random() * TOKENS.length)];
  return s;
}

const KEYS = ['items', 'logRecords', 'kind', 'a', 'message', 'a very long key indeed', 'items"', '\\items', 'item'];
const STRING_PARTS = ['x', '"', '\\', '\\\\', '[', ']', '{', '}', ',', ':', 'items', '\n', 'é', '😀', ' ', '"items":['];

function randomString(random: () => number): string {
  let s = '';
  for (let n = Math.floor(random() * 8); n > 0; n--) s += STRING_PARTS[Math.floor(random() * STRING_PARTS.length)];
  return s;
}

function randomValue(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 5 || r < 0.3) return [1, null, true, randomString(random)][Math.floor(random() * 4)];
  if (r < 0.6) return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth + 1));
  const o: Record<string, unknown> = {};
  for (let n = Math.floor(random() * 4); n > 0; n--) {
    o[random() < 0.7 ? KEYS[Math.floor(random() * KEYS.length)]! : randomString(random)] = randomValue(
      random,
      depth + 1,
    );
  }
  return o;
}

/** A JSON document, pretty or not, or NDJSON of several. */
function jsonText(random: () => number): string {
  const one = () => JSON.stringify(randomValue(random, 0), null, random() < 0.2 ? 2 : undefined);
  return random() < 0.25 ? Array.from({ length: 1 + Math.floor(random() * 4) }, one).join('\n') : one();
}

/** `text` with a few characters dropped or inserted, most often none. */
function mutated(random: () => number, text: string): string {
  let s = text;
  for (let n = random() < 0.5 ? 0 : Math.floor(random() * 4); n > 0; n--) {
    const at = Math.floor(random() * (s.length + 1));
    s =
      random() < 0.5
        ? s.slice(0, at) + s.slice(at + 1)
        : s.slice(0, at) + TOKENS[Math.floor(random() * TOKENS.length)] + s.slice(at);
  }
  return s;
}

/** A string's inside of about `n` characters: mostly plain, with escapes (odd and even runs) and brackets. */
function longString(random: () => number, n: number): string {
  let s = '';
  while (s.length < n) {
    const r = random();
    s += r < 0.9 ? 'x'.repeat(1 + Math.floor(random() * 2000)) : pick(random, ['\\"', '\\\\', '\\\\\\"', '[{', '\\n']);
  }
  return s;
}

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

/** oldOutcome's scan: checkJsonText as it was, character by character, kept as the reference. */
function oldOutcome(text: string, limits: BodyLimits, shape: CountedShape): string {
  const step = oldScanner(text, limits, shape);
  let chunks = 1;
  try {
    while (!step()) chunks++;
    return `ok after ${chunks} chunks`;
  } catch (err) {
    return `${errorOf(err)} after ${chunks} chunks`;
  }
}

function oldScanner(text: string, limits: BodyLimits, shape: CountedShape): () => boolean {
  const [Quote, Backslash, OpenSquare, CloseSquare, OpenCurly, CloseCurly, Comma, Colon] = [
    0x22, 0x5c, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a,
  ];
  const [Space, Tab, Newline, Return] = [0x20, 0x09, 0x0a, 0x0d];
  const maxDepth = limits.maxDepth;
  const kind = new Uint8Array(maxDepth + 2);
  const counted = new Uint8Array(maxDepth + 2);
  const empty = new Uint8Array(maxDepth + 2);
  let depth = 0;
  let events = 0;
  let topValues = 0;
  let inString = false;
  let keyStart = -1;
  let lastKey = '';
  let expectKey = false;
  const what = shape === 'otlp-logs' ? 'log records' : 'events';
  let from = 0;
  return () => {
    const to = Math.min(text.length, from + CHUNK);
    let i = from;
    for (; i < to; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (c === Backslash) i++;
        else if (c === Quote) {
          inString = false;
          if (keyStart >= 0) {
            lastKey = i - keyStart <= 12 ? text.slice(keyStart, i) : '';
            keyStart = -1;
          }
        }
        continue;
      }
      if (c === Space || c === Newline || c === Tab || c === Return) continue;
      if (depth > 0 && empty[depth] && c !== CloseSquare && c !== CloseCurly) {
        empty[depth] = 0;
        if (counted[depth]) events++;
      }
      if (depth === 0 && c !== CloseSquare && c !== CloseCurly && c !== Comma && c !== Colon) {
        const prev = i > 0 ? text.charCodeAt(i - 1) : Space;
        const literalGoesOn =
          c !== Quote &&
          c !== OpenSquare &&
          c !== OpenCurly &&
          prev !== Space &&
          prev !== Newline &&
          prev !== Tab &&
          prev !== Return &&
          prev !== CloseSquare &&
          prev !== CloseCurly &&
          prev !== Quote;
        if (!literalGoesOn) topValues++;
      }
      switch (c) {
        case Quote:
          inString = true;
          if (expectKey) keyStart = i + 1;
          expectKey = false;
          break;
        case OpenSquare:
        case OpenCurly: {
          if (depth >= maxDepth) throw new TooDeepError('JSON', maxDepth);
          depth++;
          const isArray = c === OpenSquare;
          kind[depth] = isArray ? 1 : 2;
          counted[depth] = Number(
            isArray &&
              (shape === 'otlp-logs'
                ? lastKey === 'logRecords'
                : depth === 1 || (depth === 2 && kind[1] === 2 && lastKey === 'items')),
          );
          empty[depth] = Number(isArray);
          expectKey = !isArray;
          lastKey = '';
          break;
        }
        case CloseSquare:
        case CloseCurly:
          if (depth > 0) depth--;
          expectKey = false;
          lastKey = '';
          break;
        case Comma:
          if (depth > 0) {
            if (counted[depth]) events++;
            expectKey = kind[depth] === 2;
          }
          break;
        case Colon:
          expectKey = false;
          break;
        default:
          expectKey = false;
      }
    }
    from = i;
    if (events > limits.maxEvents || topValues > limits.maxEvents) throw new TooManyEventsError(limits.maxEvents, what);
    return from >= text.length;
  };
}
