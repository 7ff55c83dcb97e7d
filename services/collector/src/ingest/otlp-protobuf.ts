import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { BodyError } from './parse-body.ts';

const root = protobuf.loadSync(join(dirname(fileURLToPath(import.meta.url)), '../../proto/otlp-logs.proto'));
const Request = root.lookupType('opentelemetry.proto.ExportLogsServiceRequest');
const Response = root.lookupType('opentelemetry.proto.ExportLogsServiceResponse');

/** An OTLP/HTTP protobuf logs request as the same object OTLP/JSON decodes to (camelCase fields). */
export function decodeOtlpLogsProtobuf(body: Buffer): unknown {
  try {
    return Request.toObject(Request.decode(body), {
      longs: String,
      bytes: String,
      defaults: false,
      arrays: true,
      oneofs: false,
    });
  } catch (err) {
    throw new BodyError(
      `not an OTLP ExportLogsServiceRequest in protobuf (${err instanceof Error ? err.message : String(err)})`,
    );
  }
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
