import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { createClickHouse } from './client.ts';
import { insertRowBinary, RowBinaryFormat } from './row-binary.ts';

interface Row {
  s: string;
  lc: string;
  u8: number;
  i8: number;
  u32: number;
  u64: number;
  t: number;
  nt: number | null;
  nu: number | null;
  b: boolean;
}

const FORMAT = new RowBinaryFormat<Row>([
  ['s', 'String'],
  ['lc', 'LowCardinality(String)'],
  ['u8', 'UInt8'],
  ['i8', 'Int8'],
  ['u32', 'UInt32'],
  ['u64', 'UInt64'],
  ['t', "DateTime64(3, 'UTC')"],
  ['nt', "Nullable(DateTime64(3, 'UTC'))"],
  ['nu', 'Nullable(UInt64)'],
  ['b', 'Bool'],
]);

describe('RowBinary inserts against the real ClickHouse', () => {
  const database = uniqueName('rowbinary_it');
  const client = createClickHouse({ ...testEndpoints().clickhouse });

  beforeAll(async () => {
    await client.command({ query: `CREATE DATABASE ${database}` });
    await client.command({
      query:
        `CREATE TABLE ${database}.t (i UInt32 DEFAULT 0, s String, lc LowCardinality(String), u8 UInt8, i8 ` +
        `Int8, u32 UInt32, u64 UInt64,
              t DateTime64(3, 'UTC'), nt Nullable(DateTime64(3, 'UTC')), nu Nullable(UInt64), b Bool, extra ` +
        `String DEFAULT 'kept') ENGINE = MergeTree ORDER BY tuple()`,
    });
  });
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it(
    'stores every value as sent: multi-byte text, long strings, 64-bit numbers, millisecond times, ' + 'nulls',
    async () => {
      const long = 'x'.repeat(70_000); // a three-byte length prefix
      const rows: Row[] = [
        {
          s: 'Failed to pull image "nginx:1.27": 429 Too Many Requests',
          lc: 'docker.io',
          u8: 255,
          i8: -1,
          u32: 4_294_967_295,
          u64: 2 ** 53 - 1,
          t: Date.UTC(2026, 10, 24, 10, 0, 0, 123),
          nt: null,
          nu: null,
          b: true,
        },
        {
          s: 'ünïcödé ✓ 镜像拉取失败 \t\n\\ "quoted"',
          lc: '',
          u8: 0,
          i8: 127,
          u32: 0,
          u64: 0,
          t: 0,
          nt: Date.UTC(2030, 0, 1, 0, 0, 0, 1),
          nu: 1_234_567_890_123,
          b: false,
        },
        {
          s: long,
          lc: 'ghcr.io',
          u8: 1,
          i8: -128,
          u32: 128,
          u64: 2 ** 32,
          t: Date.UTC(1999, 11, 31, 23, 59, 59, 999),
          nt: 0,
          nu: 0,
          b: true,
        },
      ];
      await insertRowBinary(client, {
        table: `${database}.t`,
        format: FORMAT,
        rows,
        clickhouse_settings: { async_insert: 0 },
      });
      const rs = await client.query({
        query:
          `SELECT s, lc, u8, i8, u32, toString(u64) AS u64, toUnixTimestamp64Milli(t) AS t, ` +
          `toUnixTimestamp64Milli(nt) AS nt, toString(nu) AS nu, b, extra FROM ${database}.t ORDER BY u32 DESC`,
        format: 'JSONEachRow',
      });
      const back = (await rs.json<Record<string, unknown>>()).map((r) => ({
        ...r,
        u64: Number(r.u64),
        t: Number(r.t),
        nt: r.nt === null ? null : Number(r.nt),
        nu: r.nu === null ? null : Number(r.nu),
      }));
      expect(back).toEqual([
        { ...rows[0], extra: 'kept' },
        { ...rows[2], extra: 'kept' },
        { ...rows[1], extra: 'kept' },
      ]);
    },
  );

  it('stores blocks encoded beforehand, and rows beside them, in one insert after one header', async () => {
    const row = (i: number): Row => ({
      s: `block row ${i}`,
      lc: 'quay.io',
      u8: i,
      i8: 0,
      u32: 1_000 + i,
      u64: i,
      t: i,
      nt: null,
      nu: null,
      b: false,
    });
    const blocks = [FORMAT.block([row(0), row(1)]), FORMAT.block([]), FORMAT.block([row(2)])];
    await insertRowBinary(client, {
      table: `${database}.t`,
      format: FORMAT,
      blocks,
      rows: [row(3)],
      clickhouse_settings: { async_insert: 0 },
    });
    const rs = await client.query({
      query: `SELECT s, u32 FROM ${database}.t WHERE s LIKE 'block row %' ORDER BY u32`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([0, 1, 2, 3].map((i) => ({ s: `block row ${i}`, u32: 1_000 + i })));
  });

  it(
    'is refused by the server when a column type does not match the table, instead of writing shifted ' + 'bytes',
    async () => {
      const wrong = new RowBinaryFormat<{ s: string; u32: number }>([
        ['s', 'String'],
        ['u32', 'UInt64'],
      ]);
      await expect(
        insertRowBinary(client, { table: `${database}.t`, format: wrong, rows: [{ s: 'a', u32: 1 }] }),
      ).rejects.toThrow(/type|UInt/i);
    },
  );
});
