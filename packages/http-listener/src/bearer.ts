import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token authentication shared by the query API and the collector's ingest: each token carries
 * a grant (what it may do), and `match(authorizationHeader)` returns the grant of the token presented,
 * or `undefined`. Tokens are compared as SHA-256 digests (equal length) with `timingSafeEqual`, against
 * every configured token without stopping at the first match, so the time taken reveals neither which
 * token matched nor how much of one did.
 */
export function bearerTokens<G>(
  tokens: { token: string; grant: G }[],
): (authorization: string | undefined) => G | undefined {
  const digests = tokens.map((t) => ({ digest: digest(t.token), grant: t.grant }));
  return (authorization) => {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const presented = digest(m[1]!);
    let grant: G | undefined;
    for (const t of digests) if (timingSafeEqual(t.digest, presented) && grant === undefined) grant = t.grant;
    return grant;
  };
}
