import { describe, expect, it } from 'vitest';
import { bearerTokens } from './bearer.ts';

describe('bearerTokens', () => {
  const match = bearerTokens([
    { token: 'tok-eu', grant: 'eu' },
    { token: 'tok-all', grant: 'all' },
  ]);

  it('returns the grant of the token presented', () => {
    expect(match('Bearer tok-eu')).toBe('eu');
    expect(match('Bearer tok-all')).toBe('all');
    expect(match('bearer tok-all')).toBe('all'); // the scheme is case-insensitive (RFC 9110)
  });

  it('returns undefined for a missing, malformed or unknown token', () => {
    expect(match(undefined)).toBeUndefined();
    expect(match('')).toBeUndefined();
    expect(match('Bearer ')).toBeUndefined();
    expect(match('Basic dG9rLWV1Og==')).toBeUndefined();
    expect(match('Bearer tok-e')).toBeUndefined();
    expect(match('Bearer tok-eu2')).toBeUndefined();
    expect(match('Bearer tok-eu tok-all')).toBeUndefined();
  });

  it('matches nothing when no token is configured', () => {
    expect(bearerTokens([])('Bearer anything')).toBeUndefined();
  });
});
