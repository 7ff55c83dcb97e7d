import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test/support/seeded.ts';
import type { z } from 'zod';
import { decodeCursor, encodeCursor } from './core/report.ts';
import { encodeFailuresCursor, failuresCursor } from './core/failures-cursor.ts';
import { ParamError, parseQuery } from './params.ts';
import { AlertsQuery } from './alerts/routes.ts';
import { FailuresQuery } from './failures/routes.ts';
import { HotspotsQuery } from './hotspots/routes.ts';
import { IncidentsQuery } from './incidents/routes.ts';
import { StuckQuery } from './pods/routes.ts';
import { RegistriesQuery } from './registries/routes.ts';
import { RisksQuery } from './risks/routes.ts';
import { TeamsQuery } from './teams/routes.ts';
import { TrendsQuery } from './trends/routes.ts';
import { ReportQuery } from './reports/routes.ts';
import { QuotaQuery, RecoveryQuery } from './diagnosis/routes.ts';

// Property-style fuzzing of everything a request's query string reaches before ClickHouse does: every
// input either parses to values ClickHouse's parameter types accept, or is a ParamError (400). Seeded, so
// a failure names an input that reproduces.

type Rng = ReturnType<typeof seededRandom>;

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const CH_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$/;
const VALID = { time: '2026-11-24 11:50:00.123', uid: 'ev-1', count: 3 };

/** Hostile JSON values: wrong types, edge numbers, deep and odd strings. */
const ODD: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  -0,
  2 ** 32,
  2 ** 32 - 1,
  2 ** 53,
  Number.MAX_VALUE,
  '',
  'x',
  '2026-11-24',
  '2026-11-24T11:50:00Z',
  '2026-02-30 11:50:00.000',
  '2026-11-24 24:00:00.000',
  '2026-11-24 11:60:00.000',
  '2026-11-24 11:50:60.000',
  '1899-12-31 23:59:59.999',
  '2300-01-01 00:00:00.000',
  '0000-00-00 00:00:00.000',
  '2026-11-24 11:50:00.0000',
  ' 2026-11-24 11:50:00.000',
  "2026-11-24 11:50:00.000'",
  '\u0000',
  '{x:String}',
  [],
  {},
  [[]],
  { __proto__: 1 },
];

function randomJson(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 4 : 6)) {
    case 0:
      return r.pick(ODD);
    case 1:
      return r.next() * 10 ** r.int(12) * (r.next() < 0.5 ? -1 : 1);
    case 2:
      return String.fromCharCode(...Array.from({ length: r.int(30) }, () => r.int(0x3000)));
    case 3:
      return r.int(2 ** 31);
    case 4:
      return Array.from({ length: r.int(5) }, () => randomJson(r, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(3) }, (_, i) => [`k${i}`, randomJson(r, depth + 1)]));
  }
}

/** Cursor texts: raw JSON texts (1e400 and the like), random JSON, mutations of a valid cursor, random bytes. */
function hostileCursor(r: Rng): string {
  switch (r.int(6)) {
    case 0:
      return b64(
        r.pick([
          `["${VALID.time}","u",1e400]`,
          `["${VALID.time}","u",-1e400]`,
          `["${VALID.time}","u",1e-400]`,
          `["${VALID.time}","u",01]`,
          `["${VALID.time}","u",0x10]`,
          `["${VALID.time}","u",NaN]`,
          `["${VALID.time}","u",1,]`,
          `["${VALID.time}","u" 1]`,
          '["x","y",1]',
        ]),
      );
    case 1:
      return b64(JSON.stringify(randomJson(r)));
    case 2: {
      // A valid cursor with one element replaced.
      const c: unknown[] = [VALID.time, VALID.uid, VALID.count];
      c[r.int(3)] = r.pick(ODD);
      return b64(JSON.stringify(c));
    }
    case 3: {
      const c: unknown[] = [VALID.time, VALID.uid, VALID.count];
      if (r.next() < 0.5) c.push(randomJson(r));
      else c.splice(r.int(3), 1);
      return b64(JSON.stringify(c));
    }
    case 4: {
      const valid = encodeFailuresCursor(VALID);
      const at = r.int(valid.length);
      return valid.slice(0, at) + String.fromCharCode(r.int(128)) + valid.slice(at + 1);
    }
    default:
      return Buffer.from(Array.from({ length: r.int(60) }, () => r.int(256))).toString(
        r.pick(['base64url', 'base64', 'latin1', 'hex'] as const),
      );
  }
}

describe('the /v1/failures cursor', () => {
  it('round-trips what the API returns', () => {
    expect(failuresCursor(encodeFailuresCursor(VALID))).toEqual(VALID);
    expect(failuresCursor(encodeFailuresCursor({ time: '2026-11-24 11:50:00', uid: '', count: 0 }))).toEqual({
      time: '2026-11-24 11:50:00',
      uid: '',
      count: 0,
    });
    const max = { time: '2299-12-31 23:59:59.999', uid: 'u', count: 4_294_967_295 };
    expect(failuresCursor(encodeFailuresCursor(max))).toEqual(max);
  });

  it.each([
    ['["x","y",1]'],
    [`["${VALID.time}","u",-1]`],
    [`["${VALID.time}","u",1.5]`],
    [`["${VALID.time}","u",1e400]`],
    [`["${VALID.time}","u",4294967296]`],
    ['["2026-02-30 00:00:00.000","u",1]'],
    ['["2026-11-24 11:50:60.000","u",1]'],
    ['["1899-12-31 23:59:59.000","u",1]'],
    ['["2300-01-01 00:00:00.000","u",1]'],
    [`["${VALID.time}","u"]`],
    [`["${VALID.time}",1,1]`],
  ])('refuses %s', (text) => {
    expect(failuresCursor(b64(text))).toBeNull();
    expect(() => parseQuery(FailuresQuery, { cursor: b64(text) })).toThrow(
      new ParamError('cursor', 'not a cursor this API returned'),
    );
  });

  it('is, for 10,000 hostile inputs, either refused as a parameter or values ClickHouse accepts', () => {
    const r = seededRandom(21);
    let accepted = 0;
    const wrong: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const cursor = hostileCursor(r);
      const c = failuresCursor(cursor);
      if (c) {
        accepted++;
        if (!CH_TIME.test(c.time) || !Number.isInteger(c.count) || c.count < 0 || c.count > 4_294_967_295)
          wrong.push(`accepted ${cursor}`);
      }
      const err = thrown(() => parseQuery(FailuresQuery, { cursor }));
      if (err !== null && !(err instanceof ParamError)) wrong.push(`${cursor}: ${String(err)}`);
      if ((err === null) !== (c !== null && cursor.length <= 200)) wrong.push(`schema and decoder disagree: ${cursor}`);
    }
    expect(wrong).toEqual([]);
    // Only the mutations that kept a valid cursor valid (a changed uid letter, say) get through.
    expect(accepted).toBeLessThan(1_000);
  });
});

/** What `f` throws, or null. */
function thrown(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

describe('the report cursor', () => {
  it('is, for 10,000 hostile inputs, either a CursorError or a non-negative integer and a key', () => {
    const r = seededRandom(17);
    const valid = encodeCursor({ failures: 5, key: { cluster: 'a' } });
    expect(decodeCursor(valid)).toEqual({ failures: 5, key: '[["cluster","a"]]' });
    const wrong: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const cursor =
        i % 3 === 0
          ? b64(JSON.stringify([r.pick(ODD), r.pick(ODD)]))
          : i % 3 === 1
            ? hostileCursor(r)
            : b64(JSON.stringify(randomJson(r)));
      let out: { failures: number; key: string } | null = null;
      const e = thrown(() => {
        out = decodeCursor(cursor);
      });
      if (e !== null && (e as Error).message !== 'not a cursor this API returned') wrong.push(`${cursor}: ${e}`);
      const o = out as { failures: number; key: string } | null;
      if (o && (!Number.isSafeInteger(o.failures) || o.failures < 0 || typeof o.key !== 'string'))
        wrong.push(`accepted ${cursor}`);
      const err = thrown(() => parseQuery(ReportQuery, { cursor }));
      if (err !== null && !(err instanceof ParamError)) wrong.push(`${cursor}: ${String(err)}`);
      if ((err === null) !== (o !== null && cursor.length <= 2000))
        wrong.push(`schema and decoder disagree: ${cursor}`);
    }
    expect(wrong).toEqual([]);
    for (const text of ['[-1,"k"]', '[1.5,"k"]', '[1e400,"k"]', '[1,2]', '[1,"k",3]', '{"0":1,"1":"k"}'])
      expect(() => decodeCursor(b64(text)), text).toThrow('not a cursor this API returned');
  });
});

const SCHEMAS: [string, z.ZodObject][] = [
  ['registries', RegistriesQuery],
  ['hotspots', HotspotsQuery],
  ['incidents', IncidentsQuery],
  ['trends', TrendsQuery],
  ['failures', FailuresQuery],
  ['stuck', StuckQuery],
  ['alerts', AlertsQuery],
  ['risks', RisksQuery],
  ['teams', TeamsQuery],
  ['reports', ReportQuery],
  ['quota', QuotaQuery],
  ['recovery', RecoveryQuery],
];

const VALUES = [
  '',
  ' ',
  '-1',
  '0',
  '1.5',
  '1e309',
  '1e400',
  'NaN',
  'Infinity',
  '0x10',
  '99999999999999999999',
  '2026-11-24T10:00:00Z',
  '2026-13-45T99:99:99Z',
  '2026-02-30',
  '9999-12-31T23:59:59Z',
  '0001-01-01',
  "' OR 1=1 --",
  '{x:String}',
  '\u0000',
  'x'.repeat(5000),
  'cluster,cluster',
  'cluster,workload,image',
  'csv',
  'open',
  '1h',
];

describe('every parameter of every route', () => {
  it('is either parsed or a ParamError, never another error, for 10,000 random queries', () => {
    const r = seededRandom(4);
    const wrong: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const [name, schema] = r.pick(SCHEMAS);
      const keys = [...Object.keys(schema.shape), 'bogus', '__proto__', 'constructor', 'prototype', 'toString'];
      const query: Record<string, unknown> = Object.create(null);
      for (let k = r.int(4); k > 0; k--)
        query[r.pick(keys)] =
          r.next() < 0.1 ? [r.pick(VALUES), r.pick(VALUES)] : r.next() < 0.3 ? hostileCursor(r) : r.pick(VALUES);
      const err = thrown(() => parseQuery(schema, query));
      if (err !== null && !(err instanceof ParamError)) wrong.push(`${name} ${JSON.stringify(query)}: ${String(err)}`);
      const reserved = ['__proto__', 'constructor', 'prototype'].some((k) => k in query);
      if (reserved && !(err instanceof ParamError)) wrong.push(`${name} accepted ${JSON.stringify(query)}`);
    }
    expect(wrong).toEqual([]);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses %s as a parameter name on every route', (key) => {
    for (const [name, schema] of SCHEMAS) {
      const query = Object.create(null) as Record<string, unknown>;
      query[key] = '1';
      expect(() => parseQuery(schema, query), name).toThrow(new ParamError(key, 'a reserved name'));
    }
  });
});
