/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, `docker stop`, a Pod being deleted), or after `ms`. */
export function stopSignal(ms?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    if (ms !== undefined) setTimeout(resolve, ms).unref();
  });
}
