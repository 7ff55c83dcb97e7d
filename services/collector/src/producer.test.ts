import { describe, expect, it } from 'vitest';
import type { KafkaProducer, OutgoingMessage } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import { admission, BackPressureError, type Encoded, EnvelopeProducer } from './producer.ts';

describe('admission', () => {
  const bounds = { maxEvents: 100, maxBytes: 1000 };
  it('fits while both bounds hold, waits past either, and never takes more events than the bound', () => {
    expect(admission({ events: 60, bytes: 500 }, { events: 40, bytes: 500 }, bounds)).toBe('fits');
    expect(admission({ events: 61, bytes: 500 }, { events: 40, bytes: 100 }, bounds)).toBe('wait');
    expect(admission({ events: 10, bytes: 501 }, { events: 10, bytes: 500 }, bounds)).toBe('wait');
    expect(admission({ events: 0, bytes: 0 }, { events: 101, bytes: 10 }, bounds)).toBe('never');
  });

  it('lets a send larger than the byte bound go alone', () => {
    expect(admission({ events: 0, bytes: 0 }, { events: 5, bytes: 5000 }, bounds)).toBe('fits');
    expect(admission({ events: 1, bytes: 1 }, { events: 5, bytes: 5000 }, bounds)).toBe('wait');
  });
});

/** A Kafka producer stand-in whose sends are acknowledged (or failed) when the test says so. */
function fakeKafka() {
  const sent: { messages: OutgoingMessage[]; ack(): void; fail(err: unknown): void }[] = [];
  const producer: KafkaProducer = {
    send: (_topic, messages) => new Promise<void>((ack, fail) => sent.push({ messages, ack, fail })),
    close: async () => undefined,
  };
  return { sent, open: async () => producer };
}

const conn = { brokers: ['unused:9092'], clientId: 'test', logger: createLogger('producer-test', 'silent') };
const batch = (events: number, bytesEach: number): Encoded[] =>
  Array.from({ length: events }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(bytesEach, 120) }));
/** Resolves with what the promise settled to, or 'pending' if it has not by the next turn of the event loop. */
const state = (p: Promise<unknown>) =>
  Promise.race([
    p.then(
      () => 'resolved',
      (e: unknown) => (e instanceof BackPressureError ? `pushed back: ${e.message}` : `failed: ${String(e)}`),
    ),
    new Promise((r) => setImmediate(() => r('pending'))),
  ]);

describe('EnvelopeProducer: bounded in-flight events and bytes', () => {
  async function connected(admissionWaitMs: number) {
    const kafka = fakeKafka();
    const p = new EnvelopeProducer(
      conn,
      'topic',
      { maxEvents: 100, maxBytes: 10_000, admissionWaitMs },
      60_000,
      kafka.open,
    );
    await p.connect();
    return { p, kafka };
  }

  it('pushes back at once without an admission wait', async () => {
    const { p, kafka } = await connected(0);
    const first = p.send(batch(60, 100));
    await expect(p.send(batch(60, 10))).rejects.toThrow(
      '60 events (6000 bytes) are waiting for Kafka (limits 100 events, 10000 bytes)',
    );
    expect([p.pending, p.pendingBytes]).toEqual([60, 6000]);
    kafka.sent[0]!.ack();
    await first;
    expect([p.pending, p.pendingBytes, p.acknowledged]).toEqual([0, 0, 60]);
  });

  it('admits a waiting send, oldest first, once an acknowledgement makes room', async () => {
    const { p, kafka } = await connected(60_000);
    const first = p.send(batch(50, 100)); // 5000 bytes in flight
    const second = p.send(batch(30, 200)); // 6000 more: over the byte bound, waits
    const third = p.send(batch(10, 10)); // would fit, but waits behind the second
    expect([await state(second), await state(third), kafka.sent.length]).toEqual(['pending', 'pending', 1]);
    kafka.sent[0]!.ack();
    await first;
    // The second and, beside it, the third go out.
    expect(kafka.sent.map((s) => s.messages.length)).toEqual([50, 30, 10]);
    expect([p.pending, p.pendingBytes]).toEqual([40, 6100]);
    kafka.sent[1]!.ack();
    kafka.sent[2]!.ack();
    await Promise.all([second, third]);
    expect({ pending: p.pending, acknowledged: p.acknowledged, ...p.admissions }).toEqual({
      pending: 0,
      acknowledged: 90,
      waited: 2,
      timedOut: 0,
    });
  });

  it('pushes a send back once its wait is over, and admits the next that fits', async () => {
    const { p, kafka } = await connected(50);
    const first = p.send(batch(90, 10));
    const t0 = Date.now();
    await expect(p.send(batch(20, 10))).rejects.toThrow(
      '90 events (900 bytes) are waiting for Kafka (limits 100 events, 10000 bytes)',
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(p.admissions).toEqual({ waited: 0, timedOut: 1 });
    expect([p.pending, kafka.sent.length]).toEqual([90, 1]);
    kafka.sent[0]!.ack();
    await first;
  });

  it('refuses at once a send of more events than may ever wait, and frees the room of a failed send', async () => {
    const { p, kafka } = await connected(60_000);
    await expect(p.send(batch(101, 1))).rejects.toThrow('101 events are more than may wait for Kafka (100)');
    const failing = p.send(batch(80, 10));
    const waiting = p.send(batch(80, 10));
    expect([await state(waiting), kafka.sent.length]).toEqual(['pending', 1]);
    kafka.sent[0]!.fail(new Error('broker gone'));
    await expect(failing).rejects.toThrow('Kafka unavailable: broker gone');
    expect([p.pending, kafka.sent.length]).toEqual([80, 2]);
    kafka.sent[1]!.ack();
    await waiting;
    expect(p.pending).toBe(0);
  });
});
