import { Readable } from 'node:stream';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';

/**
 * ClickHouse's RowBinary input format, for the hot insert path: strings go as length + bytes (no
 * JSON escaping of kilobyte payloads on our side, no JSON parsing on the server's), times as
 * integers. Rows are sent as RowBinaryWithNamesAndTypes, so the server checks every column's name
 * and type against the table and a schema drift fails loudly instead of writing shifted bytes.
 */
export type RowBinaryType =
  | 'String'
  | 'LowCardinality(String)'
  | 'UInt8'
  | 'Int8'
  | 'Bool'
  | 'UInt32'
  | 'UInt64'
  | "DateTime64(3, 'UTC')"
  | "Nullable(DateTime64(3, 'UTC'))"
  | 'Nullable(UInt64)';

export type RowBinaryColumns<T> = readonly (readonly [name: keyof T & string, type: RowBinaryType])[];

/** The JavaScript value each RowBinary type takes (times as epoch milliseconds). */
export interface RowBinaryValue {
  String: string;
  'LowCardinality(String)': string;
  UInt8: number;
  Int8: number;
  Bool: boolean;
  UInt32: number;
  UInt64: number;
  "DateTime64(3, 'UTC')": number;
  "Nullable(DateTime64(3, 'UTC'))": number | null;
  'Nullable(UInt64)': number | null;
}

/** A table's columns as one typed definition: names and ClickHouse types, in the table's order. */
export type TableColumns = readonly (readonly [name: string, type: RowBinaryType])[];

/** The row type a column definition implies: `RowOf<typeof COLUMNS>` (refine string unions with `&`). */
export type RowOf<C extends TableColumns> = { [E in C[number] as E[0]]: RowBinaryValue[E[1]] };

const TWO_32 = 2 ** 32;

/** A growable byte buffer with the few writers RowBinary needs. */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, capacity));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varUInt(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  string(s: string): void {
    const n = s.length;
    // Short strings (most columns): copy ASCII in JS and fix the one-byte length afterwards; a
    // native call per value costs more than the copy.
    if (n < 64) {
      this.ensure(1 + n);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varUInt(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  uint8(n: number): void {
    this.ensure(1);
    this.buf[this.pos++] = n & 0xff;
  }

  uint32(n: number): void {
    this.ensure(4);
    this.le32(n >>> 0);
  }

  /** Four little-endian bytes; byte stores beat Buffer's checked writers here. */
  private le32(n: number): void {
    const b = this.buf;
    let p = this.pos;
    b[p++] = n & 0xff;
    b[p++] = (n >>> 8) & 0xff;
    b[p++] = (n >>> 16) & 0xff;
    b[p++] = (n >>> 24) & 0xff;
    this.pos = p;
  }

  /** A 64-bit integer from a JS number (exact up to 2^53: offsets, sizes and epoch milliseconds). */
  int64(n: number): void {
    this.ensure(8);
    const hi = Math.floor(n / TWO_32);
    this.le32(n - hi * TWO_32);
    this.le32(hi | 0);
  }
}

type Writer = (w: ByteWriter, v: unknown) => void;

function fail(type: string, v: unknown): never {
  throw new TypeError(`${JSON.stringify(v)} is not a valid ${type}`);
}

const num = (type: string, v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : fail(type, v));

const WRITERS: Record<RowBinaryType, Writer> = {
  String: (w, v) => w.string(typeof v === 'string' ? v : fail('String', v)),
  'LowCardinality(String)': (w, v) => w.string(typeof v === 'string' ? v : fail('String', v)),
  UInt8: (w, v) => w.uint8(num('UInt8', v)),
  Int8: (w, v) => w.uint8(num('Int8', v)),
  Bool: (w, v) => w.uint8(typeof v === 'boolean' ? (v ? 1 : 0) : fail('Bool', v)),
  UInt32: (w, v) => w.uint32(num('UInt32', v)),
  UInt64: (w, v) => w.int64(num('UInt64', v)),
  "DateTime64(3, 'UTC')": (w, v) => w.int64(num('DateTime64(3) milliseconds', v)),
  "Nullable(DateTime64(3, 'UTC'))": (w, v) => {
    if (v === null || v === undefined) return w.uint8(1);
    w.uint8(0);
    w.int64(num('DateTime64(3) milliseconds', v));
  },
  'Nullable(UInt64)': (w, v) => {
    if (v === null || v === undefined) return w.uint8(1);
    w.uint8(0);
    w.int64(num('UInt64', v));
  },
};

/**
 * Rows of one table already encoded (RowBinary, without the header): rows waiting for an insert kept as
 * bytes rather than objects. Made by RowBinaryFormat.block or a RowBlockWriter; inserted by insertRowBinary.
 */
export class RowBlock<T> {
  constructor(
    readonly format: RowBinaryFormat<T>,
    readonly rows: number,
    readonly bytes: Buffer,
  ) {}
}

/** Encodes rows one at a time into one RowBlock (a row that does not fit its types is left out whole). */
export class RowBlockWriter<T> {
  private readonly w: ByteWriter;
  private count = 0;

  constructor(
    private readonly format: RowBinaryFormat<T>,
    expectedRows: number,
  ) {
    this.w = new ByteWriter(Math.ceil(expectedRows * format.bytesPerRowHint * 1.1));
  }

  get rows(): number {
    return this.count;
  }

  /** Appends the row; a value that does not fit its type: a TypeError naming the column, nothing of the row written. */
  add(row: T): void {
    const start = this.w.pos;
    try {
      this.format.write(this.w, row);
    } catch (err) {
      this.w.pos = start;
      throw err;
    }
    this.count += 1;
  }

  /** Where the writer is now, for `undo`. */
  mark(): { rows: number; pos: number } {
    return { rows: this.count, pos: this.w.pos };
  }

  /** Drops the rows added since `mark` (a caller whose rows go to several tables keeps them all or none). */
  undo(to: { rows: number; pos: number }): void {
    this.count = to.rows;
    this.w.pos = to.pos;
  }

  /** The rows written so far; the writer is not to be used afterwards. */
  finish(): RowBlock<T> {
    const { buf, pos } = this.w;
    if (this.count) this.format.bytesPerRowHint = Math.ceil(pos / this.count);
    // The block may wait a while for its insert: not with an eighth or more of its buffer unused.
    // allocUnsafeSlow: Buffer.from would copy a block under 32 KiB into Node 24's shared 64 KiB pool.
    const bytes = pos < buf.length - (buf.length >> 3) ? copyExact(buf, pos) : buf.subarray(0, pos);
    return new RowBlock(this.format, this.count, bytes);
  }
}

function copyExact(buf: Buffer, length: number): Buffer {
  const out = Buffer.allocUnsafeSlow(length);
  buf.copy(out, 0, 0, length);
  return out;
}

/** A table's column list and an encoder of rows (objects keyed by column) into one RowBinaryWithNamesAndTypes block. */
export class RowBinaryFormat<T> {
  /** The names-and-types header every insert starts with. */
  readonly header: Buffer;
  private readonly names: (keyof T & string)[];
  private readonly writers: Writer[];
  /** Bytes per row seen last time: sizes the next buffer so it rarely grows. */
  bytesPerRowHint = 512;

  constructor(readonly columns: RowBinaryColumns<T>) {
    this.names = columns.map(([name]) => name);
    this.writers = columns.map(([, type]) => WRITERS[type]);
    const h = new ByteWriter(1024);
    h.varUInt(columns.length);
    for (const [name] of columns) h.string(name);
    for (const [, type] of columns) h.string(type);
    this.header = Buffer.from(h.buf.subarray(0, h.pos));
  }

  get columnList(): string {
    return this.names.map((n) => `\`${n}\``).join(', ');
  }

  /** Writes one row's columns; a TypeError names the column whose value does not fit its type. */
  write(w: ByteWriter, row: T): void {
    const names = this.names;
    const writers = this.writers;
    let i = 0;
    try {
      for (; i < names.length; i++) writers[i]!(w, row[names[i]!]);
    } catch (err) {
      throw new TypeError(`RowBinary column ${names[i]}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The rows as one block (no header). */
  block(rows: readonly T[]): RowBlock<T> {
    const writer = new RowBlockWriter(this, rows.length);
    for (const row of rows) writer.add(row);
    return writer.finish();
  }

  /** The header and the rows: one complete RowBinaryWithNamesAndTypes body. */
  encode(rows: readonly T[]): Buffer {
    return Buffer.concat([this.header, this.block(rows).bytes]);
  }
}

/**
 * Inserts rows in RowBinary through the HTTP interface, given as rows or as blocks already encoded (sent
 * after one header, without copying them); resolves when ClickHouse has stored them.
 */
export async function insertRowBinary<T>(
  client: ClickHouseClient,
  args: {
    table: string;
    format: RowBinaryFormat<T>;
    rows?: readonly T[];
    blocks?: readonly RowBlock<T>[];
    clickhouse_settings?: ClickHouseSettings;
  },
): Promise<void> {
  const blocks = [...(args.blocks ?? []), ...(args.rows?.length ? [args.format.block(args.rows)] : [])].filter(
    (b) => b.rows > 0,
  );
  if (!blocks.length) return;
  const result = await client.exec({
    query: `INSERT INTO ${args.table} (${args.format.columnList}) FORMAT RowBinaryWithNamesAndTypes`,
    values: Readable.from([args.format.header, ...blocks.map((b) => b.bytes)]),
    ...(args.clickhouse_settings ? { clickhouse_settings: args.clickhouse_settings } : {}),
  });
  // The (empty) response must be read to the end, or the connection is not returned to the pool.
  for await (const _ of result.stream) void _;
}
