import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from '@pullwatch/engines';
import { freePort } from '../support/free-port.ts';
import { crash, testCluster } from './harness.ts';

const cluster = testCluster();
const { env } = inject('cluster');

/** `pullwatch engines …` against the test's cluster (its folder and ports). */
function engines(...args: string[]): { code: number | null; json: unknown; stderr: string } {
  return enginesWith({ ...process.env, ...env }, ...args);
}

function enginesWith(
  runEnv: NodeJS.ProcessEnv,
  ...args: string[]
): { code: number | null; json: unknown; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'engines', ...args], {
    env: runEnv,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: r.status, json: r.stdout.trim() ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}

const kafkaPort = Number(env.PULLWATCH_CLUSTER_KAFKA_PORT);
const httpPort = Number(env.PULLWATCH_CLUSTER_CLICKHOUSE_PORT);
const tcpPort = Number(env.PULLWATCH_CLUSTER_CLICKHOUSE_TCP_PORT);
const pidOf = expect.any(Number);

describe('engines on the cluster topology', () => {
  it('status without --topology reports the cluster when the cluster is what runs', async () => {
    // No topology named, and the single node's ports are free ones where nothing listens.
    const { PULLWATCH_TOPOLOGY: _named, ...runEnv } = { ...process.env, ...env };
    const [kafka, clickhouse] = [await freePort(), await freePort()];
    const r = enginesWith(
      { ...runEnv, PULLWATCH_KAFKA_PORT: String(kafka), PULLWATCH_CLICKHOUSE_PORT: String(clickhouse) },
      'status',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const status = r.json as { topology: string; kafka: { nodes: unknown[] }; clickhouse: { nodes: unknown[] } };
    expect([status.topology, status.kafka.nodes.length, status.clickhouse.nodes.length]).toEqual(['cluster', 3, 2]);
  });

  it('status --json lists every node; up starts only the nodes that are down', async () => {
    const brokers = [0, 2, 4].map((d) => `127.0.0.1:${kafkaPort + d}`);
    const up = (kafkaDown?: number, shardDown?: number) => ({
      mode: 'local',
      topology: 'cluster',
      kafka: {
        up: kafkaDown === undefined,
        brokers,
        nodes: [1, 2, 3].map((id) => ({
          id,
          address: brokers[id - 1],
          pid: id === kafkaDown ? null : pidOf,
          up: id !== kafkaDown,
          rssBytes: id === kafkaDown ? null : expect.any(Number),
        })),
      },
      clickhouse: {
        up: shardDown === undefined,
        url: `http://127.0.0.1:${httpPort}`,
        cluster: 'pullwatch',
        nodes: [1, 2].map((shard) => ({
          shard,
          url: `http://127.0.0.1:${httpPort + shard - 1}`,
          tcpPort: tcpPort + shard - 1,
          pid: shard === shardDown ? null : pidOf,
          up: shard !== shardDown,
          rssBytes: shard === shardDown ? null : expect.any(Number),
        })),
      },
    });
    const before = engines('status', '--json');
    expect(before.code, before.stderr).toBe(0);
    expect(before.json).toEqual(up());

    // The shards answer as one cluster: each knows both, over the native port.
    const clusters = await (
      await fetch(`http://127.0.0.1:${httpPort + 1}/`, {
        method: 'POST',
        body:
          "SELECT shard_num, port FROM system.clusters WHERE cluster = 'pullwatch' ORDER BY shard_num " +
          'FORMAT JSONCompact',
      })
    ).json();
    expect((clusters as { data: unknown[] }).data).toEqual([
      [1, tcpPort],
      [2, tcpPort + 1],
    ]);

    const pids = (before.json as ReturnType<typeof up>).kafka.nodes.map((n) => n.pid);
    const shardPids = (before.json as ReturnType<typeof up>).clickhouse.nodes.map((n) => n.pid);
    await crash(cluster.brokers[1]!);
    await crash(cluster.shards[1]!);
    try {
      const degraded = engines('status', '--json');
      expect(degraded.code, degraded.stderr).toBe(3);
      expect(degraded.json).toEqual(up(2, 2));
    } catch (err) {
      // Leave the cluster whole for the other files.
      await cluster.up(() => undefined);
      throw err;
    }

    const again = engines('up', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('kafka brokers: started [2], already running [1,3]');
    expect(again.stderr).toContain('clickhouse shards: started [2], already running [1]');
    const after = again.json as ReturnType<typeof up>;
    expect(after).toEqual(up());
    // The running nodes were left alone; the restarted ones are new processes.
    expect([after.kafka.nodes[0]!.pid, after.kafka.nodes[2]!.pid]).toEqual([pids[0], pids[2]]);
    expect(after.kafka.nodes[1]!.pid).not.toBe(pids[1]);
    expect(after.clickhouse.nodes[0]!.pid).toBe(shardPids[0]);
    expect(after.clickhouse.nodes[1]!.pid).not.toBe(shardPids[1]);
  });
});
