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
