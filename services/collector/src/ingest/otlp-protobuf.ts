import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { type BodyLimits, slicer, TooDeepError, TooManyEventsError } from './limits.ts';
import { BodyError } from './parse-body.ts';

const root = protobuf.loadSync(join(dirname(fileURLToPath(import.meta.url)), '../../proto/otlp-logs.proto'));
const Request = root.lookupType('opentelemetry.proto.ExportLogsServiceRequest');
const Response = root.lookupType('opentelemetry.proto.ExportLogsServiceResponse');
const Resource = root.lookupType('opentelemetry.proto.Resource');
// A LogRecord as the collector reads it: its body only; the rest (attributes above all) is skipped unread.
const LogRecordBody = new protobuf.Type('LogRecordBody').add(new protobuf.Field('body', 5, 'AnyValue'));
(root.lookup('opentelemetry.proto') as protobuf.Namespace).add(LogRecordBody);

const toObjectOptions = { longs: String, bytes: String, defaults: false, arrays: true, oneofs: false };

const malformed = (why: string) => new BodyError(`not an OTLP ExportLogsServiceRequest in protobuf (${why})`);

/** An OTLP/HTTP protobuf logs request as the same object OTLP/JSON decodes to (camelCase fields). */
export function decodeOtlpLogsProtobuf(body: Buffer): unknown {
  try {
    return Request.toObject(Request.decode(body), toObjectOptions);
  } catch (err) {
    throw malformed(err instanceof Error ? err.message : String(err));
  }
}

// The messages of otlp-logs.proto that hold other messages, and which of their fields do (field → message).
enum M {
  Request,
  ResourceLogs,
  Resource,
  ScopeLogs,
  Scope,
  LogRecord,
  AnyValue,
  ArrayValue,
  KeyValueList,
  KeyValue,
}
const CHILDREN: Record<M, Partial<Record<number, M>>> = {
  [M.Request]: { 1: M.ResourceLogs },
  [M.ResourceLogs]: { 1: M.Resource, 2: M.ScopeLogs },
  [M.Resource]: { 1: M.KeyValue },
  [M.ScopeLogs]: { 1: M.Scope, 2: M.LogRecord },
  [M.Scope]: { 3: M.KeyValue },
  [M.LogRecord]: { 5: M.AnyValue, 6: M.KeyValue },
  [M.AnyValue]: { 5: M.ArrayValue, 6: M.KeyValueList },
  [M.ArrayValue]: { 1: M.AnyValue },
  [M.KeyValueList]: { 1: M.KeyValue },
  [M.KeyValue]: { 2: M.AnyValue },
};

interface Range {
  start: number;
  end: number;
}
/** Where each ResourceLogs' Resource and each of its LogRecords lie in the body. */
interface Layout {
  resourceLogs: { resource: Range | null; scopeLogs: Range[][] }[];
}

/**
 * Walks the protobuf wire format of an ExportLogsServiceRequest without recursion and without making an
 * object: checks every length, refuses messages nested deeper than `maxDepth` and more than `maxEvents`
 * log records as soon as it meets them (a 16 MiB body of empty records is refused at record 5,001, not
 * after millions of objects), and notes where the Resources and LogRecords are, to decode one at a time.
 */
async function layoutOf(bytes: Uint8Array, limits: BodyLimits, slice: ReturnType<typeof slicer>): Promise<Layout> {
  const layout: Layout = { resourceLogs: [] };
  const stack: { type: M; end: number }[] = [{ type: M.Request, end: bytes.length }];
  let records = 0;
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= bytes.length) throw malformed('truncated varint');
      const b = bytes[pos++]!;
      // Lengths and tags past 2^53 are malformed here anyway; the float arithmetic keeps them finite.
      if (shift < 53) value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw malformed('varint longer than 10 bytes');
  };
  for (let step = 0; ; step++) {
    while (stack.length && pos >= stack[stack.length - 1]!.end) {
      if (pos > stack[stack.length - 1]!.end) throw malformed('a field runs past the end of its message');
      stack.pop();
    }
    if (!stack.length) break;
    if ((step & 0xfff) === 0 && slice.due()) await slice.yield();
    const parent = stack[stack.length - 1]!;
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw malformed('field number 0');
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      const end = pos + len;
      if (end > parent.end) throw malformed('a length runs past the end of its message');
      const child = CHILDREN[parent.type][field];
      if (child === undefined) pos = end;
      else {
        if (stack.length >= limits.maxDepth) throw new TooDeepError('protobuf messages', limits.maxDepth);
        if (child === M.ResourceLogs) layout.resourceLogs.push({ resource: null, scopeLogs: [] });
        const rl = layout.resourceLogs[layout.resourceLogs.length - 1];
        if (child === M.Resource && parent.type === M.ResourceLogs && rl) rl.resource = { start: pos, end };
        if (child === M.ScopeLogs && rl) rl.scopeLogs.push([]);
        if (child === M.LogRecord) {
          if (++records > limits.maxEvents) throw new TooManyEventsError(limits.maxEvents, 'log records');
          rl?.scopeLogs[rl.scopeLogs.length - 1]?.push({ start: pos, end });
        }
        stack.push({ type: child, end });
      }
    } else throw malformed(`wire type ${wire} (groups are not used by OTLP)`);
    if (pos > parent.end) throw malformed('a field runs past the end of its message');
  }
  return layout;
}

/**
 * decodeOtlpLogsProtobuf for untrusted bodies: the layout checked first (depth, record count, lengths),
 * then each Resource and LogRecord decoded on its own, yielding to the event loop between slices, into
 * the same object OTLP/JSON decodes to (of a LogRecord only its body, all the collector reads).
 */
export async function decodeOtlpLogsProtobufBounded(
  bytes: Buffer,
  limits: BodyLimits,
  slice = slicer(),
): Promise<{ resourceLogs: unknown[] }> {
  const layout = await layoutOf(bytes, limits, slice);
  const decode = (type: protobuf.Type, r: Range): Record<string, unknown> => {
    try {
      return type.toObject(type.decode(bytes.subarray(r.start, r.end)), toObjectOptions);
    } catch (err) {
      throw malformed(err instanceof Error ? err.message : String(err));
    }
  };
  const resourceLogs: unknown[] = [];
  for (const rl of layout.resourceLogs) {
    const scopeLogs: unknown[] = [];
    for (const records of rl.scopeLogs) {
      const logRecords: unknown[] = [];
      for (const r of records) {
        logRecords.push(decode(LogRecordBody, r));
        if (slice.due()) await slice.yield();
      }
      scopeLogs.push({ logRecords });
    }
    resourceLogs.push({ ...(rl.resource ? { resource: decode(Resource, rl.resource) } : {}), scopeLogs });
  }
  return { resourceLogs };
}

export function encodeOtlpLogsProtobuf(request: object): Uint8Array {
  return Request.encode(Request.fromObject(request)).finish();
}

/** The empty ExportLogsServiceResponse: everything accepted. */
export const EMPTY_LOGS_RESPONSE = Buffer.from(Response.encode(Response.create({})).finish());

/** An ExportLogsServiceResponse saying how many records were refused, and why (OTLP partial success). */
export function partialSuccessLogsResponse(rejectedLogRecords: number, errorMessage: string): Buffer {
  return Buffer.from(
    Response.encode(Response.fromObject({ partialSuccess: { rejectedLogRecords, errorMessage } })).finish(),
  );
}
