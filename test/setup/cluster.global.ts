import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, loadEnginesConfig, repoRoot } from '@pullwatch/engines';
import type { TestProject } from 'vitest/node';

/** What the cluster tests get through `inject('cluster')`: enough to rebuild the same LocalCluster. */
export interface ClusterSetup {
  env: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterSetup;
  }
}

async function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A base port whose `count` consecutive ports are free now (Kafka advertises fixed ports, so not port 0).
 * Below Linux's ephemeral range (32768 on): there, an outgoing connection could take a port between this
 * check and the broker's bind (seen once: "Address already in use" at the cluster's start).
 */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await free(p);
    if (ok) return base;
  }
  throw new Error('no free port range found');
}

/**
 * The cluster topology (3 Kafka brokers, 2 ClickHouse shards) once for the cluster project, in a
 * folder and on ports of its own (never the shared single-node engines), stopped afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
  const shared = loadEnginesConfig({ ...process.env, PULLWATCH_ENGINES: 'local', PULLWATCH_TOPOLOGY: 'single' }).home;
  /** A folder of its own, reusing the launcher and the jars already there instead of building and fetching them. */
  const newHome = () => {
    const home = mkdtempSync(join(tmpdir(), 'pw-cluster-'));
    for (const home0 of [shared, join(repoRoot, '.pullwatch')]) {
      if (!existsSync(join(home, 'bin')) && existsSync(join(home0, 'bin')))
        symlinkSync(join(home0, 'bin'), join(home, 'bin'));
      if (!existsSync(join(home, 'kafka', 'libs')) && existsSync(join(home0, 'kafka', 'libs'))) {
        mkdirSync(join(home, 'kafka'), { recursive: true });
        cpSync(join(home0, 'kafka', 'libs'), join(home, 'kafka', 'libs'), { recursive: true });
      }
    }
    return home;
  };
  const t0 = Date.now();
  let started: { cluster: LocalCluster; env: Record<string, string>; home: string } | null = null;
  // Another process may still take a checked port before a node binds it: a new folder and new ports, 3 tries.
  for (let attempt = 1; !started; attempt++) {
    const home = newHome();
    const env = {
      PULLWATCH_ENGINES: 'local',
      PULLWATCH_TOPOLOGY: 'cluster',
      PULLWATCH_HOME: home,
      PULLWATCH_KAFKA_HEAP: '320m',
      PULLWATCH_CLUSTER_KAFKA_PORT: String(await freeRange(6)),
      PULLWATCH_CLUSTER_CLICKHOUSE_PORT: String(await freeRange(2)),
      PULLWATCH_CLUSTER_CLICKHOUSE_TCP_PORT: String(await freeRange(2)),
    };
    const cluster = new LocalCluster(loadEnginesConfig({ ...process.env, ...env }));
    try {
      await cluster.up(log);
      started = { cluster, env, home };
    } catch (err) {
      await cluster.down();
      rmSync(home, { recursive: true, force: true });
      if (attempt >= 3) throw err;
      log(`the cluster did not start (${err instanceof Error ? err.message : String(err)}); again on other ports`);
    }
  }
  const { cluster, env, home } = started;
  log(`3 brokers and 2 shards ready in ${Date.now() - t0} ms (${home})`);
  project.provide('cluster', { env });
  return async () => {
    await cluster.down();
    // `down` stops every node: none may be left behind on the shared box.
    const s = await cluster.status();
    const left = [...(s.kafka.nodes ?? []), ...(s.clickhouse.nodes ?? [])].filter((n) => n.pid !== null || n.up);
    rmSync(home, { recursive: true, force: true });
    if (left.length) throw new Error(`cluster nodes still running after down: ${JSON.stringify(left)}`);
    log('every node stopped');
  };
}
