import { describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { AnalyzerState, processEnvelope } from './core/process.ts';
import { PULL_EVENT_FORMAT, RAW_EVENT_FORMAT } from './core/table-formats.ts';
import { processSlice } from './stages.ts';

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

  it('skips what is stored, dead-letters what does not decode, encodes the rest as processEnvelope makes it', () => {
    const processed = processSlice(messages, 10, 3, new AnalyzerState(), { stuckAfterMs: 600_000 });
    // The reference: the same messages through processEnvelope, the rows encoded afterwards.
    const state = new AnalyzerState();
    const expected = [
      { offset: 11, env: envelopes[1]! },
      { offset: 13, env: envelopes[2]! },
    ].map(({ offset, env }, i) =>
      processEnvelope(env, { partition: 3, offset }, state, {
        stuckAfterMs: 600_000,
        payload: messages[i === 0 ? 1 : 3]!.value!.toString(),
      }),
    );
    expect(processed.skipped).toBe(1);
    expect(processed.dead.map((d) => [d.offset, d.value?.toString(), d.error.slice(0, 20)])).toEqual([
      [12, '{"not": "an envelope"', expect.stringMatching(/JSON|Expected|end/)],
    ]);
    expect(processed.rows.raws.rows).toBe(2);
    expect(processed.rows.raws.bytes).toEqual(RAW_EVENT_FORMAT.block(expected.map((e) => e.raw)).bytes);
    expect(processed.rows.pulls.bytes).toEqual(PULL_EVENT_FORMAT.block(expected.map((e) => e.pull!)).bytes);
    expect(processed.rows.states.map((s) => [s.status, s.attempts])).toEqual([['recovered', 1]]);
    expect([processed.failures, processed.successes, [...processed.failuresByCause]]).toEqual([
      1,
      1,
      [['not_found', 1]],
    ]);
  });
});
