/**
 * One back-off policy for every retry loop: capped exponential back-off with full jitter (AWS
 * Architecture Blog, "Exponential Backoff And Jitter": sleep = random(0, min(cap, base · factor^attempt))),
 * an optional budget (attempts, elapsed time) and a way to say "permanent, stop". The clock, the random
 * source and the sleep are injectable, so tests run without waiting.
 */

export interface BackoffOptions {
  /** The first attempt's ceiling (ms). */
  baseMs: number;
  /** No wait is longer than this (ms). */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Budget: attempts in all, the first included (default: unbounded). */
  maxAttempts?: number;
  /** Budget: no new attempt starts this long after the first one did (default: unbounded). */
  maxElapsedMs?: number;
  /** [0, 1), Math.random by default. */
  random?: () => number;
  /** Milliseconds, Date.now by default. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Thrown (or returned by a classifier) to say retrying cannot help: `retry` rethrows its cause at once. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** The budget ran out; `cause` is the last attempt's error. */
export class RetryBudgetExhausted extends Error {
  override readonly name = 'RetryBudgetExhausted';
  constructor(
    readonly attempts: number,
    readonly elapsedMs: number,
    override readonly cause: unknown,
  ) {
    super(
      `gave up after ${attempts} attempts in ${elapsedMs} ms: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One operation's attempts under a policy: how long to wait before the next, or null once the budget is spent. */
export class Backoff {
  private failures = 0;
  private readonly startedAt: number;

  constructor(private readonly policy: BackoffPolicy) {
    this.startedAt = policy.now();
  }

  /** Failed attempts so far. */
  get attempts(): number {
    return this.failures;
  }

  get elapsedMs(): number {
    return this.policy.now() - this.startedAt;
  }

  /** Records a failed attempt; the wait before the next one, or null when the budget allows none. */
  next(): number | null {
    const attempt = this.failures++;
    if (this.failures >= this.policy.maxAttempts) return null;
    const wait = this.policy.delay(attempt);
    if (this.elapsedMs + wait > this.policy.maxElapsedMs) return null;
    return wait;
  }

  /** Back to the first attempt's wait (after a success, in a loop that runs on). */
  reset(): void {
    this.failures = 0;
  }
}

export class BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly maxAttempts: number;
  readonly maxElapsedMs: number;
  readonly random: () => number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(opts: BackoffOptions) {
    if (!(opts.baseMs > 0) || !(opts.maxMs >= opts.baseMs))
      throw new RangeError(`back-off: need 0 < baseMs <= maxMs (got ${opts.baseMs}, ${opts.maxMs})`);
    if (opts.factor !== undefined && !(opts.factor >= 1)) throw new RangeError('back-off: factor must be >= 1');
    if (opts.maxAttempts !== undefined && !(Number.isInteger(opts.maxAttempts) && opts.maxAttempts >= 1))
      throw new RangeError('back-off: maxAttempts must be an integer >= 1');
    this.baseMs = opts.baseMs;
    this.maxMs = opts.maxMs;
    this.factor = opts.factor ?? 2;
    this.maxAttempts = opts.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.maxElapsedMs = opts.maxElapsedMs ?? Number.POSITIVE_INFINITY;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? abortableSleep;
  }

  /** The ceiling before attempt `attempt + 1` (attempt counts from 0): min(max, base · factor^attempt). */
  ceiling(attempt: number): number {
    // The exponent is bounded so a long outage cannot overflow to Infinity · 0 = NaN.
    return Math.min(this.maxMs, this.baseMs * this.factor ** Math.min(attempt, 64));
  }

  /** Full jitter: uniformly in [0, ceiling), whole milliseconds. */
  delay(attempt: number): number {
    return Math.floor(this.random() * this.ceiling(attempt));
  }

  /** Attempts of one operation. */
  start(): Backoff {
    return new Backoff(this);
  }
}

export interface RetryOptions {
  /** True: retrying cannot help, the error is rethrown at once (as does throwing a PermanentError). */
  isPermanent?: (err: unknown) => boolean;
  /** Before each wait: the error, the failed attempts so far (1 after the first) and the wait. */
  onRetry?: (err: unknown, attempts: number, waitMs: number) => void;
  /** Aborted: no further attempt; the last error is rethrown. */
  signal?: AbortSignal;
}

/**
 * Runs `fn` until it resolves; a permanent error (a PermanentError, rethrown as its cause, or one
 * `isPermanent` names) ends it at once, a spent budget with RetryBudgetExhausted.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: BackoffPolicy,
  opts: RetryOptions = {},
): Promise<T> {
  const b = policy.start();
  for (;;) {
    try {
      return await fn(b.attempts);
    } catch (err) {
      if (err instanceof PermanentError) throw err.cause;
      if (opts.isPermanent?.(err)) throw err;
      if (opts.signal?.aborted) throw err;
      const wait = b.next();
      if (wait === null) throw new RetryBudgetExhausted(b.attempts, b.elapsedMs, err);
      opts.onRetry?.(err, b.attempts, wait);
      await policy.sleep(wait, opts.signal);
      if (opts.signal?.aborted) throw err;
    }
  }
}
