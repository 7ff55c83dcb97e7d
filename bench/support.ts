import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot, type EngineEndpoints } from '@pullwatch/engines';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A pullwatch service as its own process (as deployed), so its memory can be measured alone. */
export function spawnService(
  name: 'collector' | 'analyzer',
  endpoints: EngineEndpoints,
  env: Record<string, string>,
): ChildProcess {
  // PULLWATCH_BENCH_PROFILE_DIR: each service writes a V8 CPU profile there when it stops.
  const profileDir = process.env.PULLWATCH_BENCH_PROFILE_DIR;
  const nodeArgs = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
    : [];
  return spawn(process.execPath, [...nodeArgs, join(repoRoot, 'packages/cli/bin/pullwatch.js'), name], {
    env: {
      ...process.env,
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      PULLWATCH_CLICKHOUSE_URL: endpoints.clickhouse.url,
      PULLWATCH_CLICKHOUSE_USER: endpoints.clickhouse.user,
      PULLWATCH_CLICKHOUSE_PASSWORD: endpoints.clickhouse.password,
      PULLWATCH_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Peak resident memory (VmHWM) of a running process, in bytes. */
export function peakRss(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN when it cannot be read. */
export function cpuSeconds(pid: number | null | undefined): number {
  if (!pid) return NaN;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Starts measuring the CPU each process uses (a missing pid reads as NaN); the returned function
 * gives the seconds each used since, in µs per event when given the number of events.
 */
export function cpuMeter<K extends string>(
  pids: Record<K, number | null | undefined>,
): (events: number) => Record<K, number> {
  const start = new Map(Object.entries<number | null | undefined>(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return (events) =>
    Object.fromEntries(
      Object.entries<number | null | undefined>(pids).map(([name, pid]) => [
        name,
        ((cpuSeconds(pid) - start.get(name)!) * 1e6) / events,
      ]),
    ) as Record<K, number>;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))]);
}
