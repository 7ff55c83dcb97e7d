import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/**
 * A background process that outlives the command that started it (`engines up` returns while the
 * engine keeps running), tracked by a pid file. The command line is checked too, so a recycled pid
 * of an unrelated process is never mistaken for the engine or signalled.
 */
export class Daemon {
  constructor(
    readonly name: string,
    private readonly pidFile: string,
    private readonly logFile: string,
    /** A fragment of the command line that identifies this engine's process. */
    private readonly marker: string,
  ) {}

  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      return cmdline.includes(this.marker) ? pid : null;
    } catch {
      return null;
    }
  }

  start(command: string, args: string[], cwd: string): number {
    const out = openSync(this.logFile, 'a');
    try {
      const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', out, out] });
      if (child.pid === undefined) throw new Error(`could not start ${command}`);
      child.unref();
      writeFileSync(this.pidFile, `${child.pid}\n`);
      return child.pid;
    } finally {
      closeSync(out);
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  async stop(graceMs: number): Promise<boolean> {
    const pid = this.pid();
    if (pid === null) {
      rmSync(this.pidFile, { force: true });
      return false;
    }
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) {
      signal(pid, 'SIGKILL');
      while (alive(pid)) await sleep(50);
    }
    rmSync(this.pidFile, { force: true });
    return true;
  }

  /** The last lines of the engine's own log, for error messages. */
  tail(lines = 15): string {
    if (!existsSync(this.logFile)) return '';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  rssBytes(): number | null {
    const pid = this.pid();
    if (pid === null) return null;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : null;
    } catch {
      return null;
    }
  }
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers signal 0; /proc state tells it has exited.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it resolves true or the time runs out; rethrows nothing, returns the last error. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  isDead: () => boolean,
): Promise<{ ok: boolean; lastError?: unknown }> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (isDead()) return { ok: false, lastError: new Error('the process exited') };
    try {
      if (await probe()) return { ok: true };
    } catch (err) {
      lastError = err;
    }
    await sleep(250);
  }
  return { ok: false, lastError };
}
