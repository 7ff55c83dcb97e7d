import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_NAME, type EnginesConfig } from './config.ts';
import { LocalClickHouse } from './local-clickhouse.ts';
import { LocalKafka } from './local-kafka.ts';
import type { EngineEndpoints, EnginesStatus, Progress } from './types.ts';

export interface ClusterUpReport {
  kafka: { started: number[]; reused: number[]; readyMs: number };
  clickhouse: { started: number[]; reused: number[]; readyMs: number };
}

/**
 * The cluster topology of the local engines: three Kafka brokers (KRaft, each a controller of a
 * static quorum of three, topics replicated to all three with min.insync.replicas=2) and two
 * ClickHouse shards declared as the cluster `pullwatch` (Distributed tables reach each other over the
 * native TCP port). Each node is a process of its own with its own folder under
 * `<PULLWATCH_HOME>/cluster/`, so a test can SIGKILL one and start it again.
 */
export class LocalCluster {
  readonly brokers: LocalKafka[];
  readonly shards: LocalClickHouse[];
  readonly dir: string;

  constructor(private readonly cfg: EnginesConfig) {
    this.dir = join(cfg.home, 'cluster');
    const quorum = cfg.cluster.kafka;
    this.brokers = quorum.map(
      (n) => new LocalKafka(cfg, { ...n, nodes: quorum, dir: join(this.dir, `kafka-${n.id}`) }),
    );
    this.shards = cfg.cluster.clickhouse.map(
      (s) =>
        new LocalClickHouse(cfg, {
          ...s,
          dir: join(this.dir, `clickhouse-${s.shard}`),
          configFile: join(this.dir, 'clickhouse-cluster.xml'),
        }),
    );
  }

  get clusterName(): string {
    return CLUSTER_NAME;
  }

  endpoints(): EngineEndpoints {
    return {
      kafka: { brokers: this.brokers.flatMap((b) => b.brokers) },
      clickhouse: {
        url: this.shards[0]!.url,
        user: this.cfg.clickhouse.user,
        password: this.cfg.clickhouse.password,
        cluster: CLUSTER_NAME,
        shards: this.shards.map((s) => s.url),
      },
    };
  }

  /** Starts every node that is down (all at once: a KRaft quorum needs two of three); leaves running ones alone. */
  async up(progress: Progress): Promise<ClusterUpReport> {
    mkdirSync(this.dir, { recursive: true });
    this.writeClickHouseConfig();
    this.brokers[0]!.ensureJars(progress);
    const t0 = Date.now();
    const kafka = Promise.allSettled(this.brokers.map((b) => b.up(progress)));
    const clickhouse = Promise.allSettled(this.shards.map((s) => s.up(progress)));
    const [k, c] = await Promise.all([kafka, clickhouse]);
    const errors = [...k, ...c].flatMap((r) =>
      r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
    );
    if (errors.length) throw new Error(errors.join('\n\n'));
    const split = (rs: PromiseSettledResult<{ reused: boolean; readyMs: number }>[], ids: number[]) => ({
      started: ids.filter((_, i) => rs[i]?.status === 'fulfilled' && !rs[i].value.reused),
      reused: ids.filter((_, i) => rs[i]?.status === 'fulfilled' && rs[i].value.reused),
      readyMs: Date.now() - t0,
    });
    return {
      kafka: split(
        k,
        this.cfg.cluster.kafka.map((n) => n.id),
      ),
      clickhouse: split(
        c,
        this.cfg.cluster.clickhouse.map((s) => s.shard),
      ),
    };
  }

  async down(): Promise<{ kafka: boolean; clickhouse: boolean }> {
    // Brokers stop together: one by one, each controlled shutdown would move leadership to the next.
    const [k, c] = await Promise.all([
      Promise.all(this.brokers.map((b) => b.down())),
      Promise.all(this.shards.map((s) => s.down())),
    ]);
    return { kafka: k.some(Boolean), clickhouse: c.some(Boolean) };
  }

  /** Stops every node and deletes their data; the jars and the launcher stay. */
  async reset(): Promise<{ kafka: boolean; clickhouse: boolean }> {
    const stopped = await this.down();
    for (const b of this.brokers) b.reset();
    for (const s of this.shards) s.reset();
    return stopped;
  }

  async status(): Promise<EnginesStatus> {
    const [k, c] = await Promise.all([
      Promise.all(this.brokers.map((b) => b.status())),
      Promise.all(this.shards.map((s) => s.status())),
    ]);
    const e = this.endpoints();
    return {
      mode: this.cfg.mode,
      topology: 'cluster',
      kafka: {
        up: k.every((n) => n.up),
        brokers: e.kafka.brokers,
        nodes: this.cfg.cluster.kafka.map((n, i) => ({
          id: n.id,
          address: `127.0.0.1:${n.port}`,
          pid: k[i]!.pid,
          up: k[i]!.up,
          rssBytes: k[i]!.rssBytes,
        })),
      },
      clickhouse: {
        up: c.every((n) => n.up),
        url: e.clickhouse.url,
        cluster: CLUSTER_NAME,
        nodes: this.cfg.cluster.clickhouse.map((s, i) => ({
          shard: s.shard,
          url: this.shards[i]!.url,
          tcpPort: s.tcpPort,
          pid: c[i]!.pid,
          up: c[i]!.up,
          rssBytes: c[i]!.rssBytes,
        })),
      },
    };
  }

  /**
   * The shards' configuration. background_distributed_schedule_pool_size: the embedded engine sets it
   * to 0, and then rows a Distributed insert queues for another shard are never sent (silently).
   */
  private writeClickHouseConfig(): void {
    const shards = this.cfg.cluster.clickhouse
      .map(
        (s) =>
          `      <shard><replica><host>127.0.0.1</host><port>${s.tcpPort}</port>` +
          `<user>${this.cfg.clickhouse.user}</user><password>${this.cfg.clickhouse.password}</password>` +
          `</replica></shard>`,
      )
      .join('\n');
    writeFileSync(
      join(this.dir, 'clickhouse-cluster.xml'),
      [
        '<!-- Written by pullwatch on every start of the cluster topology. -->',
        '<clickhouse>',
        '  <background_distributed_schedule_pool_size>4</background_distributed_schedule_pool_size>',
        '  <remote_servers>',
        `    <${CLUSTER_NAME}>`,
        shards,
        `    </${CLUSTER_NAME}>`,
        '  </remote_servers>',
        '</clickhouse>',
        '',
      ].join('\n'),
    );
  }
}
