// Finds which of many literals occur in a text in one pass (an Aho–Corasick automaton compiled to a
// flat transition table), so the rule table's literal gates cost one scan instead of one indexOf each.

export class LiteralMatcher {
  private readonly charClass = new Uint8Array(128);
  private readonly classes: number;
  private readonly next: Int32Array;
  /** Per state, the tags (rule indices) of every literal that ends there, suffix matches included. */
  private readonly outputs: (readonly number[] | null)[];
  /** seen[tag] === stamp ⇔ a literal with that tag occurred in the last scanned text. */
  private readonly seen: Uint32Array;
  private stamp = 0;

  /** `literals[i]` is lower-case ASCII and reports `tags[i]`. */
  constructor(literals: readonly string[], tags: readonly number[], tagCount: number) {
    let classes = 1; // class 0: a character no literal contains
    for (const lit of literals) {
      for (let i = 0; i < lit.length; i++) {
        const c = lit.charCodeAt(i);
        if (c >= 128) throw new Error(`literal must be ASCII: ${lit}`);
        if (this.charClass[c] === 0) this.charClass[c] = classes++;
      }
    }
    // Upper-case letters share the class of their lower-case form: the scan needs no toLowerCase.
    for (let c = 65; c <= 90; c++) this.charClass[c] = this.charClass[c + 32] ?? 0;
    this.classes = classes;

    // Trie.
    const trie: number[][] = [new Array<number>(classes).fill(-1)];
    const own: number[][] = [[]];
    literals.forEach((lit, index) => {
      let s = 0;
      for (let i = 0; i < lit.length; i++) {
        const k = this.charClass[lit.charCodeAt(i)] ?? 0;
        const row = trie[s] as number[];
        if (row[k] === -1) {
          row[k] = trie.length;
          trie.push(new Array<number>(classes).fill(-1));
          own.push([]);
        }
        s = row[k] as number;
      }
      (own[s] as number[]).push(tags[index] as number);
    });

    // Breadth-first failure links, folded into a complete transition table.
    const states = trie.length;
    const next = new Int32Array(states * classes);
    const fail = new Int32Array(states);
    const outputs: number[][] = own.map((o) => [...o]);
    const queue: number[] = [];
    for (let k = 0; k < classes; k++) {
      const t = (trie[0] as number[])[k] as number;
      if (t === -1) next[k] = 0;
      else {
        next[k] = t;
        fail[t] = 0;
        queue.push(t);
      }
    }
    for (let head = 0; head < queue.length; head++) {
      const s = queue[head] as number;
      const f = fail[s] as number;
      (outputs[s] as number[]).push(...(outputs[f] as number[]));
      for (let k = 0; k < classes; k++) {
        const t = (trie[s] as number[])[k] as number;
        if (t === -1) next[s * classes + k] = next[f * classes + k] as number;
        else {
          next[s * classes + k] = t;
          fail[t] = next[f * classes + k] as number;
          queue.push(t);
        }
      }
    }
    this.next = next;
    this.outputs = outputs.map((o) => (o.length ? [...new Set(o)] : null));
    this.seen = new Uint32Array(tagCount);
  }

  /** Scans `text`; afterwards `has(tag)` tells whether a literal with that tag occurred. */
  scan(text: string): void {
    if (this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 0;
    }
    const stamp = ++this.stamp;
    const { charClass, next, outputs, seen, classes } = this;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = next[s * classes + (c < 128 ? (charClass[c] as number) : 0)] as number;
      const out = outputs[s];
      if (out) for (let j = 0; j < out.length; j++) seen[out[j] as number] = stamp;
    }
  }

  has(tag: number): boolean {
    return this.seen[tag] === this.stamp;
  }
}
