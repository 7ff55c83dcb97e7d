/**
 * Merges the slices that the partitions being consumed at the same time hand in into one
 * ClickHouse insert. ClickHouse's cost per row falls steeply with the size of the insert (every
 * insert makes a part in each table and materialized view, and parts are merged again later), and
 * a consumer with many partitions otherwise writes many small blocks.
 *
 * A failed block is dealt with by what the failure means (`verdict`):
 * - retry: the block is retried as it is (same slices, same token), after a back-off with full jitter
 *   (@pullwatch/backoff), so a retry after an insert that landed unseen is dropped by ClickHouse's
 *   deduplication. While it waits, the blocks of other partitions are written: one partition's trouble
 *   does not hold the others.
 * - split / reject: the block (or the rows in it) was refused and would be again: it is halved, each half
 *   written (and halved again if refused) under a token of its own, until the refused rows are single
 *   units; those are handed to `reject` (the dead-letter topic) and the rest is stored.
 * A block is given up only when the consumer stops or one of its partitions has moved to another
 * instance; the callers are then told (`BlockAbandoned`) and must treat what they processed as not stored.
 */
import type { BackoffPolicy } from '@pullwatch/backoff';

export interface SliceControl {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
  pause(): void;
}

export interface Slice<R> {
  partition: number;
  /** The topic's ID, in the token: a topic created again under the same name reuses its offsets. */
  topicId?: string;
  firstOffset: string;
  lastOffset: string;
  /** Rows this slice adds to the insert (bounds the block size). */
  rowCount: number;
  rows: R;
  control: SliceControl;
}

export class BlockAbandoned extends Error {
  constructor(override readonly cause: unknown) {
    super(`insert abandoned: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'BlockAbandoned';
  }
}

/** What a failed write means: see the top of this file. */
export type WriteVerdict = 'retry' | 'split' | 'reject';

export interface CoalescerOptions<R> {
  /**
   * Stores one block; `token` is the same for every attempt of the same block. `done` names the steps
   * (tables) already stored for these rows, by this attempt or an earlier one of the block it was
   * split from: add to it as steps succeed, skip what it holds.
   */
  write(token: string, slices: Slice<R>[], done: Set<string>): Promise<void>;
  /** An insert holds at most this many rows (more only when a single slice is larger). */
  maxRows: number;
  /** How long a slice may wait for others to join its block. */
  lingerMs: number;
  /** The partitions' consumer is stopping: give up instead of retrying. */
  stopping(): boolean;
  /** What a failed write of these slices means (retry, when absent). */
  verdict?(err: unknown, slices: Slice<R>[]): WriteVerdict;
  /** The indivisible units of a slice's rows (messages), and a run of them: what splitting needs. */
  units?(rows: R): number;
  take?(rows: R, from: number, to: number): R;
  /**
   * Rows refused on their own (one unit): dead-letter them. Awaited before the block goes on, so they
   * are on record even if the block is given up afterwards.
   */
  reject?(slice: Slice<R>, err: unknown): Promise<void>;
  /** The waits between retries of one block. */
  backoff: BackoffPolicy;
  /** A refused block of `units` units is being split in two; `depth` 0 is the block as first written. */
  onSplit?(err: unknown, units: number, verdict: WriteVerdict, depth: number): void;
  /** Called before each wait: `attempt` counts from 0. */
  onRetry(err: unknown, attempt: number, slices: number, waitMs: number): void;
}

interface Waiting<R> {
  slice: Slice<R>;
  resolve(rejected: number): void;
  reject(err: unknown): void;
}

export class InsertCoalescer<R> {
  private waiting: Waiting<R>[] = [];
  private waitingRows = 0;
  private active = 0;
  /** A block's first attempt is in flight: the next block waits for it (and grows meanwhile). */
  private flushing = false;
  private considering = false;
  private timer: NodeJS.Timeout | null = null;
  /** Partitions with a block being retried or split: their next slice waits for it. */
  private readonly busy = new Map<number, number>();

  constructor(
    private readonly topic: string,
    private readonly opts: CoalescerOptions<R>,
  ) {}

  /** A partition's batch handler starts: its slice may be worth waiting for. */
  enter(): void {
    this.active += 1;
  }

  /** …and ends; those waiting need not wait for it any more. */
  leave(): void {
    this.active -= 1;
    this.consider();
  }

  /**
   * Resolves once the slice is stored in ClickHouse (with the others of its block), with how many of its
   * units were refused and handed to `reject`.
   */
  submit(slice: Slice<R>): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.waiting.push({ slice, resolve, reject });
      this.waitingRows += slice.rowCount;
      this.consider();
    });
  }

  /**
   * Decides once the handlers started with this one have had their turn: the consumer starts the batch
   * handlers of a fetch one after another, each running until its first await, so deciding at
   * once would write the first slice alone.
   */
  private consider(): void {
    if (this.considering) return;
    this.considering = true;
    setImmediate(() => {
      this.considering = false;
      this.decide();
    });
  }

  private ready(): Waiting<R>[] {
    return this.waiting.filter((w) => !this.busy.has(w.slice.partition));
  }

  private decide(): void {
    if (this.flushing) return;
    const ready = this.ready();
    if (!ready.length) return;
    const rows = ready.reduce((n, w) => n + w.slice.rowCount, 0);
    // Every batch handler in progress (but those waiting on a block being retried) has handed in its slice,
    // or the block is full: write now.
    if (ready.length >= this.active - this.busy.size || rows >= this.opts.maxRows) return void this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushing) return;
    const block: Waiting<R>[] = [];
    let rows = 0;
    for (const w of this.ready()) {
      if (block.length && rows + w.slice.rowCount > this.opts.maxRows) break;
      block.push(w);
      rows += w.slice.rowCount;
    }
    if (!block.length) return;
    this.waiting = this.waiting.filter((w) => !block.includes(w));
    this.waitingRows -= rows;
    this.flushing = true;
    let released = false;
    // After its first failed attempt a block no longer holds the others back.
    const release = () => {
      if (released) return;
      released = true;
      this.flushing = false;
      for (const w of block) this.busy.set(w.slice.partition, (this.busy.get(w.slice.partition) ?? 0) + 1);
      this.consider();
    };
    const rejected = new Map<Slice<R>, number>();
    void this.writeBlock(
      block.map((w) => w.slice),
      release,
      rejected,
    )
      .then(
        () => {
          for (const w of block) w.resolve(rejected.get(w.slice) ?? 0);
        },
        (err: unknown) => {
          // Those waiting behind a given-up block are given up too: the analyzer then restores every
          // partition from ClickHouse, which must not happen while a processed slice is still to be
          // written (its counts would be read back too low and counted again).
          const behind = this.waiting.splice(0);
          this.waitingRows = 0;
          for (const w of [...block, ...behind]) w.reject(err);
        },
      )
      .finally(() => {
        if (released)
          for (const w of block) {
            const n = (this.busy.get(w.slice.partition) ?? 1) - 1;
            if (n > 0) this.busy.set(w.slice.partition, n);
            else this.busy.delete(w.slice.partition);
          }
        else this.flushing = false;
        this.consider();
      });
  }

  private writeBlock(slices: Slice<R>[], release: () => void, rejected: Map<Slice<R>, number>): Promise<void> {
    // Offsets make the token: the same slices always form the same block.
    const token = `${this.topic}:${slices
      .map((s) => `${s.partition}${s.topicId ? `@${s.topicId}` : ''}:${s.firstOffset}-${s.lastOffset}`)
      .join(',')}`;
    const parts = slices.map((s) => ({ slice: s, rows: s.rows }));
    return this.store(token, parts, new Set(), release, rejected, 0);
  }

  /** Writes `parts` (runs of the block's slices) until stored, retrying, or splitting what is refused. */
  private async store(
    token: string,
    parts: Part<R>[],
    done: Set<string>,
    release: () => void,
    rejected: Map<Slice<R>, number>,
    depth: number,
  ): Promise<void> {
    const b = this.opts.backoff.start();
    for (;;) {
      const slices = parts.map((p) => ({ ...p.slice, rows: p.rows }));
      try {
        await this.opts.write(token, slices, done);
        return;
      } catch (err) {
        release();
        if (this.opts.stopping() || parts.some((p) => !p.slice.control.isRunning() || p.slice.control.isStale()))
          throw new BlockAbandoned(err);
        const verdict = this.opts.verdict?.(err, slices) ?? 'retry';
        const units = this.unitsOf(parts);
        if (verdict === 'reject' && units === 1 && this.opts.reject) {
          const only = parts.find((p) => this.opts.units!(p.rows) === 1)!;
          await this.opts.reject({ ...only.slice, rows: only.rows }, err);
          rejected.set(only.slice, (rejected.get(only.slice) ?? 0) + 1);
          return;
        }
        if (verdict !== 'retry' && units > 1) {
          this.opts.onSplit?.(err, units, verdict, depth);
          const [left, right] = this.halve(parts, units);
          await this.store(`${token}/0`, left, new Set(done), release, rejected, depth + 1);
          await this.store(`${token}/1`, right, new Set(done), release, rejected, depth + 1);
          return;
        }
        const attempt = b.attempts;
        if (attempt === 0) for (const p of parts) p.slice.control.pause();
        // No budget: the same block until stored, or given up (stopping, partition moved).
        const wait = b.next() ?? this.opts.backoff.ceiling(attempt);
        this.opts.onRetry(err, attempt, parts.length, wait);
        await this.opts.backoff.sleep(wait);
        await parts[0]!.slice.control.heartbeat();
      }
    }
  }

  private unitsOf(parts: Part<R>[]): number {
    const units = this.opts.units;
    if (!units || !this.opts.take) return 1;
    return parts.reduce((n, p) => n + units(p.rows), 0);
  }

  /** The first half of the units and the rest, cutting through a slice where the half falls. */
  private halve(parts: Part<R>[], units: number): [Part<R>[], Part<R>[]] {
    const count = this.opts.units!;
    const take = this.opts.take!;
    let need = Math.floor(units / 2);
    const left: Part<R>[] = [];
    const right: Part<R>[] = [];
    for (const p of parts) {
      const n = count(p.rows);
      if (need >= n) {
        left.push(p);
        need -= n;
      } else if (need > 0) {
        left.push({ slice: p.slice, rows: take(p.rows, 0, need) });
        right.push({ slice: p.slice, rows: take(p.rows, need, n) });
        need = 0;
      } else if (n > 0) right.push(p);
    }
    return [left, right];
  }
}

/** A run of one slice's units, written as part of a (split) block. */
interface Part<R> {
  slice: Slice<R>;
  rows: R;
}
