import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceExitedError, startServiceProcess } from './service-process.ts';

// A stand-in for the `pullwatch` entry: argv[2] is the service, as with the real command.
const dir = mkdtempSync(join(tmpdir(), 'pw-service-'));
const entry = join(dir, 'entry.mjs');
writeFileSync(
  entry,
  `const service = process.argv[2];
if (service === 'broken') { console.error('boom: no config'); process.exit(3); }
console.log(service + ' starting');
process.on('SIGTERM', () => { console.log(service + ' stopped cleanly'); process.exit(0); });
if (service !== 'stubborn') process.send({ type: 'pullwatch:ready', service, url: 'http://127.0.0.1:1' });
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
  `console.log(JSON.stringify([...process.execArgv, process.env.MALLOC_MMAP_THRESHOLD_ ?? 'no malloc tuning']));
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
