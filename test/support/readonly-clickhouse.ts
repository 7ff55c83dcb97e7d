import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadEnginesConfig, repoRoot } from '@pullwatch/engines';
import { freePort } from './free-port.ts';
import { until } from './until.ts';

/** The users file we ship for production (docker-compose mounts it into /etc/clickhouse-server/users.d). */
export const SHIPPED_USERS_FILE = join(repoRoot, 'infra/clickhouse/users.d/pullwatch.xml');

/** The read-only user that file defines, and the database its grant names. */
export const READ_ONLY_USER = 'pullwatch_ro';
export const READ_ONLY_DATABASE = 'pullwatch';

export interface ProfiledClickHouse {
  /** HTTP URL of this test's own ClickHouse. */
  url: string;
  /** The engine's `default` user, with every right: migrations and fixtures. */
  admin: { user: string; password: string };
  /** The read-only user of the users file, with the password this instance gave it (from_env). */
  readOnly: { user: string; password: string };
  /** Stops the engine (SIGTERM, then SIGKILL) and deletes its folder. */
  stop(): Promise<void>;
}

// A users.xml of our own: the `default` user for fixtures; the users file under test goes to users.d,
// merged over it exactly as a ClickHouse server merges /etc/clickhouse-server/users.d.
const BASE_USERS = `<clickhouse>
  <profiles><default/></profiles>
  <quotas><default/></quotas>
  <users>
    <default>
      <password></password>
      <networks><ip>::/0</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
</clickhouse>
`;

const CONFIG = `<clickhouse>
  <users_config>users.xml</users_config>
  <!-- The server's shipped config.xml sets this too; changeable_in_readonly needs it. -->
  <access_control_improvements>
    <settings_constraints_replace_previous>true</settings_constraints_replace_previous>
  </access_control_improvements>
</clickhouse>
`;

const SERVE_FOREVER =
  '--query=SYSTEM START LISTEN HTTP; SELECT sleepEachRow(1) FROM system.numbers SETTINGS max_block_size=1 FORMAT Null';

/**
 * A ClickHouse of the test's own (the same embedded engine, on a free port) whose users come from a
 * users.d file: by default the one we ship (`SHIPPED_USERS_FILE`), or `usersXml` (and `extraUsersXml`). Its profiles,
 * constraints and grants then apply to every query of that user as on a ClickHouse server, so a test
 * runs as the production read-only user, not with a per-request `readonly` it chose itself (ClickHouse
 * checks the settings of one request against the profile, not against each other).
 *
 * Its read-only user is `READ_ONLY_USER`, allowed to read the database `READ_ONLY_DATABASE` only:
 * migrate and insert fixtures there as `admin`. Starting takes a few seconds and ≈ 200 MB; stop it
 * in afterAll.
 */
export async function startProfiledClickHouse(
  opts: {
    /** The users file under test; default: the shipped one. */
    usersXml?: string;
    /** More users and profiles (a users.d file of the test's own), e.g. to compare another profile. */
    extraUsersXml?: string;
  } = {},
): Promise<ProfiledClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-profiled-ch-'));
  mkdirSync(join(dir, 'users.d'));
  writeFileSync(join(dir, 'config.xml'), CONFIG);
  writeFileSync(join(dir, 'users.xml'), BASE_USERS);
  writeFileSync(join(dir, 'users.d/pullwatch.xml'), opts.usersXml ?? readFileSync(SHIPPED_USERS_FILE, 'utf8'));
  if (opts.extraUsersXml) writeFileSync(join(dir, 'users.d/test-users.xml'), opts.extraUsersXml);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const child: ChildProcess = spawn(
    launcher(),
    [
      chdbLibrary(),
      'clickhouse',
      `--path=${join(dir, 'data')}`,
      '--http_port',
      String(port),
      '--listen_host',
      '127.0.0.1',
      '-C',
      join(dir, 'config.xml'),
      SERVE_FOREVER,
    ],
    {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PULLWATCH_CLICKHOUSE_RO_PASSWORD: password },
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`the profiled ClickHouse exited (${child.exitCode}): ${stderr}`);
        const r = await fetch(`${url}/?query=SELECT%201`).catch(() => null);
        return r?.status === 200;
      },
      `the profiled ClickHouse on ${url}`,
      60_000,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, admin: { user: 'default', password: '' }, readOnly: { user: READ_ONLY_USER, password }, stop };
}

function launcher(): string {
  const shared = join(loadEnginesConfig({ ...process.env, PULLWATCH_ENGINES: 'local' }).home, 'bin/chdb-launcher');
  const own = join(repoRoot, '.pullwatch/bin/chdb-launcher');
  const found = [shared, own].find((p) => existsSync(p));
  if (!found) throw new Error(`no ClickHouse launcher at ${shared} or ${own}: run 'npm install' (it builds it)`);
  return found;
}

function chdbLibrary(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@chdb/lib-linux-x64-gnu/package.json')), 'libchdb.so');
}
