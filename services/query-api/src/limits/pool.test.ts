import { describe, expect, it } from 'vitest';
import { loadLimits } from './config.ts';
import { TooManyRequestsError } from './errors.ts';
import { Isolation } from './isolation.ts';
import { KeyedLimit, Pool } from './pool.ts';

describe('Pool', () => {
  it('grants, queues in order, refuses a full queue, and times waiters out', async () => {
    const p = new Pool(1, 1, 50);
    expect(await p.acquire()).toBe(true);
    const waiting = p.acquire();
    expect(await p.acquire()).toBe(false); // queue full
    p.release();
    expect(await waiting).toBe(true);
    expect(await p.acquire()).toBe(false); // waited 50 ms
    p.release();
    expect(p.active).toBe(0);
  });
  it('limits per key', () => {
    const k = new KeyedLimit(1);
    expect(k.tryAcquire('a')).toBe(true);
    expect(k.tryAcquire('a')).toBe(false);
    expect(k.tryAcquire('b')).toBe(true);
    k.release('a');
    expect(k.tryAcquire('a')).toBe(true);
  });
});

describe('Isolation', () => {
  it('refuses a token over its share of a class, and keeps classes apart', async () => {
    const iso = new Isolation(loadLimits({ PULLWATCH_API_REPORT_CONCURRENCY: '2', PULLWATCH_API_REPORT_QUEUE: '0' }));
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const running = [iso.run('report', 't', () => held), iso.run('report', 't', () => held)];
    await expect(iso.run('report', 't', async () => 1)).rejects.toMatchObject({ scope: 'token', retryAfterSeconds: 2 });
    await expect(iso.run('report', 'other', async () => 1)).rejects.toBeInstanceOf(TooManyRequestsError);
    expect(await iso.run('dashboard', 't', async () => 'ok')).toBe('ok');
    release();
    await Promise.all(running);
    expect(iso.refused).toEqual({ dashboard: 0, report: 2, alerts: 0 });
  });
});

describe('loadLimits', () => {
  it('reads overrides and rejects nonsense naming the variable', () => {
    const l = loadLimits({
      PULLWATCH_API_REPORT_CONCURRENCY: '4',
      PULLWATCH_API_DASHBOARD_MAX_EXECUTION_SECONDS: '2.5',
    });
    expect(l.classes.report.concurrency).toBe(4);
    expect(l.classes.dashboard.settings.max_execution_time).toBe(2.5);
    expect(l.classes.report.settings.priority).toBeGreaterThan(l.classes.dashboard.settings.priority);
    expect(() => loadLimits({ PULLWATCH_API_REPORT_CONCURRENCY: '0' })).toThrow(/PULLWATCH_API_REPORT_CONCURRENCY/);
  });
});
