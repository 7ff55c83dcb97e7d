import { describe, expect, it } from 'vitest';
import { allows, mergeTokens, parseIngestTokens } from './tokens.ts';

const A = 'token-aaaaaaaaaaaaaaaa';
const B = 'token-bbbbbbbbbbbbbbbb';

describe('parseIngestTokens', () => {
  it('reads JSON Lines, skipping blank lines and comments', () => {
    expect(
      parseIngestTokens(
        `${JSON.stringify({ token: A, clusters: ['prod-eu'] })}\n\n# ` +
          `ci\n${JSON.stringify({ token: B, clusters: '*' })}\n`,
        'f',
      ),
    ).toEqual([
      { token: A, clusters: ['prod-eu'] },
      { token: B, clusters: '*' },
    ]);
  });

  it('reads YAML: a list, a tokens: key, and one object; ["*"] or a * in the list means every cluster', () => {
    expect(parseIngestTokens(`- token: ${A}\n  clusters: [prod-eu, prod-us]\n`, 'f')).toEqual([
      { token: A, clusters: ['prod-eu', 'prod-us'] },
    ]);
    expect(parseIngestTokens(`tokens:\n  - token: ${A}\n    clusters: ["*"]\n`, 'f')).toEqual([
      { token: A, clusters: '*' },
    ]);
    expect(parseIngestTokens(`token: ${A}\nclusters: [prod-eu, "*"]\n`, 'f')).toEqual([{ token: A, clusters: '*' }]);
    expect(parseIngestTokens(`[]`, 'f')).toEqual([]);
    expect(parseIngestTokens(`# nothing yet\n`, 'f')).toEqual([]);
  });

  it('names the source and the entry of what is wrong', () => {
    expect(() => parseIngestTokens(`- token: ${A}\n`, 'tokens.yaml')).toThrow(/^tokens.yaml: entry 1: clusters: /);
    expect(() => parseIngestTokens(`- token: ${A}\n  clusters: []\n`, 'f')).toThrow(/entry 1: clusters/);
    expect(() => parseIngestTokens(`- token: short\n  clusters: "*"\n`, 'f')).toThrow(
      'f: entry 1: token: at least 16 characters',
    );
    expect(() => parseIngestTokens(`tokens: 5\n`, 'f')).toThrow('f: tokens: expected a list of {token, clusters}');
    expect(() => parseIngestTokens(`{"token": "${A}", "clusters": [}\n`, 'f')).toThrow(/^f: /);
  });
});

describe('mergeTokens and allows', () => {
  it('gives a token listed twice the union of its clusters; * wins', () => {
    expect(
      mergeTokens([
        { token: A, clusters: ['prod-eu'] },
        { token: B, clusters: ['prod-us'] },
        { token: A, clusters: ['prod-us', 'prod-eu'] },
        { token: B, clusters: '*' },
      ]),
    ).toEqual([
      { token: A, clusters: ['prod-eu', 'prod-us'] },
      { token: B, clusters: '*' },
    ]);
  });

  it('allows a cluster only if named, or every cluster for *', () => {
    expect(allows(['prod-eu'], 'prod-eu')).toBe(true);
    expect(allows(['prod-eu'], 'prod-us')).toBe(false);
    expect(allows(['prod-eu'], 'prod-eu-2')).toBe(false);
    expect(allows('*', 'anything')).toBe(true);
  });
});
