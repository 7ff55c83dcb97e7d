/**
 * Merges the slices that the partitions being consumed at the same time hand in into one
 * ClickHouse insert. ClickHouse's cost per row falls steeply with the size of the insert (every
 * insert makes a part in each table and materialized view, and parts are merged again later), and
 * a consumer with many partitions otherwise writes many small blocks.
 *
 * A block, once attempted, is retried as it is (same slices, same token) until it is stored, so a
 * retry after an insert that landed unseen is dropped by ClickHouse's deduplication. It is given
 * up only when the consumer stops or one of its partitions has moved to another instance; the
 * callers are then told (`BlockAbandoned`) and must treat what they processed as not stored.
 */
export interface SliceControl {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
  pause(): void;
}

export interface Slice<R> {
  partition: number;
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

export interface CoalescerOptions<R> {
  /** Stores one block; `token` is the same for every attempt of the same block. */
  write(token: string, slices: Slice<R>[]): Promise<void>;
  /** An insert holds at most this many rows (more only when a single slice is larger). */
  maxRows: number;
  /** How long a slice may wait for others to join its block. */
  lingerMs: number;
  /** The partitions' consumer is stopping: give up instead of retrying. */
  stopping(): boolean;
  onRetry(err: unknown, attempt: number, slices: number): void;
  sleep?: (ms: number) => Promise<void>;
}

interface Waiting<R> {
  slice: Slice<R>;
  resolve(): void;
  reject(err: unknown): void;
}

export class InsertCoalescer<R> {
  private waiting: Waiting<R>[] = [];
  private waitingRows = 0;
  private active = 0;
  private flushing = false;
  private considering = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly topic: string,
    private readonly opts: CoalescerOptions<R>,
  ) {
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** A partition's batch handler starts: its slice may be worth waiting for. */
  enter(): void {
    this.active += 1;
  }

  /** …and ends; those waiting need not wait for it any more. */
  leave(): void {
    this.active -= 1;
    this.consider();
  }

  /** Resolves once the slice is stored in ClickHouse (with the others of its block). */
  submit(slice: Slice<R>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
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

  private decide(): void {
    if (this.flushing || !this.waiting.length) return;
    // Every batch handler in progress has handed in its slice, or the block is full: write now.
    if (this.waiting.length >= this.active || this.waitingRows >= this.opts.maxRows) return void this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushing || !this.waiting.length) return;
    let rows = 0;
    let n = 0;
    while (n < this.waiting.length && (n === 0 || rows + this.waiting[n]!.slice.rowCount <= this.opts.maxRows))
      rows += this.waiting[n++]!.slice.rowCount;
    const block = this.waiting.splice(0, n);
    this.waitingRows -= rows;
    this.flushing = true;
    void this.writeBlock(block.map((w) => w.slice))
      .then(
        () => {
          for (const w of block) w.resolve();
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
        this.flushing = false;
        this.consider();
      });
  }

  private async writeBlock(slices: Slice<R>[]): Promise<void> {
    // Offsets make the token: the same slices always form the same block.
    const token = `${this.topic}:${slices.map((s) => `${s.partition}:${s.firstOffset}-${s.lastOffset}`).join(',')}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.write(token, slices);
        return;
      } catch (err) {
        if (this.opts.stopping() || slices.some((s) => !s.control.isRunning() || s.control.isStale()))
          throw new BlockAbandoned(err);
        if (attempt === 0) for (const s of slices) s.control.pause();
        this.opts.onRetry(err, attempt, slices.length);
        await this.sleep(Math.min(10_000, 200 * 2 ** attempt));
        await slices[0]!.control.heartbeat();
      }
    }
  }
}
