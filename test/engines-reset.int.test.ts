import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { loadEnginesConfig, repoRoot } from '@pullwatch/engines';
import { ensureTopics, listTopics } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import { freePort } from './support/free-port.ts';

// `pullwatch engines reset` on engines of this test's own (a home folder and ports of its own), so the
// shared engines the other tests use are never stopped. The jars and the launcher are the shared ones.
const home = mkdtempSync(join(tmpdir(), 'pw-reset-'));
const shared = loadEnginesConfig({ ...process.env, PULLWATCH_ENGINES: 'local' }).home;
for (const [from, to] of [
  [join(shared, 'bin'), join(home, 'bin')],
  [join(shared, 'kafka', 'libs'), join(home, 'kafka', 'libs')],
] as const) {
  mkdirSync(join(to, '..'), { recursive: true });
  if (existsSync(from)) symlinkSync(from, to);
}
const [kafkaPort, controllerPort, clickhousePort] = [await freePort(), await freePort(), await freePort()];
const env = {
  ...process.env,
  PULLWATCH_ENGINES: 'local',
  PULLWATCH_HOME: home,
  PULLWATCH_KAFKA_PORT: String(kafkaPort),
  PULLWATCH_KAFKA_CONTROLLER_PORT: String(controllerPort),
  PULLWATCH_CLICKHOUSE_PORT: String(clickhousePort),
};
const brokers = [`127.0.0.1:${kafkaPort}`];
const clickhouseUrl = `http://127.0.0.1:${clickhousePort}`;
const conn = { brokers, clientId: 'reset-test', logger: createLogger('reset-test', 'silent') };

function pullwatch(...args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), ...args], {
    env,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function databases(): Promise<string[]> {
  const ch = createClickHouse({ url: clickhouseUrl, user: 'default', password: '' });
  try {
    const rows = await (await ch.query({ query: 'SELECT name FROM system.databases', format: 'JSONEachRow' })).json<{
      name: string;
    }>();
    return rows.map((r) => r.name);
  } finally {
    await ch.close();
  }
}

afterAll(() => {
  pullwatch('engines', 'down');
  rmSync(home, { recursive: true, force: true });
});

describe('pullwatch engines reset', () => {
  it('stops the local engines and deletes their topics and databases; they start again empty', async () => {
    expect(pullwatch('engines', 'up').code).toBe(0);
    await ensureTopics(conn, [{ topic: 'left_behind', numPartitions: 2 }]);
    const ch = createClickHouse({ url: clickhouseUrl, user: 'default', password: '' });
    await ch.command({ query: 'CREATE DATABASE left_behind' });
    await ch.close();
    expect(await listTopics(conn)).toContain('left_behind');
    expect(await databases()).toContain('left_behind');

    const reset = pullwatch('engines', 'reset');
    expect(reset.stderr).toBe('kafka: stopped, its data deleted\nclickhouse: stopped, its data deleted\n');
    expect(reset.code).toBe(0);
    expect(pullwatch('engines', 'status').code).toBe(3);
    expect(existsSync(join(home, 'kafka', 'data'))).toBe(false);
    // The jars stay: starting again fetches nothing.
    expect(existsSync(join(home, 'kafka', 'libs'))).toBe(true);

    expect(pullwatch('engines', 'up').code).toBe(0);
    expect(await listTopics(conn)).not.toContain('left_behind');
    expect(await databases()).not.toContain('left_behind');
    expect(pullwatch('engines', 'reset').stderr).toBe(
      'kafka: stopped, its data deleted\nclickhouse: stopped, its data deleted\n',
    );
    expect(pullwatch('engines', 'reset').stderr).toBe(
      'kafka: was not running, its data deleted\nclickhouse: was not running, its data deleted\n',
    );
  }, 400_000);

  it('refuses engines it does not manage', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'engines', 'reset'], {
      env: {
        ...env,
        PULLWATCH_ENGINES: 'external',
        PULLWATCH_KAFKA_BROKERS: '127.0.0.1:1',
        PULLWATCH_CLICKHOUSE_URL: 'http://127.0.0.1:1',
      },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('PULLWATCH_ENGINES=external: pullwatch does not manage these engines; nothing deleted\n');
    expect(r.status).toBe(2);
  });
});
