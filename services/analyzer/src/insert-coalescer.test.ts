import { describe, expect, it } from 'vitest';
import { BackoffPolicy } from '@pullwatch/backoff';
import { until } from '../../../test/support/until.ts';
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

/** Slices of numbers (one unit each): what the split tests write. */
const units = (partition: number, rows: number[], ctl = control()): Slice<number[]> => ({
  partition,
  firstOffset: String(rows[0]),
  lastOffset: String(rows[rows.length - 1]),
  rowCount: rows.length,
  rows,
  control: ctl,
});

class Refused extends Error {}

/**
 * A coalescer over number rows whose `write` refuses blocks as `refuse` says (a verdict, or nothing
 * to store them), recording every write, what was stored and what was rejected.
 */
function splitting(
  refuse: (rows: number[]) => 'split' | 'reject' | 'retry' | null,
  slept: number[] = [],
  backoff = noWait(slept),
) {
  const writes: string[] = [];
  const stored: number[] = [];
  const rejected: { partition: number; rows: number[] }[] = [];
  const dones: string[][] = [];
  const c = new InsertCoalescer<number[]>('t', {
    maxRows: 1000,
    lingerMs: 10,
    stopping: () => false,
    backoff,
    onRetry: () => undefined,
    units: (rows) => rows.length,
    take: (rows, from, to) => rows.slice(from, to),
    verdict: (err) => (err instanceof Refused ? (err.message as 'split' | 'reject') : 'retry'),
    async reject(slice) {
      rejected.push({ partition: slice.partition, rows: slice.rows });
    },
    async write(token, slices, done) {
      writes.push(token);
      dones.push([...done].sort());
      const rows = slices.flatMap((s) => s.rows);
      const verdict = refuse(rows);
      if (verdict === 'retry') throw new Error('ClickHouse unreachable');
      if (verdict) throw new Refused(verdict);
      stored.push(...rows);
    },
  });
  return { c, writes, stored, rejected, dones };
}

describe('InsertCoalescer, refused blocks', () => {
  it('halves a block whose rows are refused until the refused row is alone, dead-letters it and stores the rest', async () => {
    const { c, writes, stored, rejected } = splitting((rows) => (rows.includes(13) ? 'reject' : null));
    c.enter();
    c.enter();
    const [a, b] = await Promise.all([c.submit(units(0, [10, 11, 12, 13, 14])), c.submit(units(1, [20, 21, 22]))]);
    expect([a, b]).toEqual([1, 0]);
    expect(rejected).toEqual([{ partition: 0, rows: [13] }]);
    expect(stored.sort((x, y) => x - y)).toEqual([10, 11, 12, 14, 20, 21, 22]);
    // 8 units: 4 | 4 → the first half refused again: 2 | 2 → 1 | 1; each sub-block under a token of its own.
    expect(writes).toEqual([
      't:0:10-14,1:20-22',
      't:0:10-14,1:20-22/0',
      't:0:10-14,1:20-22/0/0',
      't:0:10-14,1:20-22/0/1',
      't:0:10-14,1:20-22/0/1/0',
      't:0:10-14,1:20-22/0/1/1',
      't:0:10-14,1:20-22/1',
    ]);
  });

  it('isolates every refused row, however many, in one pass', async () => {
    const bad = new Set([1, 4, 5, 9]);
    const { c, stored, rejected } = splitting((rows) => (rows.some((r) => bad.has(r)) ? 'reject' : null));
    c.enter();
    expect(await c.submit(units(0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))).toBe(4);
    expect(rejected.map((r) => r.rows[0])).toEqual([1, 4, 5, 9]);
    expect(stored).toEqual([0, 2, 3, 6, 7, 8]);
  });

  it('stores every row of a block refused as a whole (too many partitions) by splitting it, dead-lettering none', async () => {
    // More than 3 rows in one insert are refused, like rows of more than max_partitions_per_insert_block months.
    const { c, writes, stored, rejected } = splitting((rows) => (rows.length > 3 ? 'split' : null));
    c.enter();
    expect(await c.submit(units(0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))).toBe(0);
    expect(rejected).toEqual([]);
    expect(stored).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(writes).toHaveLength(7); // 11 → 5 | 6 → 2 | 3 | 3 | 3
  });

  it('retries a single row the block-wide refusal still hits (a merge backlog), never dead-lettering it', async () => {
    let refusals = 3;
    const slept: number[] = [];
    const { c, writes, stored, rejected } = splitting(() => (refusals-- > 0 ? 'split' : null), slept);
    c.enter();
    expect(await c.submit(units(0, [7]))).toBe(0);
    expect(rejected).toEqual([]);
    expect(stored).toEqual([7]);
    expect(writes).toEqual(['t:0:7-7', 't:0:7-7', 't:0:7-7', 't:0:7-7']);
    // Full jitter at 0.5 of the ceilings 200, 400, 800.
    expect(slept).toEqual([100, 200, 400]);
  });

  it('does not repeat in the halves a step the refused block had already stored', async () => {
    const dones: string[][] = [];
    const c = new InsertCoalescer<number[]>('t', {
      maxRows: 1000,
      lingerMs: 10,
      stopping: () => false,
      backoff: noWait(),
      onRetry: () => undefined,
      units: (rows) => rows.length,
      take: (rows, from, to) => rows.slice(from, to),
      verdict: () => 'reject',
      reject: async () => undefined,
      async write(_token, slices, done) {
        dones.push([...done]);
        done.add('pull_events');
        if (slices.flatMap((s) => s.rows).includes(2)) throw new Refused('reject');
        done.add('raw_events');
      },
    });
    c.enter();
    expect(await c.submit(units(0, [1, 2]))).toBe(1);
    expect(dones).toEqual([[], ['pull_events'], ['pull_events']]);
  });

  it('lets the blocks of other partitions through while one is retried', async () => {
    let down = true;
    // Real (short) waits: the retried block must leave the event loop to the others.
    const { c, writes } = splitting(
      (rows) => (rows.includes(1) && down ? 'retry' : null),
      [],
      new BackoffPolicy({ baseMs: 5, maxMs: 5 }),
    );
    c.enter();
    const first = c.submit(units(0, [1, 2]));
    // Partition 0's block failed once and is waiting to retry.
    await until(() => writes.includes('t:0:1-2'), "partition 0's first attempt", 5000, 1);
    c.enter();
    await c.submit(units(1, [5, 6]));
    expect(writes).toContain('t:1:5-6');
    down = false;
    expect(await first).toBe(0);
    expect(writes.filter((w) => w === 't:0:1-2').length).toBeGreaterThanOrEqual(2);
  });
});
