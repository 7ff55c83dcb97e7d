/**
 * Identities already produced, so a relist (after a reconnect or a 410 Gone) re-emits only what is
 * new. Bounded: the oldest identities are forgotten first (Events expire after about an hour).
 */
export class SentIdentities {
  private readonly keys = new Map<string, true>();
  constructor(private readonly capacity = 200_000) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.delete(key);
    this.keys.set(key, true);
    while (this.keys.size > this.capacity) this.keys.delete(this.keys.keys().next().value!);
  }

  get size(): number {
    return this.keys.size;
  }
}
