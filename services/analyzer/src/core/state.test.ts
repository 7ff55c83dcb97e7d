import { describe, expect, it } from 'vitest';
import { AgingMap, AnalyzerState } from './state.ts';
import type { PodStateRow } from './table-formats.ts';

const HOUR = 3_600_000;

describe('AgingMap', () => {
  it('keeps an entry at least one generation after its last use and drops it within two', () => {
    let now = 10 * HOUR; // the start of a generation
    const m = new AgingMap<string, number>(HOUR, () => now);
    m.set('used', 1);
    m.set('unused', 2);
    now += HOUR - 1; // same generation
    expect([m.get('used'), m.size]).toEqual([1, 2]);
    now += 1; // next generation: both still there, 'used' is read and so moves up
    expect(m.get('used')).toBe(1);
    expect(m.size).toBe(2);
    now += HOUR; // 'unused' had a whole generation without use: gone
    expect([m.get('unused'), m.get('used'), m.size]).toEqual([undefined, 1, 1]);
    now += 2 * HOUR; // two generations without use: all gone
    expect([m.get('used'), m.size]).toEqual([undefined, 0]);
  });

  it('counts an entry set again in the newer generation once', () => {
    let now = 0;
    const m = new AgingMap<string, number>(HOUR, () => now);
    m.set('a', 1);
    now += HOUR;
    m.set('a', 2);
    expect([m.get('a'), m.size]).toEqual([2, 1]);
  });
});

const failing = (status: PodStateRow['status']) => ({ status }) as PodStateRow;

describe('AnalyzerState', () => {
  it('remembers counts per cluster and Event, and forgets those unused for two of its periods', () => {
    let now = 0;
    const s = new AnalyzerState({ forgetAfterMs: 48 * HOUR, now: () => now });
    s.setCount('eu', 'u1', 3);
    s.setCount('us', 'u1', 5);
    expect([s.count('eu', 'u1'), s.count('us', 'u1'), s.count('eu', 'u2')]).toEqual([3, 5, 0]);
    now += 96 * HOUR;
    expect([s.count('eu', 'u1'), s.sizes().events]).toEqual([0, 0]);
  });

  it('keeps open Pod states only: a recovered one reads as none', () => {
    const s = new AnalyzerState();
    s.setPod('eu/shop/web/app/img:1', failing('failing'));
    s.setPod('eu/shop/web/app/img:1', failing('stuck'));
    expect(s.pod('eu/shop/web/app/img:1')?.status).toBe('stuck');
    s.setPod('eu/shop/web/app/img:1', failing('recovered'));
    expect([s.pod('eu/shop/web/app/img:1'), s.sizes().pods]).toEqual([undefined, 0]);
  });

  it('shares one object among equal causes, and keeps images apart from the text they were read from', () => {
    const s = new AnalyzerState();
    s.setCause('a', { cause: 'not_found', subcause: '', hint: 'h' });
    s.setCause('b', { cause: 'not_found', subcause: '', hint: 'h' });
    expect(s.cause('a')).toBe(s.cause('b'));
    expect(s.cause('a')).toEqual({ cause: 'not_found', subcause: '', hint: 'h' });
    const message = `Failed to pull image "ghcr.io/acme/web:1.2": ${'x'.repeat(200)}`;
    s.setImage('eu/shop/web/app', /"([^"]+)"/.exec(message)![1]!);
    expect([s.image('eu/shop/web/app'), s.sizes()]).toEqual([
      'ghcr.io/acme/web:1.2',
      { events: 0, causes: 2, images: 1, pods: 0 },
    ]);
  });
});
