import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalClickHouse, loadEnginesConfig, repoRoot } from '@pullwatch/engines';

/**
 * A ClickHouse of the test's own (the same embedded engine), on its own port and data folder, so a
 * test can crash and restart it without disturbing the shared one other tests use. Its data stays
 * across restarts.
 */
export function dedicatedClickHouse(port: number): {
  clickhouse: LocalClickHouse;
  url: string;
  crash: () => Promise<void>;
  cleanup: () => void;
} {
  const home = mkdtempSync(join(tmpdir(), 'pw-clickhouse-'));
  const sharedBin = join(loadEnginesConfig({ ...process.env, PULLWATCH_ENGINES: 'local' }).home, 'bin');
  const bin = existsSync(sharedBin) ? sharedBin : join(repoRoot, '.pullwatch', 'bin');
  // Reuse the launcher already built instead of compiling it again.
  if (existsSync(bin)) symlinkSync(bin, join(home, 'bin'));
  const cfg = loadEnginesConfig({
    ...process.env,
    PULLWATCH_ENGINES: 'local',
    PULLWATCH_HOME: home,
    PULLWATCH_CLICKHOUSE_PORT: String(port),
  });
  const clickhouse = new LocalClickHouse(cfg);
  return {
    clickhouse,
    url: clickhouse.url,
    /** SIGKILL, as a crash or an OOM kill would: no chance to flush anything. */
    async crash() {
      const { pid } = await clickhouse.status();
      if (!pid) throw new Error('the dedicated ClickHouse is not running');
      process.kill(pid, 'SIGKILL');
      while ((await clickhouse.status()).pid !== null) await new Promise((r) => setTimeout(r, 50));
    },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}
