import { findImage, findRegistryInText, registryOfImage } from './extract.ts';
import { messageKind, withoutAggregation } from './message-kind.ts';
import { providerOf, requiresCredentials } from './provider.ts';
import { parseReference, type ImageReference } from './reference.ts';
import { hintFor, RETRYABLE_CAUSES } from './remedy.ts';
import { LiteralMatcher } from './literal-matcher.ts';
import { RULES, type Rule } from './rules.ts';
import type { Cause, Classification, ClassifyInput, Provider, Subcause } from './taxonomy.ts';

interface Verdict {
  cause: Cause;
  subcause: Subcause | null;
}

const UNKNOWN: Verdict = { cause: 'unknown', subcause: null };
const NO_CAUSE: Verdict = { cause: 'no_cause', subcause: null };

// All the rules' literal gates, compiled once: one scan of the message tells which rules to try.
const GATES = new LiteralMatcher(
  RULES.flatMap((r) => r.anyOf),
  RULES.flatMap((r, i) => r.anyOf.map(() => i)),
  RULES.length,
);

function matchRules(lower: string, provider: Provider | null): Verdict {
  GATES.scan(lower);
  for (let i = 0; i < RULES.length; i++) {
    if (!GATES.has(i)) continue;
    const r = RULES[i] as Rule;
    if (r.onlyWhenCredentialsRequired && !requiresCredentials(provider)) continue;
    if (r.onlyOnDockerHub && provider !== null && provider !== 'docker_hub') continue;
    if (r.pattern && !r.pattern.test(lower)) continue;
    return { cause: r.cause, subcause: r.subcause };
  }
  return UNKNOWN;
}

// In the kubelet's `[err1, err2]` list (one attempt per pull secret, then anonymous) an attempt that
// got past authentication tells more than the ones that were refused.
const AGGREGATE_WEAKNESS: Partial<Record<Cause, number>> = {
  unknown: 3,
  no_cause: 3,
  unauthorized: 2,
  not_found_or_unauthorized: 1,
};
const AGGREGATE_SPLIT_RE = /,\s*(?=rpc error:|failed to pull and unpack image|error response from daemon)/;
const AGGREGATE_OPEN_RE = /\[(?:rpc error|failed to pull and unpack image|error response from daemon)/;

function matchAggregate(lower: string, provider: Provider | null): Verdict {
  const open = AGGREGATE_OPEN_RE.exec(lower)?.index ?? -1;
  const parts = lower.slice(open + 1).split(AGGREGATE_SPLIT_RE);
  let best: Verdict = UNKNOWN;
  let bestWeakness = Infinity;
  for (const part of parts) {
    const v = matchRules(part, provider);
    const weakness = AGGREGATE_WEAKNESS[v.cause] ?? 0;
    if (weakness < bestWeakness) {
      best = v;
      bestWeakness = weakness;
    }
  }
  return best;
}

/** Classifies one image pull failure message (kubelet event, container waiting message or runtime log line). */
export function classify(input: ClassifyInput): Classification {
  const message = withoutAggregation(input.message);
  const lower = message.toLowerCase();

  let image = findImage(message, lower);
  if (image === null && input.image) image = input.image;
  let reference: ImageReference | null = null;
  let registry: string | null = null;
  let refError: string | null = null;
  if (image !== null) {
    const parsed = parseReference(image);
    if (parsed.ok) {
      reference = parsed.reference;
      registry = parsed.reference.registry;
    } else {
      refError = parsed.reason;
      registry = registryOfImage(image) ?? findRegistryInText(message, lower);
    }
  } else {
    registry = findRegistryInText(message, lower);
  }
  const provider: Provider | null = registry === null ? null : providerOf(registry);

  const kind = messageKind(message, input.reason);
  let verdict: Verdict;
  if (kind === 'backoff' && lower.indexOf(':', lower.lastIndexOf('"') + 1) === -1) {
    verdict = NO_CAUSE;
  } else if (kind === 'pulling' || kind === 'pulled' || kind === 'already_present') {
    verdict = UNKNOWN; // not a failure: nothing in it is evidence
  } else {
    const aggregate = lower.indexOf('[') !== -1 && AGGREGATE_OPEN_RE.test(lower);
    verdict = aggregate ? matchAggregate(lower, provider) : matchRules(lower, provider);
  }
  if (verdict.cause === 'unknown') verdict = fromReason(input.reason, verdict);

  if (verdict.cause === 'invalid_reference' && verdict.subcause === null) {
    if (refError === 'scheme_prefix' || refError === 'uppercase' || refError === 'name_too_long')
      verdict = { cause: 'invalid_reference', subcause: refError };
  }

  return {
    cause: verdict.cause,
    subcause: verdict.subcause,
    image,
    reference,
    referenceValid: image === null ? null : reference !== null,
    registry,
    provider,
    retryable: RETRYABLE_CAUSES.has(verdict.cause),
    hint: hintFor(verdict.cause, verdict.subcause),
  };
}

// The event reason names the cause only for the kubelet's own verdicts.
function fromReason(reason: string | null | undefined, fallback: Verdict): Verdict {
  switch (reason) {
    case 'ErrImageNeverPull':
      return { cause: 'pull_policy_never', subcause: null };
    case 'InvalidImageName':
      return { cause: 'invalid_reference', subcause: null };
    case 'BackOff':
    case 'ImagePullBackOff':
      return NO_CAUSE;
    default:
      return fallback;
  }
}
