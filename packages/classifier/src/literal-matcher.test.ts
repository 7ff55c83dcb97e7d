import { describe, expect, it } from 'vitest';
import { LiteralMatcher } from './literal-matcher.ts';

describe('LiteralMatcher', () => {
  const literals = ['denied', 'pull access denied', 'he', 'she', 'hers', 'eof'];
  const m = new LiteralMatcher(literals, [0, 1, 2, 3, 4, 5], 6);
  const found = (text: string) => {
    m.scan(text);
    return literals.map((_, i) => i).filter((i) => m.has(i));
  };

  it('finds overlapping and nested literals in one pass', () => {
    expect(found('pull access denied')).toEqual([0, 1]);
    expect(found('ushers')).toEqual([2, 3, 4]);
  });
  it('matches upper-case text and skips characters no literal has', () => {
    expect(found('Unexpected EOF — ü')).toEqual([5]);
    expect(found('PULL ACCESS DENIED')).toEqual([0, 1]);
  });
  it('forgets the previous text', () => {
    found('denied');
    expect(found('nothing at all')).toEqual([]);
  });
});
