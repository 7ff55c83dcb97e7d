import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { until } from '../../../../test/support/until.ts';
import { KILL_GRACE_MS, ServiceExitedError, startServiceProcess } from './service-process.ts';

// A stand-in for the `pullwatch` entry: argv[2] is the service, as with the real command.
const dir = mkdtempSync(join(tmpdir(), 'pw-service-'));
const entry = join(dir, 'entry.mjs');
writeFileSync(
  entry,
  `const service = process.argv[2];
if (service === 'broken') { console.error('boom: no config'); process.exit(3); }
console.log(service + ' starting');
process.on('SIGTERM', () => { console.log(service + ' stopped cleanly'); process.exit(0); });
if (service === 'busy') {
  // Ready, then a loop that never yields (as a collector stuck on a hostile body was): deaf to SIGTERM,
  // and it never sees its IPC channel close.
  process.send({ type: 'pullwatch:ready', service, url: null }, () => { for (;;) {} });
} else if (service !== 'stubborn') process.send({ type: 'pullwatch:ready', service, url: 'http://127.0.0.1:1' });
else {
  process.removeAllListeners('SIGTERM');
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  process.send({ type: 'pullwatch:ready', service, url: null });
}
setInterval(() => {}, 1000);
`,
);

// A stand-in that prints the Node flags and the malloc tuning it was started with.
const flagsEntry = join(dir, 'flags.mjs');
writeFileSync(
  flagsEntry,
  `const flags = process.execArgv.filter((f, i, all) => f !== '--import' && all[i - 1] !== '--import');
console.log(JSON.stringify([...flags, process.env.MALLOC_MMAP_THRESHOLD_ ?? 'no malloc tuning']));
process.send({ type: 'pullwatch:ready', service: process.argv[2], url: null });
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`,
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startServiceProcess', () => {
  it('resolves once the child says it is ready, prefixes its lines, and stops it with SIGTERM', async () => {
    const lines: string[] = [];
    const p = await startServiceProcess({
      service: 'collector',
      cliEntry: entry,
      env: process.env,
      line: (l) => lines.push(l),
    });
    expect(p.url).toBe('http://127.0.0.1:1');
    expect(alive(p.pid)).toBe(true);
    await p.stop();
    expect(alive(p.pid)).toBe(false);
    expect(lines).toEqual(['collector │ collector starting', 'collector │ collector stopped cleanly']);
  });

  it('fails with the last lines of a child that exits before it is ready', async () => {
    const err = await startServiceProcess({
      service: 'broken',
      cliEntry: entry,
      env: process.env,
      line: () => {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceExitedError);
    expect((err as ServiceExitedError).code).toBe(3);
    expect((err as ServiceExitedError).lastLines).toEqual(['boom: no config']);
  });

  it('kills a child that does not stop within the deadline', async () => {
    const lines: string[] = [];
    const p = await startServiceProcess({
      service: 'stubborn',
      cliEntry: entry,
      env: process.env,
      line: (l) => lines.push(l),
      stopTimeoutMs: 300,
    });
    await p.stop();
    expect(alive(p.pid)).toBe(false);
    expect(lines.at(-1)).toBe('stubborn  │ did not stop within 300 ms and was killed');
  });
});

describe('startServiceProcess: no service left behind', () => {
  it('kills a busy child, deaf to SIGTERM, PULLWATCH_STOP_TIMEOUT_MS (+ grace) after stop', async () => {
    const lines: string[] = [];
    const p = await startServiceProcess({
      service: 'busy',
      cliEntry: entry,
      env: { ...process.env, PULLWATCH_STOP_TIMEOUT_MS: '300' },
      line: (l) => lines.push(l),
    });
    const t0 = performance.now();
    await p.stop();
    expect(performance.now() - t0).toBeLessThan(300 + KILL_GRACE_MS + 2000);
    expect(alive(p.pid)).toBe(false);
    expect(lines).toEqual([
      'busy      │ busy starting',
      `busy      │ did not stop within ${300 + KILL_GRACE_MS} ms and was killed`,
    ]);
  }, 20_000);

  // A parent \`pullwatch start\` of its own: it starts a busy service and an idle one (that ignores its IPC
  // channel closing), prints their pids, then is killed, or exits while stopping them (as it does when its
  // own stop deadline passes).
  const parent = join(dir, 'parent.mjs');
  writeFileSync(
    parent,
    `import { register } from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href)};
register();
const { startServiceProcess } = await import(${JSON.stringify(pathToFileURL(fileURLToPath(new URL('./service-process.ts', import.meta.url))).href)});
const env = { ...process.env, PULLWATCH_STOP_TIMEOUT_MS: '300' };
const services = await Promise.all(['busy', 'idle'].map((service) =>
  startServiceProcess({ service, cliEntry: ${JSON.stringify(entry)}, env, line: () => {} })));
console.log(JSON.stringify(services.map((s) => s.pid)));
if (process.argv[2] === 'exit-while-stopping') {
  void services[0].stop();
  setTimeout(() => process.exit(1), 50);
} else setInterval(() => {}, 1000);
`,
  );
  const startParent = async (mode: 'wait' | 'exit-while-stopping') => {
    const child = spawn(process.execPath, [parent, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).once('line', resolve),
    );
    return { parent: child, pids: JSON.parse(line) as number[] };
  };

  it('takes its services with it when it exits while they are stopping', async () => {
    const { parent, pids } = await startParent('exit-while-stopping');
    await new Promise((r) => parent.once('exit', r));
    expect(parent.exitCode).toBe(1);
    await until(() => pids.every((pid) => !alive(pid)), 'both services to be gone', 2000, 20);
  }, 20_000);

  it('leaves none behind when it is SIGKILLed, a busy service neither', async () => {
    const { parent, pids } = await startParent('wait');
    expect(pids.map(alive)).toEqual([true, true]);
    parent.kill('SIGKILL');
    await until(() => pids.every((pid) => !alive(pid)), 'both services to be gone', 300 + KILL_GRACE_MS + 3000, 50);
  }, 20_000);
});

describe('startServiceProcess: Node flags', () => {
  it('starts a pipeline service with its young-generation size, unless NODE_OPTIONS sizes the heap', async () => {
    const flagsOf = async (service: string, env: NodeJS.ProcessEnv) => {
      const lines: string[] = [];
      const p = await startServiceProcess({ service, cliEntry: flagsEntry, env, line: (l) => lines.push(l) });
      await p.stop();
      return lines[0]?.split(' │ ')[1];
    };
    const { NODE_OPTIONS: _, ...env } = process.env;
    const { MALLOC_MMAP_THRESHOLD_: __, ...clean } = env;
    expect(await flagsOf('analyzer', clean)).toBe('["--max-semi-space-size=4","65536"]');
    expect(await flagsOf('query-api', clean)).toBe('["no malloc tuning"]');
    expect(await flagsOf('collector', { ...clean, NODE_OPTIONS: '--max-old-space-size=384' })).toBe(
      '["no malloc tuning"]',
    );
    expect(await flagsOf('analyzer', { ...clean, MALLOC_MMAP_THRESHOLD_: '131072' })).toBe(
      '["--max-semi-space-size=4","131072"]',
    );
  });
});
