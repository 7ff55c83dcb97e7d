import { type BodyLimits, checkJsonDepth, TooManyEventsError } from './limits.ts';
import { BodyError } from './parse-body.ts';

type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: { key: string; value?: AnyValue }[] };
  bytesValue?: string;
};

/** OTLP's AnyValue (as OTLP/JSON encodes it) to a plain JS value. */
export function fromAnyValue(v: AnyValue | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(fromAnyValue);
  if (v.kvlistValue)
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, fromAnyValue(kv.value)]));
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

export interface OtlpRecord {
  cluster: string | null;
  /** The log body: an Event, a watch event `{type, object}`, or its JSON text. */
  body: unknown;
  where: string;
}

/**
 * The log records of an OTLP/JSON ExportLogsServiceRequest, as the OpenTelemetry Collector's
 * `k8sobjects` receiver ships Kubernetes Events; the cluster comes from `k8s.cluster.name`.
 */
export function otlpLogRecords(request: unknown, limits?: BodyLimits): OtlpRecord[] {
  return [...otlpLogRecordsOf(request, limits)];
}

type ResourceLogs = {
  resource?: { attributes?: { key: string; value?: AnyValue }[] };
  scopeLogs?: { logRecords?: { body?: AnyValue }[] }[];
}[];

/**
 * otlpLogRecords one record at a time. With limits, a request of more records than `maxEvents` is refused
 * before the first, and a body that is JSON text is checked for depth before it is parsed.
 */
export function* otlpLogRecordsOf(request: unknown, limits?: BodyLimits): Generator<OtlpRecord> {
  if (!request || typeof request !== 'object' || !Array.isArray((request as { resourceLogs?: unknown }).resourceLogs)) {
    throw new BodyError('not an OTLP ExportLogsServiceRequest: resourceLogs is missing');
  }
  const resourceLogs = (request as { resourceLogs: ResourceLogs }).resourceLogs;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  resourceLogs.forEach((rl, i) => {
    if (!isObject(rl)) throw new BodyError(`resourceLogs[${i}]: not a ResourceLogs object`);
    if (rl.scopeLogs !== undefined && !Array.isArray(rl.scopeLogs))
      throw new BodyError(`resourceLogs[${i}].scopeLogs: not an array`);
    (rl.scopeLogs ?? []).forEach((sl, j) => {
      if (!isObject(sl) || (sl.logRecords !== undefined && !Array.isArray(sl.logRecords)))
        throw new BodyError(`resourceLogs[${i}].scopeLogs[${j}]: not a ScopeLogs object`);
    });
  });
  if (limits) {
    let records = 0;
    for (const rl of resourceLogs) for (const sl of rl.scopeLogs ?? []) records += sl.logRecords?.length ?? 0;
    if (records > limits.maxEvents) throw new TooManyEventsError(limits.maxEvents, 'log records');
  }
  for (const [i, rl] of resourceLogs.entries()) {
    const attr = rl.resource?.attributes?.find((a) => a.key === 'k8s.cluster.name');
    const cluster = attr ? String(fromAnyValue(attr.value)) : null;
    for (const [j, sl] of (rl.scopeLogs ?? []).entries()) {
      for (const [k, lr] of (sl.logRecords ?? []).entries()) {
        const where = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        if (!isObject(lr)) throw new BodyError(`${where}: not a LogRecord object`);
        let body = fromAnyValue(lr.body);
        if (typeof body === 'string') {
          if (limits) checkJsonDepth(body, limits.maxDepth);
          try {
            body = JSON.parse(body);
          } catch {
            throw new BodyError(`${where}: body is text but not JSON`);
          }
        }
        yield { cluster, body, where };
      }
    }
  }
}
