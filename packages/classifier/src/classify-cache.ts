import { LRUCache } from 'lru-cache';
import { classify } from './classify.ts';
import type { Classification, ClassifyInput } from './taxonomy.ts';

interface Remembered {
  reason: string | null;
  image: string | null;
  answer: Classification;
}

export interface ClassifyCacheOptions {
  /** Characters of keys kept at most (a key is the message, reason and image): bounds the memory; 0 keeps none. */
  maxChars?: number;
  /** Messages longer than this are classified every time, never kept (one huge message cannot evict all). */
  maxKeyChars?: number;
}

/**
 * classify() with a memory of its recent answers. A fleet repeats the same few messages (one image's
 * `Back-off pulling image "x"` from every Pod that runs it), so most Events need no classification at all.
 * classify() is pure: the same message, reason and image always give the same answer, which is shared and
 * must not be changed by callers.
 */
export class ClassifyCache {
  private readonly lru: LRUCache<string, Remembered> | null;
  private readonly maxKeyChars: number;
  hits = 0;
  misses = 0;

  constructor(opts: ClassifyCacheOptions = {}) {
    this.maxKeyChars = opts.maxKeyChars ?? 4096;
    // Each entry costs its message's characters and about 100 more for the answer's own fields.
    const maxSize = opts.maxChars ?? 4_000_000;
    this.lru =
      maxSize > 0
        ? new LRUCache({ maxSize, sizeCalculation: (v, message) => message.length + (v.image?.length ?? 0) + 100 })
        : null;
  }

  classify(input: ClassifyInput): Classification {
    if (!this.lru || input.message.length > this.maxKeyChars) {
      this.misses++;
      return classify(input);
    }
    // Keyed by the message alone (no key string to build and copy): the reason and the image are checked.
    const reason = input.reason ?? null;
    const image = input.image ?? null;
    const known = this.lru.get(input.message);
    if (known && known.reason === reason && known.image === image) {
      this.hits++;
      return known.answer;
    }
    this.misses++;
    const answer = classify(input);
    this.lru.set(input.message, { reason, image, answer });
    return answer;
  }

  /** Entries kept now. */
  get size(): number {
    return this.lru?.size ?? 0;
  }
}
