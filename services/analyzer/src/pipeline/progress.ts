/**
 * What of each partition this instance holds is already in ClickHouse: offsets at or below `storedUpTo`
 * are stored (from before a crash, or by this instance), those at or below `pullsStoredUpTo` have their
 * pull rows stored. Restored at a (re)assignment, moved after each stored slice, forgotten when the
 * in-memory state is.
 */
export class StoredProgress {
  private readonly upTo = new Map<number, number>();
  private readonly pullsUpTo = new Map<number, number>();
  /**
   * Bumped when the in-memory state is forgotten: a slice processed before then must not mark its
   * partition restored once stored (its partition is restored from ClickHouse instead).
   */
  private generation = 0;

  /** The partition's progress is known (restored since it was assigned or last forgotten). */
  restored(partition: number): boolean {
    return this.upTo.has(partition);
  }

  /** The highest stored offset of a partition (-1: none). */
  storedUpTo(partition: number): number {
    return this.upTo.get(partition) ?? -1;
  }

  /** The highest offset whose pull rows are stored (-1: none). */
  pullsStoredUpTo(partition: number): number {
    return this.pullsUpTo.get(partition) ?? -1;
  }

  /** Read back from ClickHouse (stages.ts restoreState). */
  restore(partitions: number[], offsets: Map<number, number>, pullOffsets: Map<number, number>): void {
    for (const p of partitions) {
      this.upTo.set(p, offsets.get(p) ?? -1);
      this.pullsUpTo.set(p, pullOffsets.get(p) ?? -1);
    }
  }

  /** Which generation a slice is processed in (see `markStored`). */
  current(): number {
    return this.generation;
  }

  /** A slice processed in `generation` is stored and committed up to `offset`. */
  markStored(partition: number, offset: number, generation: number): void {
    if (generation === this.generation) this.upTo.set(partition, offset);
  }

  /** The in-memory state was forgotten: every partition is restored again before its next slice. */
  forget(): void {
    this.generation += 1;
    this.upTo.clear();
    this.pullsUpTo.clear();
  }

  /** A rebalance: partitions no longer held are dropped (another instance may write them meanwhile). */
  keepOnly(partitions: number[]): void {
    for (const p of [...this.upTo.keys()])
      if (!partitions.includes(p)) {
        this.upTo.delete(p);
        this.pullsUpTo.delete(p);
      }
  }

  /** Messages behind each partition's end (`ends`: the next offset per partition), for the lag gauge. */
  behind(ends: readonly number[]): Map<number, number> {
    return new Map([...this.upTo].map(([p, stored]) => [p, Math.max(0, (ends[p] ?? 0) - stored - 1)]));
  }

  get size(): number {
    return this.upTo.size;
  }

  /** Each partition's highest stored offset, for logs. */
  snapshot(): Record<number, number> {
    return Object.fromEntries(this.upTo);
  }
}
