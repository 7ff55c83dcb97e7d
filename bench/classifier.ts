// Classifier throughput on one core, beside two baselines measured in the same run:
// a naive "list of regexes tried in order" classifier (the style of Robusta's image pull backoff
// reporter) and a plain JSON.parse of the same JSON lines.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { classify, type Cause } from '@pullwatch/classifier';
import { classifyLine } from '@pullwatch/classifier';
import type { BenchContext, BenchSection } from './types.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const FIXTURES = `${here}../packages/classifier/test-fixtures/`;
const CORPORA = [`${FIXTURES}dev-messages.jsonl`, `${FIXTURES}extra-messages.jsonl`];
const TARGET_MESSAGES = 300_000;

interface Labelled {
  message: string;
  event_reason?: string | null;
  cause: Cause;
}

function loadCorpus(): Labelled[] {
  const rows: Labelled[] = [];
  for (const path of CORPORA) {
    const text = readFileSync(path, 'utf8');
    for (const line of text.split('\n')) if (line.trim()) rows.push(JSON.parse(line) as Labelled);
  }
  return rows;
}

// Robusta-style: case-insensitive regexes on the raw message, first match wins, plus one image regex.
const NAIVE_RULES: [RegExp, Cause][] = [
  [/ErrImageNeverPull|pull policy of Never/i, 'pull_policy_never'],
  [/InvalidImageName|invalid reference format|couldn't parse image/i, 'invalid_reference'],
  [/repository does not exist or may require|pull access denied/i, 'not_found_or_unauthorized'],
  [/toomanyrequests|too many requests|rate limit|pull QPS exceeded/i, 'rate_limited'],
  [/no space left on device/i, 'node_storage'],
  [/no match for platform|no matching manifest for/i, 'platform_mismatch'],
  [/Source image rejected|signature/i, 'policy_denied'],
  [/x509|server gave HTTP response to HTTPS client/i, 'tls_error'],
  [/no such host|server misbehaving|Temporary failure in name resolution/i, 'registry_unavailable'],
  [
    /i\/o timeout|context deadline exceeded|Client\.Timeout exceeded|TLS handshake timeout|request canceled/i,
    'registry_unavailable',
  ],
  [/connection refused|connection reset by peer|EOF/i, 'registry_unavailable'],
  [/unauthorized|authentication required|no basic auth credentials|denied|403 Forbidden|401/i, 'unauthorized'],
  [/manifest unknown|not found|name unknown|404/i, 'not_found'],
  [/500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|HTTP code 5\d\d/i, 'registry_unavailable'],
  [/Back-off pulling image|ImagePullBackOff|ErrImagePull/i, 'no_cause'],
];
const NAIVE_IMAGE_RE = /image "([^"]+)"/i;

function naiveClassify(message: string): { cause: Cause; image: string | null } {
  const image = NAIVE_IMAGE_RE.exec(message)?.[1] ?? null;
  for (const [re, cause] of NAIVE_RULES) if (re.test(message)) return { cause, image };
  return { cause: 'unknown', image };
}

/** Best of `rounds` timed passes over `items`, in items per second. */
function throughput<T>(items: readonly T[], fn: (item: T) => unknown, rounds = 5): number {
  let sink = 0;
  for (let i = 0; i < Math.min(items.length, 20_000); i++) if (fn(items[i] as T)) sink++; // warm-up: let V8 optimise
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < items.length; i++) if (fn(items[i] as T)) sink++;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, items.length / seconds);
  }
  if (sink < 0) throw new Error('unreachable'); // keeps the results observable
  return best;
}

function accuracy(rows: readonly Labelled[], predict: (row: Labelled) => Cause): number {
  let hits = 0;
  for (const row of rows) if (predict(row) === row.cause) hits++;
  return rows.length ? hits / rows.length : 0;
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const corpus = loadCorpus();
  if (corpus.length === 0) throw new Error('no corpus messages found');
  const repeat = Math.ceil(TARGET_MESSAGES / corpus.length);
  const inputs: { message: string; reason: string | null }[] = [];
  for (let r = 0; r < repeat; r++)
    for (const row of corpus) inputs.push({ message: row.message, reason: row.event_reason ?? null });
  const messages = inputs.map((i) => i.message);
  const lines = inputs.map((i) => JSON.stringify(i));
  ctx.log(`${corpus.length} distinct messages repeated to ${inputs.length}`);

  const classifierRate = throughput(inputs, (i) => classify(i).cause);
  const naiveRate = throughput(messages, (m) => naiveClassify(m).cause);
  ctx.log(`classify ${Math.round(classifierRate)} msg/s, naive regex list ${Math.round(naiveRate)} msg/s`);
  const lineRate = throughput(lines, (l) => classifyLine(l).ok);
  const parseRate = throughput(lines, (l) => JSON.parse(l) as unknown);
  ctx.log(`JSON line → JSON line ${Math.round(lineRate)} lines/s, JSON.parse alone ${Math.round(parseRate)} lines/s`);

  const classifierAccuracy = accuracy(
    corpus,
    (row) => classify({ message: row.message, reason: row.event_reason ?? null }).cause,
  );
  const naiveAccuracy = accuracy(corpus, (row) => naiveClassify(row.message).cause);

  return {
    name: 'classifier',
    figures: [
      {
        metric: 'classify() throughput, one core',
        value: Math.round(classifierRate),
        unit: 'messages/s',
        baseline: { name: 'naive ordered regex list (Robusta style)', value: Math.round(naiveRate) },
        ratio: classifierRate / naiveRate,
        target: '≥ 200000 messages/s',
      },
      {
        metric: 'JSON line in → classified JSON line out, one core',
        value: Math.round(lineRate),
        unit: 'lines/s',
        baseline: { name: 'JSON.parse of the same lines', value: Math.round(parseRate) },
        ratio: lineRate / parseRate,
      },
      {
        metric: 'cause accuracy on the labelled messages',
        value: Math.round(classifierAccuracy * 1000) / 10,
        unit: '%',
        baseline: { name: 'naive ordered regex list', value: Math.round(naiveAccuracy * 1000) / 10 },
        ratio: classifierAccuracy / naiveAccuracy,
      },
    ],
    notes: [
      `${corpus.length} labelled messages (packages/classifier/test-fixtures: dev + extra) repeated ` +
        `to ${inputs.length}; best of 5 passes after warm-up.`,
      'The classifier also extracts and parses the image, the registry and the provider; the naive baseline ' +
        'only extracts the quoted image.',
    ],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const section = await run({ scale: { events: 0, clusters: 0, rows: 0 }, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${JSON.stringify(section, null, 2)}\n`);
}
