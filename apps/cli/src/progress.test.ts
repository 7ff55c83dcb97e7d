import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from './progress.ts';

describe('progressLine', () => {
  it('states what is done, how far, the rate and the time left', () => {
    expect(progressLine('events', { done: 12_000, fraction: 0.3, elapsedMs: 4_000 })).toBe(
      '12,000 events · 30% · 3,000 events/s · ETA 0:09',
    );
  });

  it('claims no share or time left when the whole is unknown, and none when done', () => {
    expect(progressLine('rows', { done: 500, fraction: null, elapsedMs: 2_000 })).toBe('500 rows · 250 rows/s');
    expect(progressLine('events', { done: 40_000, fraction: 1, elapsedMs: 10_000 })).toBe(
      '40,000 events · 100% · 4,000 events/s',
    );
  });

  it('leads with a bar on a terminal, and counts hours past the hour', () => {
    expect(progressLine('events', { done: 1, fraction: 0.25, elapsedMs: 1_800_000 }, true)).toBe(
      '[######..................] 1 events · 25% · 0 events/s · ETA 1:30:00',
    );
  });
});

describe('createProgress', () => {
  function recorder(isTTY: boolean) {
    const out: string[] = [];
    let t = 0;
    return { out, tick: (ms: number) => (t += ms), stream: { isTTY, write: (s: string) => out.push(s) }, now: () => t };
  }

  it('writes a plain line every few seconds off a terminal, and the last one when done', () => {
    const r = recorder(false);
    const p = createProgress({ unit: 'events', stream: r.stream, now: r.now, plainEveryMs: 5_000 });
    r.tick(1_000);
    p.update(1_000, 0.1);
    r.tick(4_000);
    p.update(5_000, 0.5);
    r.tick(1_000);
    p.update(6_000, 0.6);
    r.tick(4_000);
    p.finish(10_000);
    expect(r.out).toEqual([
      '5,000 events · 50% · 1,000 events/s · ETA 0:05\n',
      '10,000 events · 100% · 1,000 events/s\n',
    ]);
  });

  it('stays silent for a job too short to report', () => {
    const r = recorder(false);
    const p = createProgress({ unit: 'events', stream: r.stream, now: r.now });
    r.tick(300);
    p.update(10, 1);
    p.finish(10);
    expect(r.out).toEqual([]);
  });

  it('redraws one line in place on a terminal and ends it with a newline', () => {
    const r = recorder(true);
    const p = createProgress({ unit: 'events', stream: r.stream, now: r.now });
    r.tick(250);
    p.update(100, 0.5);
    r.tick(250);
    p.finish(200);
    expect(r.out).toEqual([
      '\r\x1b[2K[############............] 100 events · 50% · 400 events/s · ETA 0:00',
      '\r\x1b[2K[########################] 200 events · 100% · 400 events/s\n',
    ]);
  });
});
