import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicOffsets } from '@pullwatch/kafka';
import { repoRoot } from '@pullwatch/engines';
import { uniqueName } from '../../../test/support/endpoints.ts';
import type { Collector } from './collector.ts';
import { startIngestCollector, testKafka } from './test-support.ts';

const kafka = testKafka('replay-test');
const topic = uniqueName('replay');
const dir = mkdtempSync(join(tmpdir(), 'pw-replay-'));
const TOKEN = 'replay-test-ingest-token';
// What `npm start` leaves in PULLWATCH_HOME: replay reads the token from there without --token.
const home = mkdtempSync(join(tmpdir(), 'pw-replay-home-'));
writeFileSync(join(home, 'ingest-token'), `${TOKEN}\n`, { mode: 0o600 });
let collector: Collector;

const event = (i: number, reason = 'Failed') => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `e${i}`, namespace: 'shop', uid: `uid-${i}` },
  involvedObject: { kind: 'Pod', name: 'web', namespace: 'shop' },
  reason,
  message:
    reason === 'Failed'
      ? `Failed to pull image "nginx:${i}": manifest unknown`
      : 'Successfully assigned shop/web to node-a',
  count: 1,
});

function replay(
  args: string[],
  env: NodeJS.ProcessEnv = { ...process.env, PULLWATCH_HOME: home },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'replay', ...args], {
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  collector = await startIngestCollector(kafka, { token: TOKEN, topic, partitions: 1, metrics: 'replay' });
});
afterAll(async () => {
  await collector.stop();
});

describe('pullwatch replay (the CLI, against a running collector)', () => {
  it('sends a kubectl dump and NDJSON, prints what was accepted, fails clearly on bad input', async () => {
    const dump = join(dir, 'events.json');
    writeFileSync(
      dump,
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [event(1), event(2), event(3, 'Scheduled')] }, null, 2),
    );
    const ok = await replay(['--cluster', 'eu-1', '--file', dump, '--endpoint', collector.ingestUrl]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^accepted 2 events/);

    // --token wins over the file; a wrong one is refused with the collector's message, nothing produced.
    const wrong = await replay([
      '--cluster',
      'eu-1',
      '--file',
      dump,
      '--endpoint',
      collector.ingestUrl,
      '--token',
      'nope',
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/collector rejected the events \(401\): the bearer token is not a valid ingest token/);
    const emptyHome = mkdtempSync(join(tmpdir(), 'pw-replay-nohome-'));
    const none = await replay(['--cluster', 'eu-1', '--file', dump, '--endpoint', collector.ingestUrl], {
      ...process.env,
      PULLWATCH_HOME: emptyHome,
      PULLWATCH_INGEST_TOKEN: '',
    });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/\(401\): an "Authorization: Bearer <ingest token>" header is required/);

    const ndjson = join(dir, 'events.ndjson');
    writeFileSync(ndjson, `${JSON.stringify(event(4))}\n${JSON.stringify({ type: 'MODIFIED', object: event(5) })}\n`);
    const withFlag = await replay(
      ['--cluster', 'eu-1', '--file', ndjson, '--endpoint', collector.ingestUrl, '--token', TOKEN],
      { ...process.env, PULLWATCH_HOME: emptyHome },
    );
    expect(withFlag.stdout).toMatch(/^accepted 2 events/);

    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${JSON.stringify(event(6))}\nnot json\n`);
    const r = await replay(['--cluster', 'eu-1', '--file', bad, '--endpoint', collector.ingestUrl]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/bad\.ndjson:2: not valid JSON/);

    const missing = await replay([
      '--cluster',
      'eu-1',
      '--file',
      join(dir, 'nope.json'),
      '--endpoint',
      collector.ingestUrl,
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no such file/);

    const down = await replay(['--cluster', 'eu-1', '--file', dump, '--endpoint', 'http://127.0.0.1:9']);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/unreachable/);

    expect((await topicOffsets(kafka, topic)).reduce((n, o) => n + o, 0)).toBe(4);
  }, 120_000);
});
