import type { ClickHouseClient } from '@clickhouse/client';
import { clickHouseTlsError } from './errors.ts';
import { BackoffPolicy } from '@pullwatch/backoff';

// Until ClickHouse answers or the deadline passes: 200 ms doubling to 5 s, full jitter.
const REACH_BACKOFF = new BackoffPolicy({ baseMs: 200, maxMs: 5_000 });

/**
 * Waits until ClickHouse answers, retrying with back-off: a service starting before its database
 * (a restart of both, a rollout) should wait for it rather than crash. An untrusted certificate is
 * not waited out: it fails at once with a ClickHouseTlsError naming the setting.
 */
export async function waitForClickHouse(
  client: ClickHouseClient,
  opts: {
    timeoutMs?: number;
    onRetry?: (err: unknown, attempt: number) => void;
    sleep?: (ms: number) => Promise<void>;
  } = {},
): Promise<void> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  for (let attempt = 0; ; attempt++) {
    try {
      // A SELECT, not /ping: it also proves the credentials work.
      const r = await client.ping({ select: true });
      if (r.success) return;
      throw r.error;
    } catch (err) {
      const tls = clickHouseTlsError(err);
      if (tls) throw tls;
      if (Date.now() >= deadline)
        throw new Error(
          `ClickHouse not reachable after ${opts.timeoutMs ?? 300_000} ms: ` +
            `${err instanceof Error ? err.message : String(err)}`,
        );
      opts.onRetry?.(err, attempt);
      await sleep(REACH_BACKOFF.delay(attempt));
    }
  }
}
