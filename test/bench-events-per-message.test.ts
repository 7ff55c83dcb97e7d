import { describe, expect, it } from 'vitest';
import { envelopes, grouped } from '../bench/events-per-message.ts';

describe('the events-per-message bench', () => {
  it('groups each send into JSON arrays holding the same envelopes, in order, none lost or repeated', () => {
    const single = envelopes(250);
    const sends = [single.slice(0, 120), single.slice(120)];
    const groups = grouped(sends, 50);
    expect(groups.map((g) => g.length)).toEqual([3, 3]);
    expect(groups.flat().map((m) => (JSON.parse(String(m.value)) as unknown[]).length)).toEqual([
      50, 50, 20, 50, 50, 30,
    ]);
    const back = groups.flat().flatMap((m) => JSON.parse(String(m.value)) as unknown[]);
    expect(back).toEqual(single.map((m) => JSON.parse(String(m.value))));
    // Each message keeps the key of its first envelope.
    expect(groups[1]![0]!.key).toBe(single[120]!.key);
  });
});
