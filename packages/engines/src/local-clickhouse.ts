import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { repoRoot, type EnginesConfig } from './config.ts';
import { Daemon, waitUntil } from './daemon.ts';
import type { EngineState, Progress } from './types.ts';

// clickhouse-local runs the query and exits; this one opens the HTTP interface and then sleeps
// forever, so the process serves HTTP until it is signalled.
const SERVE_FOREVER =
  '--query=SYSTEM START LISTEN HTTP; SELECT sleepEachRow(1) FROM system.numbers SETTINGS max_block_size=1 FORMAT Null';

// A shard of the cluster topology also opens the native TCP port, which Distributed tables use to
// reach the other shards (SYSTEM START LISTEN HTTP alone does not).
const SERVE_FOREVER_SHARD =
  '--query=SYSTEM START LISTEN QUERIES ALL; SELECT sleepEachRow(1) FROM system.numbers SETTINGS ' +
  'max_block_size=1 FORMAT Null';

/** One shard of the cluster topology: its ports, folder and the cluster configuration (XML) it loads. */
export interface ClickHouseShardSpec {
  shard: number;
  httpPort: number;
  tcpPort: number;
  dir: string;
  /** `remote_servers` declaring every shard, and the Distributed send pool (see local-cluster.ts). */
  configFile: string;
}

/** The full ClickHouse engine from the npm package @chdb/lib-linux-x64-gnu, serving HTTP on 127.0.0.1. */
export class LocalClickHouse {
  private readonly dir: string;
  private readonly dataDir: string;
  private readonly daemon: Daemon;

  constructor(
    private readonly cfg: EnginesConfig,
    private readonly shard?: ClickHouseShardSpec,
  ) {
    this.dir = shard?.dir ?? join(cfg.home, 'clickhouse');
    this.dataDir = join(this.dir, 'data');
    this.daemon = new Daemon(
      'clickhouse',
      join(this.dir, 'clickhouse.pid'),
      join(this.dir, 'clickhouse.log'),
      `--path=${this.dataDir}`,
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.shard?.httpPort ?? this.cfg.clickhouse.port}`;
  }

  async status(): Promise<EngineState> {
    const pid = this.daemon.pid();
    const up = pid !== null && (await this.ready().catch(() => false));
    return { up, pid, rssBytes: up ? this.daemon.rssBytes() : null };
  }

  async up(progress: Progress): Promise<{ reused: boolean; readyMs: number }> {
    if (this.daemon.pid() !== null) {
      const t0 = Date.now();
      const r = await waitUntil(
        () => this.ready(),
        30_000,
        () => this.daemon.pid() === null,
      );
      if (r.ok) return { reused: true, readyMs: Date.now() - t0 };
      // A process that exits while we wait (an engine shutting down after a fatal error) is started
      // again below, as a supervisor would; one that lives on without answering is an error.
      if (this.daemon.pid() !== null)
        throw new Error(
          `a ClickHouse process is running but not answering ` +
            `on ${this.url}: ${String(r.lastError)}\n${this.daemon.tail()}`,
        );
    }
    const library = findLibrary();
    const launcher = this.ensureLauncher(progress);
    mkdirSync(this.dataDir, { recursive: true });
    progress(`clickhouse: starting engine on ${this.url}`);
    const t0 = Date.now();
    this.daemon.start(
      launcher,
      [
        library,
        'clickhouse',
        `--path=${this.dataDir}`,
        '--http_port',
        String(this.shard?.httpPort ?? this.cfg.clickhouse.port),
        '--listen_host',
        '127.0.0.1',
        ...(this.shard ? ['--tcp_port', String(this.shard.tcpPort), '-C', this.shard.configFile] : []),
        this.shard ? SERVE_FOREVER_SHARD : SERVE_FOREVER,
      ],
      this.dir,
    );
    const r = await waitUntil(
      () => this.ready(),
      60_000,
      () => this.daemon.pid() === null,
    );
    if (!r.ok) {
      const tail = this.daemon.tail();
      await this.daemon.stop(5000);
      throw new Error(
        `clickhouse did not become ready ` +
          `on ${this.url}: ${String(r.lastError ?? 'timed out')}\n--- ${join(this.dir, 'clickhouse.log')} ---\n${tail}`,
      );
    }
    return { reused: false, readyMs: Date.now() - t0 };
  }

  async down(): Promise<boolean> {
    return this.daemon.stop(10_000);
  }

  /** Deletes all tables and data. */
  reset(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async ready(): Promise<boolean> {
    const client = createClient({ url: this.url, request_timeout: 3000, log: { level: ClickHouseLogLevel.OFF } });
    try {
      const rs = await client.query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow' });
      const rows = await rs.json<{ ok: number }>();
      return rows[0]?.ok === 1;
    } finally {
      await client.close();
    }
  }

  private ensureLauncher(progress: Progress): string {
    const launcher = join(this.cfg.home, 'bin/chdb-launcher');
    if (existsSync(launcher)) return launcher;
    progress('clickhouse: building the launcher (gcc)');
    const r = spawnSync(process.execPath, [join(repoRoot, 'packages/engines/scripts/build-launcher.mjs')], {
      stdio: 'inherit',
      env: { ...process.env, PULLWATCH_HOME: this.cfg.home },
    });
    if (r.status !== 0 || !existsSync(launcher))
      throw new Error('the ClickHouse launcher could not be built; install gcc (apt-get install gcc) and try again');
    return launcher;
  }
}

function findLibrary(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@chdb/lib-linux-x64-gnu/package.json');
  } catch {
    throw new Error(
      `the embedded ClickHouse engine (npm package @chdb/lib-linux-x64-gnu) is not installed. It ships for ` +
        `linux x64 with glibc only (this is ${process.platform} ${process.arch}); run 'npm install' there, or ` +
        `use PULLWATCH_ENGINES=external|containers.`,
    );
  }
  const lib = join(dirname(pkg), 'libchdb.so');
  if (!existsSync(lib)) throw new Error(`${lib} is missing; reinstall with 'npm install'`);
  return lib;
}
