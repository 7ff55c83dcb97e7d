import { stripVTControlCharacters } from 'node:util';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCluster } from '@pullwatch/kafka';
import { repoRoot, type EnginesConfig } from './config.ts';
import { Daemon, sleep, waitUntil } from './daemon.ts';
import type { EngineState, Progress } from './types.ts';

const pom = join(repoRoot, 'infra/kafka/pom.xml');
const log4jConfig = join(repoRoot, 'infra/kafka/log4j2.yaml');

/**
 * More of the broker's own configuration, for tests that need a broker the local engines never are
 * (e.g. a SASL_SSL listener beside the PLAINTEXT one the readiness probe uses).
 */
export interface LocalKafkaExtras {
  /** Further listeners, each with its security protocol (`SASL_SSL`, `SSL`, …), advertised as they are. */
  listeners?: { name: string; port: number; protocol: string }[];
  /** Further `server.properties` lines (`key=value`). */
  properties?: string[];
  /** Further `StorageTool format` arguments (e.g. `--add-scram`), used when the storage is formatted. */
  formatArgs?: string[];
}

/**
 * One node of a multi-broker KRaft cluster (the cluster topology): a combined controller and broker
 * whose controller votes in a static quorum of every node.
 */
export interface KafkaNodeSpec {
  id: number;
  port: number;
  controllerPort: number;
  /** Every node of the cluster (this one included): the controller quorum. */
  nodes: { id: number; port: number; controllerPort: number }[];
  /** This node's folder (properties, data, log, pid); the jars stay in `<home>/kafka/libs`. */
  dir: string;
}

/**
 * A broker loads every partition folder before it serves: thousands of them (topics left by earlier
 * runs) can take longer than `up` waits. What to say about that, when there are that many ('' if not).
 */
export function dataFolderHint(dataDir: string): string {
  const folders = existsSync(dataDir) ? readdirSync(dataDir).length : 0;
  return folders > 1000
    ? ` (${dataDir} holds ${folders} partition folders, which the broker loads before it serves; ` +
        '`pullwatch engines reset` stops the local engines and deletes their data)'
    : '';
}

/**
 * Apache Kafka's own broker, from Maven Central, on 127.0.0.1: a single-node KRaft broker, or (given a
 * node spec) one node of a KRaft cluster.
 */
export class LocalKafka {
  private readonly dir: string;
  private readonly daemon: Daemon;
  private readonly port: number;
  private readonly controllerPort: number;

  constructor(
    private readonly cfg: EnginesConfig,
    private readonly node?: KafkaNodeSpec,
    private readonly extras: LocalKafkaExtras = {},
  ) {
    this.dir = node?.dir ?? join(cfg.home, 'kafka');
    this.port = node?.port ?? cfg.kafka.port;
    this.controllerPort = node?.controllerPort ?? cfg.kafka.controllerPort;
    this.daemon = new Daemon(
      node ? `kafka-${node.id}` : 'kafka',
      join(this.dir, 'kafka.pid'),
      join(this.dir, 'kafka.log'),
      `kafka.Kafka ${join(this.dir, 'server.properties')}`,
    );
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  async status(): Promise<EngineState> {
    const pid = this.daemon.pid();
    const up = pid !== null && (await this.answers());
    return { up, pid, rssBytes: up ? this.daemon.rssBytes() : null };
  }

  async up(progress: Progress): Promise<{ reused: boolean; readyMs: number }> {
    if (this.daemon.pid() !== null) {
      const t0 = Date.now();
      const r = await waitUntil(
        () => this.ready(3000),
        60_000,
        () => this.daemon.pid() === null,
      );
      if (r.ok) return { reused: true, readyMs: Date.now() - t0 };
      throw new Error(
        `a Kafka process is running but not answering ` +
          `on ${this.brokers[0]}: ${describe(r.lastError)}\n${this.daemon.tail()}`,
      );
    }
    this.checkJava();
    const libs = this.ensureJars(progress);
    mkdirSync(this.dir, { recursive: true });
    const properties = this.writeServerProperties();
    const classpath = `${libs}/*`;
    const dataDir = join(this.dir, 'data');
    if (!existsSync(join(dataDir, 'meta.properties'))) {
      progress('kafka: formatting KRaft storage');
      // Every node of a cluster formats with the same id (from the cluster's folder).
      const idSource = this.node ? join(this.dir, '..') : this.dir;
      const clusterId = createHash('sha256').update(idSource).digest('base64url').slice(0, 22);
      const r = spawnSync(
        this.cfg.kafka.java,
        [
          '-cp',
          classpath,
          `-Dlog4j2.configurationFile=${log4jConfig}`,
          'kafka.tools.StorageTool',
          'format',
          // A static quorum (controller.quorum.voters) is formatted without --standalone.
          ...(this.node ? [] : ['--standalone']),
          `--cluster-id=${clusterId}`,
          '-c',
          properties,
          ...(this.extras.formatArgs ?? []),
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`kafka storage format failed: ${r.stderr || r.stdout}`);
    }
    progress(`kafka: starting broker on ${this.brokers[0]}`);
    const t0 = Date.now();
    this.daemon.start(
      this.cfg.kafka.java,
      [
        `-Xms128m`,
        `-Xmx${this.cfg.kafka.heap}`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4jConfig}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        properties,
      ],
      this.dir,
    );
    const r = await waitUntil(
      () => this.ready(3000),
      90_000,
      () => this.daemon.pid() === null,
    );
    if (!r.ok) {
      const tail = this.daemon.tail();
      await this.daemon.stop(5000);
      throw new Error(
        `kafka did not become ready: ${describe(r.lastError)}${dataFolderHint(join(this.dir, 'data'))}\n` +
          `--- ${join(this.dir, 'kafka.log')} ---\n${tail}`,
      );
    }
    return { reused: false, readyMs: Date.now() - t0 };
  }

  async down(): Promise<boolean> {
    // A controlled shutdown flushes the log and moves leadership; give it time before SIGKILL.
    return this.daemon.stop(30_000);
  }

  /** Deletes the broker's data (topics, offsets); the jars stay. */
  reset(): void {
    rmSync(join(this.dir, 'data'), { recursive: true, force: true });
  }

  /**
   * Whether the running broker answers, asked a few times: right after another node of a cluster died
   * (or its controller moved), one metadata request may fail while this broker is fine.
   */
  private async answers(): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.ready(3000).catch(() => false)) return true;
      await sleep(300);
    }
    return false;
  }

  private async ready(timeoutMs: number): Promise<boolean> {
    const cluster = await describeCluster(this.brokers, timeoutMs);
    return cluster.brokers > 0 && cluster.controllerId !== null;
  }

  private checkJava(): void {
    const r = spawnSync(this.cfg.kafka.java, ['-version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      throw new Error(
        `Java (17 or newer) is needed to run the local Kafka broker and '${this.cfg.kafka.java}' did not run ` +
          `(${r.error?.message ?? r.stderr}). Install a JRE (e.g. apt-get install openjdk-17-jre-headless) or ` +
          `set JAVA_HOME; or use PULLWATCH_ENGINES=external|containers.`,
      );
    }
    const m = /version "(\d+)/.exec(r.stderr);
    if (m && Number(m[1]) < 17)
      throw new Error(`Java ${m[1]} found; the Kafka 4 broker needs Java 17 or newer (set JAVA_HOME).`);
  }

  /** Fetches the broker jars with Maven once; a changed pom.xml fetches them again. */
  /** The jars, fetched once for every node (call before starting several at once). */
  ensureJars(progress: Progress): string {
    const libs = join(this.cfg.home, 'kafka', 'libs');
    const stamp = join(libs, '.pom-sha256');
    const want = createHash('sha256').update(readFileSync(pom)).digest('hex');
    if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return libs;
    const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
    if (mvn.error || mvn.status !== 0) {
      throw new Error(
        'Maven is needed once to fetch the Kafka jars from Maven Central and `mvn` did not run. Install it ' +
          '(apt-get install maven), or use PULLWATCH_ENGINES=external|containers.',
      );
    }
    progress('kafka: fetching Apache Kafka jars from Maven Central (first run only)');
    rmSync(libs, { recursive: true, force: true });
    // Maven 3.8 writes colour resets even in batch mode with colours off: its output is kept, and shown
    // (without escape codes) only when it failed.
    const r = spawnSync(
      'mvn',
      ['-B', '-q', '-Dstyle.color=never', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (r.status !== 0) {
      const output = stripVTControlCharacters(`${r.stdout ?? ''}${r.stderr ?? ''}`).trim();
      throw new Error(`mvn could not fetch the Kafka jars (exit ${r.status}):\n${output}`);
    }
    writeFileSync(stamp, `${want}\n`);
    return libs;
  }

  private writeServerProperties(): string {
    const { port, controllerPort } = this;
    const file = join(this.dir, 'server.properties');
    const n = this.node;
    // The cluster topology: every topic on 3 brokers, a write acknowledged by 2 of them.
    const replication = n
      ? [
          `controller.quorum.voters=${n.nodes.map((x) => `${x.id}@127.0.0.1:${x.controllerPort}`).join(',')}`,
          `default.replication.factor=${n.nodes.length}`,
          `min.insync.replicas=${Math.min(2, n.nodes.length)}`,
          `offsets.topic.replication.factor=${n.nodes.length}`,
          `transaction.state.log.replication.factor=${n.nodes.length}`,
          `transaction.state.log.min.isr=${Math.min(2, n.nodes.length)}`,
          `share.coordinator.state.topic.replication.factor=${n.nodes.length}`,
          `share.coordinator.state.topic.min.isr=${Math.min(2, n.nodes.length)}`,
          // Leadership returns to the preferred replica soon after a restarted broker caught up.
          'leader.imbalance.check.interval.seconds=10',
        ]
      : [
          `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
          'offsets.topic.replication.factor=1',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'share.coordinator.state.topic.replication.factor=1',
          'share.coordinator.state.topic.min.isr=1',
        ];
    const extra = this.extras.listeners ?? [];
    const listeners = extra.map((l) => `,${l.name}://127.0.0.1:${l.port}`).join('');
    const protocols = extra.map((l) => `,${l.name}:${l.protocol}`).join('');
    writeFileSync(
      file,
      [
        '# Written by pullwatch on every start; edit PULLWATCH_KAFKA_* settings instead.',
        'process.roles=broker,controller',
        `node.id=${n?.id ?? 1}`,
        ...replication,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${listeners}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${listeners}`,
        'controller.listener.names=CONTROLLER',
        `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${protocols}`,
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${join(this.dir, 'data')}`,
        'num.partitions=1',
        'offsets.topic.num.partitions=8',
        // Tests and the local pipeline join groups often; the 3 s default delay only slows them.
        'group.initial.rebalance.delay.ms=0',
        'auto.create.topics.enable=false',
        'message.max.bytes=16777216',
        ...(this.extras.properties ?? []),
        '',
      ].join('\n'),
    );
    return file;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : err === undefined ? 'timed out' : String(err);
}
