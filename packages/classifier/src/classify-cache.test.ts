import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClassifyCache } from './classify-cache.ts';
import { classify } from './classify.ts';
import type { ClassifyInput } from './taxonomy.ts';

const FIXTURES = fileURLToPath(new URL('../test-fixtures/', import.meta.url));
const inputs: ClassifyInput[] = ['dev-messages.jsonl', 'extra-messages.jsonl', 'registries-2026-messages.jsonl']
  .flatMap((f) => readFileSync(`${FIXTURES}${f}`, 'utf8').split('\n'))
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { message: string; event_reason?: string | null; image?: string | null })
  .map((l) => ({ message: l.message, reason: l.event_reason ?? null, image: l.image ?? null }));

describe('ClassifyCache', () => {
  it('answers exactly as classify() does, from memory the second time', () => {
    const cache = new ClassifyCache();
    for (const input of inputs) expect(cache.classify(input)).toEqual(classify(input));
    const distinct = new Set(inputs.map((i) => `${i.reason}\u0000${i.image}\u0000${i.message}`)).size;
    expect(cache.misses).toBe(distinct);
    for (const input of inputs) expect(cache.classify(input)).toEqual(classify(input));
    expect(cache.hits).toBe(inputs.length * 2 - distinct);
  });

  it('tells inputs apart by reason and image, not only by message', () => {
    const cache = new ClassifyCache();
    const message = 'Back-off pulling image';
    const a = cache.classify({ message, reason: 'BackOff', image: 'nginx:1.27' });
    const b = cache.classify({ message, reason: 'BackOff', image: 'ghcr.io/acme/api:2' });
    expect([a.image, b.image]).toEqual(['nginx:1.27', 'ghcr.io/acme/api:2']);
    expect(cache.misses).toBe(2);
  });

  it('keeps at most maxChars of messages, and never keeps a message longer than maxKeyChars', () => {
    const cache = new ClassifyCache({ maxChars: 10_000, maxKeyChars: 1000 });
    for (let i = 0; i < 500; i++) cache.classify({ message: `Failed to pull image "nginx:${i}": not found` });
    // Each entry costs its message (43 characters for i ≥ 100) plus 100: 10 000 hold 69 of them.
    expect(cache.size).toBe(69);
    const huge = { message: `Failed to pull image "nginx:1": ${'x'.repeat(5000)}` };
    cache.classify(huge);
    cache.classify(huge);
    expect(cache.hits).toBe(0);
    expect(cache.size).toBe(69);
  });
});
