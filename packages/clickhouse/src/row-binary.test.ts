import { describe, expect, expectTypeOf, it } from 'vitest';
import { RowBinaryFormat, RowBlockWriter, type RowOf, type TableColumns } from './row-binary.ts';

const FORMAT = new RowBinaryFormat<{ s: string; n: number; t: number; nt: number | null }>([
  ['s', 'String'],
  ['n', 'Int8'],
  ['t', "DateTime64(3, 'UTC')"],
  ['nt', "Nullable(DateTime64(3, 'UTC'))"],
]);

describe('RowBinaryFormat', () => {
  it(
    "writes the names-and-types header, then each row as length-prefixed UTF-8, two's complement " +
      'and little-endian 64-bit',
    () => {
      const bytes = FORMAT.encode([{ s: 'é', n: -2, t: 2 ** 32 + 5, nt: null }]);
      const header = Buffer.concat([
        Buffer.from([4]),
        ...['s', 'n', 't', 'nt', 'String', 'Int8', "DateTime64(3, 'UTC')", "Nullable(DateTime64(3, 'UTC'))"].map((x) =>
          Buffer.concat([Buffer.from([x.length]), Buffer.from(x)]),
        ),
      ]);
      expect(bytes.subarray(0, header.length)).toEqual(header);
      expect([...bytes.subarray(header.length)]).toEqual([2, 0xc3, 0xa9, 0xfe, 5, 0, 0, 0, 1, 0, 0, 0, 1]);
    },
  );

  it('writes lengths of 128 and more as LEB128 and grows its buffer for large rows', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ s: 'a'.repeat(300 + i), n: 0, t: 0, nt: 7 }));
    const bytes = FORMAT.encode(rows);
    const headerLength = FORMAT.encode([]).length;
    expect([...bytes.subarray(headerLength, headerLength + 2)]).toEqual([0xac, 0x02]); // 300
    expect(bytes.length).toBe(headerLength + rows.reduce((n, r) => n + 2 + r.s.length + 1 + 8 + 1 + 8, 0));
  });

  it('names the column of a value that does not fit its type, before anything is sent', () => {
    expect(() => FORMAT.encode([{ s: 'a', n: 1, t: Number.NaN, nt: null }])).toThrow(/column t: .*DateTime64/);
    expect(() => FORMAT.encode([{ s: 1 as unknown as string, n: 1, t: 1, nt: null }])).toThrow(
      /column s: 1 is not a valid String/,
    );
  });
});

describe('RowBlockWriter', () => {
  const rows = Array.from({ length: 20 }, (_, i) => ({ s: `row ${i}`, n: i, t: i * 1000, nt: i % 2 ? null : i }));

  it('encodes rows one at a time into the bytes encode() puts after the header', () => {
    const w = new RowBlockWriter(FORMAT, 1);
    for (const r of rows) w.add(r);
    const block = w.finish();
    expect(block.rows).toBe(20);
    expect(Buffer.concat([FORMAT.header, block.bytes])).toEqual(FORMAT.encode(rows));
    expect(FORMAT.block(rows).bytes).toEqual(block.bytes);
  });

  it('leaves out a row that does not fit its types, whole, and goes on with the next', () => {
    const w = new RowBlockWriter(FORMAT, 3);
    w.add(rows[0]!);
    expect(() => w.add({ s: 'half', n: 1, t: Number.NaN, nt: null })).toThrow(/column t: .*DateTime64/);
    w.add(rows[1]!);
    const block = w.finish();
    expect(block.rows).toBe(2);
    expect(block.bytes).toEqual(FORMAT.block([rows[0]!, rows[1]!]).bytes);
  });

  it('keeps no more memory than its rows take once finished, however many rows it was sized for', () => {
    const format = new RowBinaryFormat<{ s: string }>([['s', 'String']]);
    const w = new RowBlockWriter(format, 100); // sized for 100 rows of 512 bytes
    for (let i = 0; i < 3; i++) w.add({ s: 'x'.repeat(5000) });
    const block = w.finish();
    expect(block.bytes.length).toBe(3 * (2 + 5000));
    expect(block.bytes.buffer.byteLength).toBe(3 * (2 + 5000));
  });
});

describe('RowOf', () => {
  it('derives the row type from the one column definition', () => {
    const COLUMNS = [
      ['at', "DateTime64(3, 'UTC')"],
      ['name', 'LowCardinality(String)'],
      ['ended', "Nullable(DateTime64(3, 'UTC'))"],
      ['n', 'UInt32'],
    ] as const satisfies TableColumns;
    expectTypeOf<RowOf<typeof COLUMNS>>().toEqualTypeOf<{
      at: number;
      name: string;
      ended: number | null;
      n: number;
    }>();
    const format = new RowBinaryFormat<RowOf<typeof COLUMNS>>(COLUMNS);
    expect(format.columnList).toBe('`at`, `name`, `ended`, `n`');
  });
});
