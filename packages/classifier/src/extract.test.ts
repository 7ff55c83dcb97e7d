// The finders that replaced backtracking patterns must capture exactly what those patterns captured:
// each is checked against its original pattern on many short texts built from the pieces the pattern
// cares about (a fixed seed: the same texts every run).
import { describe, expect, it } from 'vitest';
import { findRegistryInText, imageDeniedByPolicy, nameAfterErrorPullingImage, nameBeforeNotFound } from './extract.ts';

function* texts(pieces: readonly string[], count: number, maxPieces: number): Generator<string> {
  let seed = 42;
  // xorshift32
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = next() % (maxPieces + 1);
    for (let j = 0; j < n; j++) s += pieces[next() % pieces.length];
    yield s;
  }
}

/** Checks `find` against `original` (group 1) on the texts; returns how many texts the pattern matched. */
function agree(original: RegExp, find: (t: string) => string | null, pieces: readonly string[]): number {
  let matched = 0;
  for (const t of texts(pieces, 30_000, 10)) {
    const want = original.exec(t)?.[1] ?? null;
    if (want !== null) matched++;
    expect(find(t), JSON.stringify(t)).toBe(want);
  }
  return matched;
}

describe('the linear finders capture what the original patterns captured', () => {
  it('prohibited by policy: … (image), at the end', () => {
    const matched = agree(/prohibited by policy: .*\(([^()\s]+)\)\s*$/i, imageDeniedByPolicy, [
      'prohibited by policy: ',
      'PROHIBITED by Policy: ',
      'prohibited by policy:',
      '(',
      ')',
      'img:1',
      '(img:1)',
      '(a/b)',
      '(a b)',
      'a b',
      ' ',
      '\n',
      '\r',
      '\u2028',
      '\t',
      '\u00a0',
    ]);
    expect(matched).toBeGreaterThan(300);
  });

  it('Error pulling image (…) from <name>', () => {
    const matched = agree(/Error pulling image \([^)]*\) from ([^\s,]+)/i, nameAfterErrorPullingImage, [
      'Error pulling image (',
      'error PULLING image (',
      ')',
      ') from ',
      ') FROM ',
      'r.io/x',
      ' ',
      ',',
      '(',
      '\n',
    ]);
    expect(matched).toBeGreaterThan(1000);
  });

  it('<host>/<path>: not found', () => {
    const matched = agree(/(?:^|\s)([a-z0-9][^\s"]*\/[^\s"]*?): not found/i, nameBeforeNotFound, [
      ': not found',
      ': NOT Found',
      'r.io/a',
      ' r.io/a: not found',
      ':',
      'r.io',
      '/',
      'a',
      'Z',
      '-',
      ' ',
      '\t',
      '"',
      '\u00a0',
      '\u3000',
      'é',
      '_',
    ]);
    expect(matched).toBeGreaterThan(1000);
  });
});

describe('findRegistryInText', () => {
  it('takes a malformed escape in a mirror’s ?ns= as text instead of throwing', () => {
    const at = (ns: string) => {
      const message = `GET https://mirror.local/v2/x/manifests/1?ns=${ns} 404`;
      return findRegistryInText(message, message.toLowerCase());
    };
    expect(at('%zz')).toBeNull();
    expect(at('r.example%2Eio')).toBe('r.example.io');
  });
});
