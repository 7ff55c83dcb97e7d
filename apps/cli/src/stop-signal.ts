import { z } from 'zod';

const StopTimeout = z.coerce.number().int().min(1).default(30_000);

/** PULLWATCH_STOP_TIMEOUT_MS: how long a service may take to stop gracefully (default 30 s). */
export function stopTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = StopTimeout.safeParse(env.PULLWATCH_STOP_TIMEOUT_MS);
  if (!parsed.success)
    throw new Error(
      `PULLWATCH_STOP_TIMEOUT_MS: a positive integer of milliseconds, got '${env.PULLWATCH_STOP_TIMEOUT_MS}'`,
    );
  return parsed.data;
}

/**
 * Resolves on the first SIGINT or SIGTERM (Ctrl-C, `docker stop`, a Pod being deleted), when the
 * `pullwatch start` that spawned this process goes away (its IPC channel closes), or after `ms`.
 */
export function stopSignal(ms?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    if (process.connected) process.once('disconnect', () => resolve());
    if (ms !== undefined) setTimeout(resolve, ms).unref();
  });
}

/**
 * A graceful stop with a deadline: a stop that hangs (a consumer caught in a group rebalance, say)
 * must not keep the process alive forever. Past the deadline the process exits non-zero; nothing
 * acknowledged is lost, since offsets are only committed after the data is stored.
 */
export async function stopWithin(what: string, stop: () => Promise<void>, ms = stopTimeoutMs()): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  const result = await Promise.race([stop().then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (result === 'late') {
    process.stderr.write(
      `pullwatch: ${what} did not stop within ${ms} ms; exiting anyway (uncommitted work is redelivered on restart)\n`,
    );
    process.exit(1);
  }
}
