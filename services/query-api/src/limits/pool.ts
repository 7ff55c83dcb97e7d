/** A counting semaphore with a bounded, timed FIFO queue: a slot, a wait, or a refusal. */
export class Pool {
  private running = 0;
  private readonly waiting: { grant: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(
    readonly size: number,
    readonly queue: number,
    readonly timeoutMs: number,
  ) {}

  get active(): number {
    return this.running;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves true with a slot (call release once), false when refused: queue full or waited too long. */
  acquire(): Promise<boolean> {
    if (this.running < this.size) {
      this.running += 1;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.queue || this.timeoutMs === 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry = {
        grant: () => {
          clearTimeout(entry.timer);
          resolve(true);
        },
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          resolve(false);
        }, this.timeoutMs),
      };
      this.waiting.push(entry);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.running -= 1;
  }
}

/** At most `size` at once per key (no queue); keys with nothing running are forgotten. */
export class KeyedLimit {
  private readonly counts = new Map<string, number>();

  constructor(readonly size: number) {}

  tryAcquire(key: string): boolean {
    const c = this.counts.get(key) ?? 0;
    if (c >= this.size) return false;
    this.counts.set(key, c + 1);
    return true;
  }

  release(key: string): void {
    const c = (this.counts.get(key) ?? 1) - 1;
    if (c <= 0) this.counts.delete(key);
    else this.counts.set(key, c);
  }
}
