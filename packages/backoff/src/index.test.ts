import { describe, expect, it } from 'vitest';
import { BackoffPolicy, PermanentError, RetryBudgetExhausted, retry } from './index.ts';

/** A policy on a fake clock: sleeping advances it; `random` fixed. */
function fake(opts: Partial<ConstructorParameters<typeof BackoffPolicy>[0]> = {}, random = 0.5) {
  let t = 1_000;
  const slept: number[] = [];
  const policy = new BackoffPolicy({
    baseMs: 100,
    maxMs: 1_000,
    random: () => random,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    ...opts,
  });
  return { policy, slept, advance: (ms: number) => (t += ms) };
}

describe('BackoffPolicy', () => {
  it('caps base · 2^attempt at the maximum', () => {
    const { policy } = fake();
    expect([0, 1, 2, 3, 4, 5, 200].map((a) => policy.ceiling(a))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('draws each wait uniformly below the ceiling (full jitter), in whole milliseconds', () => {
    expect(fake({}, 0).policy.delay(3)).toBe(0);
    expect(fake({}, 0.5).policy.delay(3)).toBe(400);
    expect(fake({}, 0.999_999).policy.delay(3)).toBe(799);
    expect(fake({ factor: 3 }, 0.5).policy.delay(2)).toBe(450);
  });

  it('spreads real random waits over the whole range', () => {
    const policy = new BackoffPolicy({ baseMs: 1000, maxMs: 1000 });
    const waits = Array.from({ length: 2000 }, () => policy.delay(0));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThan(1000);
    // Full jitter: about a quarter of the draws in each quarter of the range.
    for (let q = 0; q < 4; q++) {
      const n = waits.filter((w) => w >= q * 250 && w < (q + 1) * 250).length;
      expect(n, `quarter ${q}`).toBeGreaterThan(350);
      expect(n, `quarter ${q}`).toBeLessThan(650);
    }
  });

  it('refuses settings that make no sense', () => {
    expect(() => new BackoffPolicy({ baseMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new BackoffPolicy({ baseMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => new BackoffPolicy({ baseMs: 10, maxMs: 50, factor: 0.5 })).toThrow(RangeError);
    expect(() => new BackoffPolicy({ baseMs: 10, maxMs: 50, maxAttempts: 0 })).toThrow(RangeError);
  });
});

describe('Backoff (one operation)', () => {
  it('stops after maxAttempts attempts in all', () => {
    const b = fake({ maxAttempts: 3 }).policy.start();
    expect([b.next(), b.next(), b.next()]).toEqual([50, 100, null]);
    expect(b.attempts).toBe(3);
  });

  it('starts no attempt past maxElapsedMs', () => {
    const { policy, advance } = fake({ maxElapsedMs: 500 }, 0.999);
    const b = policy.start();
    expect(b.next()).toBe(99);
    advance(99);
    expect(b.next()).toBe(199);
    advance(199);
    // 298 ms gone; the next ceiling of 400 would end at 697.
    expect(b.next()).toBeNull();
  });

  it('starts again from the first wait after reset', () => {
    const b = fake().policy.start();
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(50);
  });
});

describe('retry', () => {
  it('retries until the call succeeds, waiting per the policy', async () => {
    const { policy, slept } = fake();
    const seen: number[] = [];
    const result = await retry(async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'ok';
    }, policy);
    expect(result).toBe('ok');
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(slept).toEqual([50, 100, 200]);
  });

  it('stops at once on a PermanentError, rethrowing its cause', async () => {
    const { policy, slept } = fake();
    const cause = new Error('bad row');
    let calls = 0;
    await expect(
      retry(async () => {
        calls += 1;
        throw new PermanentError(cause);
      }, policy),
    ).rejects.toBe(cause);
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
  });

  it('stops at once when the classifier says permanent', async () => {
    const { policy } = fake();
    const errors = [new Error('transient'), new TypeError('permanent')];
    let calls = 0;
    await expect(
      retry(
        async () => {
          throw errors[calls++];
        },
        policy,
        { isPermanent: (e) => e instanceof TypeError },
      ),
    ).rejects.toBe(errors[1]);
    expect(calls).toBe(2);
  });

  it('gives up with RetryBudgetExhausted naming the attempts and the last error', async () => {
    const { policy } = fake({ maxAttempts: 2 });
    const last = new Error('still down');
    const err = await retry(async () => {
      throw last;
    }, policy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryBudgetExhausted);
    expect((err as RetryBudgetExhausted).attempts).toBe(2);
    expect((err as RetryBudgetExhausted).elapsedMs).toBe(50);
    expect((err as RetryBudgetExhausted).cause).toBe(last);
  });

  it('reports each retry, and stops waiting when aborted', async () => {
    const policy = new BackoffPolicy({ baseMs: 60_000, maxMs: 60_000, random: () => 0.5 });
    const ac = new AbortController();
    const retries: [string, number, number][] = [];
    const started = Date.now();
    const p = retry(
      async () => {
        throw new Error('down');
      },
      policy,
      { signal: ac.signal, onRetry: (e, n, w) => retries.push([(e as Error).message, n, w]) },
    );
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow('down');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(retries).toEqual([['down', 1, 30_000]]);
  });
});
