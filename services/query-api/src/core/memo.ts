/**
 * Promises kept by key for `ttlMs`, at most `max` of them (the oldest go first): requests asking the
 * same thing at once, or within the TTL, share one read. A promise that fails is dropped, so the next
 * ask reads again.
 */
export class PromiseMemo<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    this.entries.delete(key);
    const value = load();
    this.entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(k);
    }
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
