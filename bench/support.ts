import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, type EngineEndpoints } from '@pullwatch/engines';
import { serviceEnv, serviceNodeFlags } from '@pullwatch/service-runtime';

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

let entry: { path: string; how: string } | null = null;

/**
 * The `pullwatch` command the services run from: by default the bundle `npm run build` makes (what the
 * Docker image runs), built once per bench run into a temporary folder; with
 * PULLWATCH_BENCH_SERVICES=source, the sources through tsx (as `npm start` runs them: ≈ 55 MiB more
 * resident memory per service).
 */
export function serviceEntry(): { path: string; how: string } {
  if (entry) return entry;
  const mode = process.env.PULLWATCH_BENCH_SERVICES ?? 'built';
  if (mode === 'source') entry = { path: join(repoRoot, 'apps/cli/bin/pullwatch.js'), how: 'from source through tsx' };
  else if (mode === 'built') {
    const outdir = mkdtempSync(join(tmpdir(), 'pw-bench-dist-'));
    process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
    const built = spawnSync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--outdir', outdir], {
      encoding: 'utf8',
    });
    if (built.status !== 0) throw new Error(`bench: building the services failed:\n${built.stderr}`);
    entry = { path: join(outdir, 'pullwatch.mjs'), how: 'built (the bundle of npm run build, as in the Docker image)' };
  } else throw new Error(`PULLWATCH_BENCH_SERVICES: 'built' or 'source', not '${mode}'`);
  return entry;
}

/**
 * A pullwatch service as its own process (as deployed), so its memory can be measured alone: from
 * serviceEntry(), with the Node flags and environment defaults `pullwatch start` gives it
 * (packages/service-runtime/src/runtime-tuning.ts).
 */
export function spawnService(
  name: 'collector' | 'analyzer',
  endpoints: EngineEndpoints,
  env: Record<string, string>,
): ChildProcess {
  // PULLWATCH_BENCH_PROFILE_DIR: each service writes a V8 CPU profile there when it stops.
  const profileDir = process.env.PULLWATCH_BENCH_PROFILE_DIR;
  const nodeArgs = [
    ...serviceNodeFlags(name, process.env.NODE_OPTIONS),
    ...(profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
      : []),
  ];
  return spawn(process.execPath, [...nodeArgs, serviceEntry().path, name], {
    env: serviceEnv(name, {
      ...process.env,
      NODE_ENV: 'production',
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      PULLWATCH_CLICKHOUSE_URL: endpoints.clickhouse.url,
      PULLWATCH_CLICKHOUSE_USER: endpoints.clickhouse.user,
      PULLWATCH_CLICKHOUSE_PASSWORD: endpoints.clickhouse.password,
      PULLWATCH_LOG_LEVEL: 'warn',
      ...env,
    }),
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
