/** ClickHouse DateTime64(3) text as the API writes it, within the type's range (1900–2299). */
const CH_TIME = /^(19\d\d|2[0-2]\d\d)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d{1,3})?$/;
const UINT32_MAX = 4_294_967_295;

/** A failure's position in /v1/failures' order: what a nextCursor holds. */
export interface FailuresCursor {
  time: string;
  uid: string;
  count: number;
}

/** The cursor /v1/failures returns for the last failure of a page. */
export const encodeFailuresCursor = (c: FailuresCursor) =>
  Buffer.from(JSON.stringify([c.time, c.uid, c.count])).toString('base64url');

/**
 * A /v1/failures cursor decoded, or null for anything the API did not return: base64url JSON of
 * [DateTime64 text, uid, UInt32 count] and nothing else, so no value can reach ClickHouse that its
 * parameter types refuse.
 */
export function failuresCursor(cursor: string): FailuresCursor | null {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return null;
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(c) || c.length !== 3) return null;
  const [time, uid, count] = c as unknown[];
  if (typeof time !== 'string' || typeof uid !== 'string' || typeof count !== 'number') return null;
  if (!Number.isInteger(count) || count < 0 || count > UINT32_MAX) return null;
  const m = CH_TIME.exec(time);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  // A calendar time that exists (Date.UTC would roll 2026-02-30 over into March).
  const t = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  if (t.getUTCMonth() !== mo! - 1 || t.getUTCDate() !== d! || t.getUTCHours() !== h! || t.getUTCMinutes() !== mi!)
    return null;
  if (t.getUTCSeconds() !== s!) return null;
  return { time, uid, count };
}
