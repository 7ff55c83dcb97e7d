import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { AnalyzerState, processEnvelope } from './core/process.ts';
import { PULL_EVENT_FORMAT, RAW_EVENT_FORMAT } from './core/table-formats.ts';
import { partitionsOf, processSlice, sliceRows } from './stages.ts';

const at = (s: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, 0) + s * 1000).toISOString();
const FAILED =
  'Failed to pull image "ghcr.io/acme/web:1.2": rpc error: code = NotFound desc = failed to pull and unpack ' +
  'image "ghcr.io/acme/web:1.2": failed to resolve reference "ghcr.io/acme/web:1.2": not found';
const envelope = (i: number, reason: string, message: string) =>
  eventEnvelope({
    cluster: 'eu-1',
    source: 'http',
    receivedAt: new Date(at(i)),
    event: K8sEventSchema.parse({
      metadata: { uid: `u${i}`, name: `web-1.${i}`, namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', fieldPath: 'spec.containers{web}' },
      reason,
      message,
      count: 1,
      lastTimestamp: at(i),
    }),
  }).envelope;
const message = (offset: number, value: string): ConsumedMessage => ({
  topic: 't',
  partition: 3,
  offset,
  key: null,
  value: Buffer.from(value),
  headers: {},
});

/** A String column by hand: its LEB128 length, written out, then the text's UTF-8 bytes. */
const text = (length: string, s: string) => `${length} ${Buffer.from(s).toString('hex')}`;
/** Columns in table order, each as hex with the column it is (the name only documents the bytes). */
const bytes = (...columns: (readonly [hex: string, column: string])[]) =>
  columns.map(([h]) => h.replaceAll(' ', '')).join('');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('processSlice', () => {
  const envelopes = [
    envelope(0, 'Failed', FAILED),
    envelope(1, 'Failed', FAILED),
    envelope(2, 'Pulled', 'Successfully pulled image "ghcr.io/acme/web:1.2" in 2s (2s including waiting)'),
  ];
  const messages = [
    message(10, JSON.stringify(envelopes[0])), // already stored
    message(11, JSON.stringify(envelopes[1])),
    message(12, '{"not": "an envelope"'),
    message(13, JSON.stringify(envelopes[2])),
  ];

  it('skips what is stored, dead-letters what does not decode, encodes the rest in RowBinary', () => {
    const processed = processSlice(messages, 10, 3, new AnalyzerState(), { stuckAfterMs: 600_000, topicId: 'Qx9' });
    expect(processed.skipped).toBe(1);
    expect(processed.dead.map((d) => [d.offset, d.value?.toString(), d.error.slice(0, 20)])).toEqual([
      [12, '{"not": "an envelope"', expect.stringMatching(/JSON|Expected|end/)],
    ]);
    expect(processed.rows.raws.rows).toBe(2);
    expect(processed.rows.pulls.rows).toBe(2);
    // Written by hand from the RowBinary spec: DateTime64(3) and UInt64 are 8 bytes little-endian, UInt32 4,
    // UInt8/Int8/Bool 1, a (LowCardinality) String a LEB128 length then its UTF-8 bytes.
    // 10:00:01 and 10:00:02 UTC on 2026-11-24 are 1795514401000 and 1795514402000 ms.
    const t1 = 'e8 80 ff 0c a2 01 00 00';
    const t2 = 'd0 84 ff 0c a2 01 00 00';
    const payload = (i: number) => messages[i]!.value!.toString();
    expect(hex(processed.rows.raws.bytes)).toBe(
      bytes(
        [t1, 'event_time'],
        [t1, 'received_at'],
        [text('04', 'eu-1'), 'cluster'],
        [text('04', 'http'), 'source'],
        [text('05', 'event'), 'kind'],
        [text('04', 'shop'), 'namespace'],
        [text('03', 'Pod'), 'object_kind'],
        [text('05', 'web-1'), 'object_name'],
        [text('06', 'Failed'), 'reason'],
        ['00', 'type: empty'],
        ['01 00 00 00', 'event_count 1'],
        [text('89 05', payload(1)), 'payload: the message as received, 649 bytes'],
        ['03 00 00 00', 'kafka_partition 3'],
        ['0b 00 00 00 00 00 00 00', 'kafka_offset 11'],
        [text('03', 'Qx9'), 'kafka_topic_id'],
        ['00', 'message_truncated 0'],
        ['00', 'time_clamped 0'],
        [t2, 'event_time'],
        [t2, 'received_at'],
        [text('04', 'eu-1'), 'cluster'],
        [text('04', 'http'), 'source'],
        [text('05', 'event'), 'kind'],
        [text('04', 'shop'), 'namespace'],
        [text('03', 'Pod'), 'object_kind'],
        [text('05', 'web-1'), 'object_name'],
        [text('06', 'Pulled'), 'reason'],
        ['00', 'type: empty'],
        ['01 00 00 00', 'event_count 1'],
        [text('8e 04', payload(3)), 'payload, 526 bytes'],
        ['03 00 00 00', 'kafka_partition 3'],
        ['0d 00 00 00 00 00 00 00', 'kafka_offset 13'],
        [text('03', 'Qx9'), 'kafka_topic_id'],
        ['00', 'message_truncated 0'],
        ['00', 'time_clamped 0'],
      ),
    );
    const pull = (t: string, p: { outcome: string; kind: string; cause: string; hint: string; message: string }) => [
      [t, 'event_time'] as const,
      [t, 'first_time: no firstTimestamp, so the event time'] as const,
      [t, 'received_at'] as const,
      [text('04', 'eu-1'), 'cluster'] as const,
      [text('04', 'shop'), 'namespace'] as const,
      [text('05', 'web-1'), 'pod'] as const,
      [text('03', 'web'), 'container: from fieldPath spec.containers{web}'] as const,
      ['00', 'node: unknown'] as const,
      [p.outcome, 'outcome'] as const,
      [p.kind, 'event_kind'] as const,
      ['01 00 00 00', 'occurrences 1'] as const,
      [text('14', 'ghcr.io/acme/web:1.2'), 'image'] as const,
      [text('07', 'ghcr.io'), 'registry'] as const,
      [text('04', 'ghcr'), 'provider'] as const,
      [text('08', 'acme/web'), 'repository'] as const,
      [text('03', '1.2'), 'tag'] as const,
      ['00', 'digest: none'] as const,
      [text('06', 'pinned'), 'tag_kind'] as const,
      [p.cause, 'cause'] as const,
      ['00', 'subcause: none'] as const,
      ['00', 'attributed 0'] as const,
      ['00', 'retryable 0'] as const,
      [p.hint, 'hint'] as const,
      [p.message, 'message'] as const,
    ];
    expect(hex(processed.rows.pulls.bytes)).toBe(
      bytes(
        ...pull(t1, {
          outcome: text('07', 'failure'),
          kind: text('0b', 'failed_pull'),
          cause: text('09', 'not_found'),
          hint: text(
            '6e',
            'Check the image name and tag (or digest) exist in that registry; it may never have been pushed or ' +
              'was deleted.',
          ),
          message: text('c4 01', FAILED),
        }),
        ['00 00 00 00', 'pull_duration_ms 0'],
        ['00 00 00 00 00 00 00 00', 'image_size_bytes 0'],
        ['00', 'image_pull_policy: unknown'],
        ['ff', 'has_pull_secrets -1: unknown'],
        [text('02', 'u1'), 'event_uid'],
        ['01 00 00 00', 'event_count 1'],
        ['03 00 00 00', 'kafka_partition 3'],
        ['0b 00 00 00 00 00 00 00', 'kafka_offset 11'],
        [text('03', 'Qx9'), 'kafka_topic_id'],
        [text('0b', 'StatefulSet'), 'workload_kind: web-1 is an ordinal name'],
        [text('03', 'web'), 'workload_name'],
        ['01', 'workload_inferred true'],
        ['00', 'team: none'],
        ['00', 'time_clamped 0'],
        ...pull(t2, {
          outcome: text('07', 'success'),
          kind: text('06', 'pulled'),
          cause: '00',
          hint: '00',
          message: text('4d', 'Successfully pulled image "ghcr.io/acme/web:1.2" in 2s (2s including waiting)'),
        }),
        ['d0 07 00 00', 'pull_duration_ms 2000'],
        ['00 00 00 00 00 00 00 00', 'image_size_bytes 0'],
        ['00', 'image_pull_policy: unknown'],
        ['ff', 'has_pull_secrets -1: unknown'],
        [text('02', 'u2'), 'event_uid'],
        ['01 00 00 00', 'event_count 1'],
        ['03 00 00 00', 'kafka_partition 3'],
        ['0d 00 00 00 00 00 00 00', 'kafka_offset 13'],
        [text('03', 'Qx9'), 'kafka_topic_id'],
        [text('0b', 'StatefulSet'), 'workload_kind'],
        [text('03', 'web'), 'workload_name'],
        ['01', 'workload_inferred true'],
        ['00', 'team: none'],
        ['00', 'time_clamped 0'],
      ),
    );
    expect(processed.rows.states.map((s) => [s.status, s.attempts])).toEqual([['recovered', 1]]);
    expect([processed.failures, processed.successes, [...processed.failuresByCause]]).toEqual([
      1,
      1,
      [['not_found', 1]],
    ]);
  });
});

describe('processSlice after a crash between the pull and the raw inserts', () => {
  it('writes the raw rows of messages whose pull rows are stored, and their pull rows not again', () => {
    const envs = [0, 1, 2].map((i) => envelope(i, 'Failed', FAILED));
    const messages = envs.map((e, i) => message(30 + i, JSON.stringify(e)));
    // raw_events ends at 29, pull_events at 31: offsets 30 and 31 lost their raw rows only.
    const processed = processSlice(messages, 29, 3, new AnalyzerState(), {
      stuckAfterMs: 600_000,
      pullsStoredUpTo: 31,
    });
    expect(processed.skipped).toBe(0);
    expect(processed.rows.raws.rows).toBe(3);
    expect(processed.rows.pulls.rows).toBe(1);
    // Per message: its offset, whether it has pull bytes, whether it has raw bytes.
    expect(processed.rows.units.map((u) => [u.offset, u.pullTo > u.pullFrom, u.rawTo > u.rawFrom])).toEqual([
      [30, false, true],
      [31, false, true],
      [32, true, true],
    ]);
    expect(processed.failures).toBe(1);
  });
});

describe("sliceRows (a run of a slice's messages, for splitting a refused insert)", () => {
  const envs = [
    envelope(0, 'Failed', FAILED),
    envelope(1, 'Scheduled', 'Successfully assigned shop/web-1 to node-a'), // no pull row
    envelope(2, 'Failed', FAILED),
    envelope(3, 'Pulled', 'Successfully pulled image "ghcr.io/acme/web:1.2" in 2s (2s including waiting)'),
  ];
  const messages = [
    message(20, JSON.stringify(envs[0])),
    message(21, JSON.stringify(envs[1])),
    message(22, '[1, 2]'), // JSON, not an envelope
    message(23, JSON.stringify(envs[2])),
    message(24, JSON.stringify(envs[3])),
  ];

  it('holds exactly the rows of those messages, and the Pod states they made', () => {
    const processed = processSlice(messages, -1, 3, new AnalyzerState(), { stuckAfterMs: 600_000 });
    expect(processed.dead.map((d) => [d.offset, d.reason])).toEqual([[22, 'schema']]);
    const rows = processed.rows;
    expect(rows.units.map((u) => u.offset)).toEqual([20, 21, 23, 24]);
    // Each run, encoded on its own, is the same bytes as the view into the whole slice.
    const state = new AnalyzerState();
    const alone = [0, 1, 3, 4].map((i, n) =>
      processEnvelope(envs[n]!, { partition: 3, offset: 20 + i }, state, {
        stuckAfterMs: 600_000,
        payload: messages[i]!.value!.toString(),
      }),
    );
    for (const [from, to] of [
      [0, 4],
      [0, 2],
      [1, 3],
      [2, 4],
      [1, 2],
      [3, 4],
    ] as const) {
      const run = sliceRows(rows, from, to);
      const want = alone.slice(from, to);
      expect(run.raws.rows, `${from}-${to}`).toBe(to - from);
      expect(run.raws.bytes, `${from}-${to}`).toEqual(RAW_EVENT_FORMAT.block(want.map((e) => e.raw)).bytes);
      expect(run.pulls.rows, `${from}-${to}`).toBe(want.filter((e) => e.pull).length);
      expect(run.pulls.bytes, `${from}-${to}`).toEqual(
        PULL_EVENT_FORMAT.block(want.flatMap((e) => (e.pull ? [e.pull] : []))).bytes,
      );
    }
    // The Pod's state is the last one, made by the Pulled message (the 4th unit): only runs holding it carry it.
    expect(rows.states.map((s) => s.status)).toEqual(['recovered']);
    expect(sliceRows(rows, 0, 3).states).toEqual([]);
    expect(sliceRows(rows, 3, 4).states.map((s) => s.status)).toEqual(['recovered']);
    // A run of a run: positions still point into the whole slice.
    const inner = sliceRows(sliceRows(rows, 1, 4), 1, 3);
    expect(inner.units.map((u) => u.offset)).toEqual([23, 24]);
    expect(inner.raws.bytes).toEqual(RAW_EVENT_FORMAT.block(alone.slice(2, 4).map((e) => e.raw)).bytes);
    expect(inner.states.map((s) => s.status)).toEqual(['recovered']);
  });

  it('counts the monthly partitions of the units', () => {
    const feb = envelope(0, 'Failed', FAILED);
    (feb.event as { lastTimestamp: string }).lastTimestamp = '2026-02-03T00:00:00Z';
    const processed = processSlice(
      [message(1, JSON.stringify(feb)), ...messages.slice(0, 2)],
      -1,
      3,
      new AnalyzerState(),
      { stuckAfterMs: 600_000 },
    );
    expect(processed.rows.units.map((u) => u.month)).toEqual([202602, 202611, 202611]);
    expect(partitionsOf([processed.rows])).toBe(2);
    expect(partitionsOf([sliceRows(processed.rows, 1, 3)])).toBe(1);
  });
});

describe('processSlice: the raw row keeps the message as received', () => {
  /** The message's JSON with `marker` inside the Event's message replaced by raw bytes. */
  const withBytes = (offset: number, marker: string, bytes: number[]): ConsumedMessage => {
    const json = JSON.stringify(envelope(0, 'Failed', `${FAILED} ${marker}`));
    const [before, after] = json.split(marker) as [string, string];
    return {
      ...message(offset, ''),
      value: Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]),
    };
  };
  /** The payload column of a slice's only raw row: its LEB128 length, then its bytes. */
  const payloadOf = (raws: Buffer): Buffer => {
    // Fixed columns before payload: 2 times, then 8 strings and event_count (see the first test's layout).
    let p = 16;
    for (let i = 0; i < 8; i++) p += 1 + raws[p]!;
    p += 4;
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const b = raws[p++]!;
      length += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    // After it: kafka_partition, kafka_offset, kafka_topic_id (empty: one byte), message_truncated, time_clamped.
    expect(raws.length - p - (4 + 8 + 1 + 1 + 1)).toBe(length);
    return raws.subarray(p, p + length);
  };

  it('stores a message that is not valid UTF-8 as its text, invalid sequences as U+FFFD (valid UTF-8)', () => {
    // 0xff never occurs in UTF-8; 0xc3 starts a two-byte sequence that a space cuts short.
    const m = withBytes(5, 'MARK', [0x61, 0xff, 0x62, 0xc3, 0x20, 0x63]);
    const processed = processSlice([m], -1, 3, new AnalyzerState(), { stuckAfterMs: 600_000 });
    expect(processed.dead).toEqual([]);
    expect(processed.failures).toBe(1);
    const payload = payloadOf(processed.rows.raws.bytes);
    const want = JSON.stringify(envelope(0, 'Failed', `${FAILED} a\ufffdb\ufffd c`));
    expect(payload.toString('utf8')).toBe(want);
    expect(payload).toEqual(Buffer.from(want, 'utf8'));
    expect(isUtf8(payload)).toBe(true);
  });

  it('stores a message of valid UTF-8 byte for byte', () => {
    // Two-, three- and four-byte sequences: é, €, 🐳.
    const m = withBytes(6, 'MARK', [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x90, 0xb3]);
    const processed = processSlice([m], -1, 3, new AnalyzerState(), { stuckAfterMs: 600_000 });
    expect(processed.dead).toEqual([]);
    expect(payloadOf(processed.rows.raws.bytes)).toEqual(m.value);
    expect(m.value).toEqual(Buffer.from(JSON.stringify(envelope(0, 'Failed', `${FAILED} é€🐳`))));
  });
});
