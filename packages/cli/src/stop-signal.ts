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
export async function stopWithin(
  what: string,
  stop: () => Promise<void>,
  ms = Number(process.env.PULLWATCH_STOP_TIMEOUT_MS ?? 30_000),
): Promise<void> {
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
