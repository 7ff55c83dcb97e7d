import { describe, expect, it } from 'vitest';
import { PromiseMemo } from './memo.ts';

describe('PromiseMemo', () => {
  it('shares one load per key within the TTL, and loads again after it', async () => {
    let now = 0;
    const memo = new PromiseMemo<number>(1000, 10, () => now);
    let loads = 0;
    const load = async () => ++loads;
    const [a, b] = await Promise.all([memo.get('k', load), memo.get('k', load)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    now = 999;
    expect(await memo.get('k', load)).toBe(1);
    expect(await memo.get('other', load)).toBe(2);
    now = 1000;
    expect(await memo.get('k', load)).toBe(3);
  });

  it('drops a failed load, so the next ask loads again', async () => {
    const memo = new PromiseMemo<number>(60_000, 10, () => 0);
    await expect(memo.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await Promise.resolve();
    expect(memo.size).toBe(0);
    expect(await memo.get('k', async () => 7)).toBe(7);
  });

  it('keeps at most `max` entries, the oldest going first', async () => {
    let now = 0;
    const memo = new PromiseMemo<string>(60_000, 2, () => now);
    for (const k of ['a', 'b', 'c']) {
      now += 1;
      await memo.get(k, async () => `${k}1`);
    }
    expect(memo.size).toBe(2);
    expect(await memo.get('a', async () => 'a2')).toBe('a2');
    expect(await memo.get('c', async () => 'c2')).toBe('c1');
  });
});
