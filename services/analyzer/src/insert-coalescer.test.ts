import { describe, expect, it } from 'vitest';
import { BackoffPolicy } from '@pullwatch/backoff';
import { BlockAbandoned, InsertCoalescer, type Slice, type SliceControl } from './insert-coalescer.ts';

/** Waits recorded, not slept. */
function noWait(slept: number[] = []) {
  return new BackoffPolicy({ baseMs: 200, maxMs: 10_000, random: () => 0.5, sleep: async (ms) => void slept.push(ms) });
}

function control(over: Partial<SliceControl> = {}): SliceControl & { paused: number } {
  const c = {
    paused: 0,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
    pause: () => {
      c.paused += 1;
    },
    ...over,
  };
  return c;
}

const slice = (partition: number, first: number, last: number, ctl = control()): Slice<string> => ({
  partition,
  firstOffset: String(first),
  lastOffset: String(last),
  rowCount: last - first + 1,
  rows: `p${partition}`,
  control: ctl,
});

function coalescer(over: { maxRows?: number; lingerMs?: number; fail?: number; stopping?: () => boolean } = {}) {
  const writes: { token: string; rows: string[] }[] = [];
  let failures = over.fail ?? 0;
  const c = new InsertCoalescer<string>('t', {
    maxRows: over.maxRows ?? 1000,
    lingerMs: over.lingerMs ?? 50,
    stopping: over.stopping ?? (() => false),
    async write(token, slices) {
      writes.push({ token, rows: slices.map((s) => s.rows) });
      if (failures-- > 0) throw new Error('ClickHouse unreachable');
    },
    onRetry: () => undefined,
    backoff: noWait(),
  });
  return { c, writes };
}

describe('InsertCoalescer', () => {
  it('writes the slices of all partitions in progress as one block, named by their offsets', async () => {
    const { c, writes } = coalescer();
    c.enter();
    c.enter();
    c.enter();
    const done = [c.submit(slice(0, 10, 19)), c.submit(slice(3, 5, 9))];
    expect(writes).toEqual([]); // the third partition is still processing
    done.push(c.submit(slice(1, 0, 99)));
    await Promise.all(done);
    expect(writes).toEqual([{ token: 't:0:10-19,3:5-9,1:0-99', rows: ['p0', 'p3', 'p1'] }]);
  });

  it('does not wait for a partition that finished, and waits at most the linger time for a slow one', async () => {
    const { c, writes } = coalescer({ lingerMs: 30 });
    c.enter();
    c.enter();
    c.enter();
    c.leave(); // a partition whose batch ended without a slice
    const started = Date.now();
    await c.submit(slice(0, 0, 9)); // the other one is slow
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(writes.map((w) => w.token)).toEqual(['t:0:0-9']);
  });

  it('keeps each insert within the row bound, in submission order', async () => {
    const { c, writes } = coalescer({ maxRows: 150 });
    for (let i = 0; i < 3; i++) c.enter();
    await Promise.all([c.submit(slice(0, 0, 99)), c.submit(slice(1, 0, 49)), c.submit(slice(2, 0, 99))]);
    expect(writes.map((w) => w.token)).toEqual(['t:0:0-99,1:0-49', 't:2:0-99']);
  });

  it('retries a failed block as it was (same token), pausing its partitions once', async () => {
    const { c, writes } = coalescer({ fail: 2 });
    c.enter();
    c.enter();
    const a = control();
    const b = control();
    await Promise.all([c.submit(slice(0, 0, 9, a)), c.submit(slice(1, 0, 9, b))]);
    expect(writes.map((w) => w.token)).toEqual(Array(3).fill('t:0:0-9,1:0-9'));
    expect([a.paused, b.paused]).toEqual([1, 1]);
  });

  it('gives a failed block up, to all of its slices, when the consumer stops or a partition moved away', async () => {
    let stale = false;
    const { c } = coalescer({ fail: 5 });
    c.enter();
    c.enter();
    const both = [c.submit(slice(0, 0, 9)), c.submit(slice(1, 0, 9, control({ isStale: () => stale })))];
    stale = true;
    for (const p of both) await expect(p).rejects.toBeInstanceOf(BlockAbandoned);

    const stopping = coalescer({ fail: 5, stopping: () => true });
    stopping.c.enter();
    await expect(stopping.c.submit(slice(0, 0, 9))).rejects.toThrow(/insert abandoned: ClickHouse unreachable/);
  });

  it(
    'gives up the slices waiting behind a given-up block too, so no partition is restored from ClickHouse ' +
      'while a slice of its is still to be written',
    async () => {
      const tokens: string[] = [];
      let fail: (err: Error) => void = () => undefined;
      const c = new InsertCoalescer<string>('t', {
        maxRows: 1000,
        lingerMs: 10,
        stopping: () => true,
        onRetry: () => undefined,
        backoff: noWait(),
        write: (token) => {
          tokens.push(token);
          return new Promise<void>((_, reject) => {
            fail = reject;
          });
        },
      });
      c.enter();
      const first = c.submit(slice(0, 0, 9));
      const firstSettled = first.then(
        () => 'stored',
        (e: unknown) => e,
      );
      await new Promise((r) => setImmediate(r)); // the first block is being written…
      const second = c.submit(slice(0, 10, 19)); // …when the next slice of the partition arrives
      const secondSettled = second.then(
        () => 'stored',
        (e: unknown) => e,
      );
      await new Promise((r) => setImmediate(r));
      fail(new Error('ClickHouse unreachable'));
      expect(await firstSettled).toBeInstanceOf(BlockAbandoned);
      expect(await secondSettled).toBeInstanceOf(BlockAbandoned);
      expect(tokens).toEqual(['t:0:0-9']);
    },
  );

  it('writes the next block once the one in flight is stored', async () => {
    const { c, writes } = coalescer();
    c.enter();
    const first = c.submit(slice(0, 0, 9));
    await new Promise((r) => setImmediate(r)); // the first block is being written
    c.enter();
    const second = c.submit(slice(1, 0, 9));
    await Promise.all([first, second]);
    expect(writes.map((w) => w.token)).toEqual(['t:0:0-9', 't:1:0-9']);
  });
});
