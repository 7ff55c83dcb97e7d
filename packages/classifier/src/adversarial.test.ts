// Hostile messages: whoever may create an Event in a watched cluster, or holds an ingest token,
// chooses the text. Every rule and every finder is fed its own trigger followed by 1 MiB of the
// characters its patterns scan over; each classification must end well within a second (a bound on
// backtracking, not a benchmark: a quadratic pattern takes minutes at this size) with the cause the
// same construction has when short.
import { describe, expect, it } from 'vitest';
import { classify } from './classify.ts';
import { RULES, type Rule } from './rules.ts';
import type { Classification, ClassifyInput } from './taxonomy.ts';

const SIZE = 1 << 20;
const LIMIT_MS = 1000;
/** For a test's whole set of inputs: the bound that matters is LIMIT_MS per input. */
const TEST_TIMEOUT_MS = 120_000;

/** What backtracking patterns scan over: the characters of the rules' and finders' classes and separators. */
const FILLERS = ['/', ' ', '(', ')', ':', 'a', '"', '\\', '.', '-', '\n', '0', 'a.', 'a/', '%'];

const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length));

interface Timed {
  label: string;
  ms: number;
  result: Pick<Classification, 'cause' | 'subcause'>;
}

function timed(label: string, input: ClassifyInput): Timed {
  const start = performance.now();
  const r = classify(input);
  return { label, ms: performance.now() - start, result: { cause: r.cause, subcause: r.subcause } };
}

/** Each slow input with its time, so a failure names what was slow; empty when every input was fast. */
const slow = (runs: readonly Timed[]) =>
  runs.filter((r) => r.ms >= LIMIT_MS).map((r) => `${r.label}: ${r.ms.toFixed(0)} ms`);

const ECR_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1';

/**
 * A text that fires the rule: its first literal that, on its own, is classified by it (a literal another rule
 * shares is taken by the earlier rule).
 */
function triggerOf(rule: Rule): string {
  const image = rule.onlyWhenCredentialsRequired ? ECR_IMAGE : null;
  const fires = (t: string) => {
    const r = classify({ message: `${t} `, image });
    return r.cause === rule.cause && r.subcause === rule.subcause;
  };
  const lit = rule.anyOf.find(fires);
  if (lit !== undefined) return lit;
  const fixed: Record<string, string> = { 'policy-signature': 'signature verification failed' };
  const t = fixed[rule.id];
  if (t === undefined || !fires(t)) throw new Error(`no trigger for rule ${rule.id}`);
  return t;
}

describe('every rule, fed 1 MiB after its trigger', () => {
  for (const rule of RULES) {
    it(
      `${rule.id}: each filler classified within ${LIMIT_MS} ms, as ${rule.cause}`,
      () => {
        const trigger = triggerOf(rule);
        const image = rule.onlyWhenCredentialsRequired ? ECR_IMAGE : null;
        const runs = FILLERS.map((f) =>
          timed(`${JSON.stringify(trigger)} + ${JSON.stringify(f)} x ${SIZE}`, {
            message: `${trigger} ${fill(f, SIZE)}`,
            image,
          }),
        );
        expect(slow(runs)).toEqual([]);
        for (const r of runs) expect(r.result, r.label).toEqual({ cause: rule.cause, subcause: rule.subcause });
      },
      TEST_TIMEOUT_MS,
    );
  }
});

/**
 * The wrappers the image and registry finders look for (extract.ts), as runtimes write them, and the
 * message kinds' phrases: each is fed followed by 1 MiB of each filler, and repeated to 1 MiB.
 */
const FINDER_TRIGGERS = [
  'Failed to pull image \\"',
  'Back-off pulling image "',
  'Pulling image "',
  'Successfully pulled image "',
  'Failed to inspect image "',
  'Container image "',
  'Failed to apply default image tag "',
  'PullImage "',
  'PullImage \\"',
  'image="',
  'failed to pull and unpack image "',
  'failed to resolve reference "',
  'initializing source docker://',
  'Running image docker://',
  'pull access denied for ',
  'manifest for ',
  'repository ',
  'prohibited by policy: ',
  'prohibited by policy: (',
  'couldn\'t parse image reference "',
  'image pull failed for ',
  'failed to pull image ',
  'failed to resolve ref ',
  'no such image: ',
  'not found in repository ',
  'Error: image ',
  'Pulling repository ',
  'Error pulling ',
  'a/b: failed to ',
  'pinging container registry ',
  'reading manifest ',
  'pulling from host ',
  'Error pulling image (',
  'fetching manifest ',
  ': not found',
  ': not found a',
  ' a/b: not found',
  'https://',
  'https://r.example/v2/',
  'https://r.example/v2/x?ns=',
  'lookup ',
  'dialing ',
  'resolving host ',
  '[rpc error: ',
  ', rpc error: ',
  'spec.containers{',
  'Error: ErrImagePull',
  'Successfully pulled image "x" in ',
];

describe('every image and registry finder, fed 1 MiB after its wrapper', () => {
  for (const trigger of FINDER_TRIGGERS) {
    it(
      `${JSON.stringify(trigger)}: within ${LIMIT_MS} ms, the cause of the short form`,
      () => {
        const inputs: [string, (size: number) => string][] = [
          ...FILLERS.map((f): [string, (size: number) => string] => [
            `${JSON.stringify(trigger)} + ${JSON.stringify(f)}`,
            (size) => trigger + fill(f, size),
          ]),
          [`${JSON.stringify(trigger)} repeated`, (size) => fill(trigger, size)],
          ...(trigger.toLowerCase() !== trigger
            ? [
                [
                  `${JSON.stringify(trigger)} repeated, lower-case`,
                  (size: number) => fill(trigger.toLowerCase(), size),
                ] as [string, (size: number) => string],
              ]
            : []),
          [`${JSON.stringify(trigger)} and "a" repeated`, (size) => fill(`${trigger}a`, size)],
        ];
        const runs = inputs.map(([label, make]) => timed(`${label} to ${SIZE}`, { message: make(SIZE) }));
        expect(slow(runs)).toEqual([]);
        inputs.forEach(([label, make], i) => {
          expect(runs[i]?.result, label).toEqual(timed(label, { message: make(4096) }).result);
        });
      },
      TEST_TIMEOUT_MS,
    );
  }
});

describe('the worst inputs found before (quadratic backtracking), at 1 MiB', () => {
  const cases: [string, string, Pick<Classification, 'cause' | 'subcause'>][] = [
    ['": not found a" + "/" x 1 MiB', `: not found a${'/'.repeat(SIZE)}`, { cause: 'not_found', subcause: null }],
    [
      '"prohibited by policy: " repeated',
      fill('prohibited by policy: ', SIZE),
      { cause: 'policy_denied', subcause: null },
    ],
    ['"Error pulling image (" repeated', fill('Error pulling image (', SIZE), { cause: 'unknown', subcause: null }],
  ];
  for (const [label, message, expected] of cases)
    it(
      `${label}: within ${LIMIT_MS} ms, ${expected.cause}`,
      () => {
        const r = timed(label, { message });
        expect(slow([r])).toEqual([]);
        expect(r.result).toEqual(expected);
      },
      TEST_TIMEOUT_MS,
    );
});
