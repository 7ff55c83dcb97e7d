import { describe, expect, it } from 'vitest';
import { kubeletBackoff } from './kubelet.ts';

describe('kubeletBackoff', () => {
  it('is 5 s after the first failure, doubling, and 300 s from the seventh on', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 12].map((n) => kubeletBackoff(n))).toEqual([
      { stage: 0, seconds: 5 },
      { stage: 1, seconds: 10 },
      { stage: 2, seconds: 20 },
      { stage: 3, seconds: 40 },
      { stage: 4, seconds: 80 },
      { stage: 5, seconds: 160 },
      { stage: 6, seconds: 300 },
      { stage: 6, seconds: 300 },
    ]);
  });
});
