import { describe, expect, it } from 'vitest';
import { storedOffsetOfTopic } from './stored-offsets.ts';

describe('storedOffsetOfTopic', () => {
  it("takes the topic's own rows, whatever earlier topics of the name stored", () => {
    expect(storedOffsetOfTopic({ mine: 41, unknown: -1 }, 100)).toBe(41);
    expect(storedOffsetOfTopic({ mine: -1, unknown: -1 }, 100)).toBe(-1);
  });

  it('counts rows without an ID below the end (stored before the upgrade), with its own', () => {
    expect(storedOffsetOfTopic({ mine: -1, unknown: 99 }, 100)).toBe(99);
    expect(storedOffsetOfTopic({ mine: 120, unknown: 99 }, 130)).toBe(120);
  });

  it('ignores rows without an ID at or above the end: an earlier topic of the same name', () => {
    expect(storedOffsetOfTopic({ mine: -1, unknown: 12_880 }, 5)).toBe(-1);
    expect(storedOffsetOfTopic({ mine: 3, unknown: 12_880 }, 5)).toBe(3);
    expect(storedOffsetOfTopic({ mine: -1, unknown: 5 }, 5)).toBe(-1);
  });
});
