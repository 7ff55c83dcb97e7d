import { describe, expect, it } from 'vitest';
import {
  CAUSES,
  CAUSE_TRAITS,
  isConcreteCause,
  isImageCause,
  QUOTA_COUNTED_CAUSES,
  QUOTA_UNCOUNTED_SUBCAUSES,
} from './taxonomy.ts';

describe('cause traits', () => {
  it('decide every cause, and only causes', () => {
    expect(Object.keys(CAUSE_TRAITS).sort()).toEqual([...CAUSES].sort());
  });

  it('call a cause concrete unless it defers to the last one, and know nothing of strangers', () => {
    expect(CAUSES.filter((c) => !isConcreteCause(c))).toEqual(['no_cause', 'unknown']);
    for (const s of ['', '__proto__', 'constructor', 'toString', 'NOT_FOUND'])
      expect(isConcreteCause(s), s).toBe(false);
  });

  it('scope image-bound causes to their image', () => {
    expect(CAUSES.filter((c) => isImageCause(c))).toEqual([
      'invalid_reference',
      'not_found',
      'not_found_or_unauthorized',
      'platform_mismatch',
      'pull_policy_never',
      'policy_denied',
    ]);
    expect(isImageCause('hasOwnProperty')).toBe(false);
  });

  it('count the failures that fetched a manifest against the Docker Hub quota', () => {
    expect(QUOTA_COUNTED_CAUSES).toEqual(['platform_mismatch', 'node_storage']);
    // …except a failed pull intent record: the kubelet never asked the registry.
    expect(QUOTA_UNCOUNTED_SUBCAUSES).toEqual(['pull_records']);
  });
});
