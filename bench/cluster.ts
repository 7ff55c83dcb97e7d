import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse } from '@pullwatch/clickhouse';
import { CLUSTER_NAME, LocalCluster, loadEnginesConfig } from '@pullwatch/engines';
import { waitFor } from './end-to-end.ts';
import { collectorReady, INGEST_TOKEN, ingestBatches, postBatches } from './ingest.ts';
import { cpuMeter, freePort, spawnService, stop } from './support.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

/**
 * The pipeline end to end on the cluster topology (3 KRaft brokers, replication factor 3, 2 ClickHouse
 * shards behind Distributed tables, one analyzer per shard in one consumer group), beside the single-node
 * end-to-end figure of the same run. Every process shares the same two cores, so this measures what the
 * replication and the second shard cost, not what more machines would give.
 */
const PARTITIONS = 6;

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const name = 'end to end on the cluster topology';
  const home = mkdtempSync(join(tmpdir(), 'pw-bench-cluster-'));
  // The Kafka jars and the ClickHouse launcher of the usual home, not fetched and built again.
  const usual = loadEnginesConfig().home;
  symlinkSync(join(usual, 'kafka'), join(home, 'kafka'));
  symlinkSync(join(usual, 'bin'), join(home, 'bin'));
  const ports = await Promise.all(Array.from({ length: 4 }, () => freePort()));
  const cfg = loadEnginesConfig({
    ...process.env,
    PULLWATCH_ENGINES: 'local',
    PULLWATCH_TOPOLOGY: 'cluster',
    PULLWATCH_HOME: home,
    PULLWATCH_CLUSTER_KAFKA_PORT: String(ports[0]),
    PULLWATCH_CLUSTER_CLICKHOUSE_PORT: String(ports[1]),
    PULLWATCH_CLUSTER_CLICKHOUSE_TCP_PORT: String(ports[2]),
  });
  const cluster = new LocalCluster(cfg);
  await cluster.up((l) => ctx.log(l));
  const e = cluster.endpoints();
  const shards = e.clickhouse.shards ?? [e.clickhouse.url];
  const status = await cluster.status();
  const admin = createClickHouse({ ...e.clickhouse, requestTimeoutMs: 600_000 });
  const n = Math.min(ctx.scale.events, 200_000);
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const port = ports[3]!;
  const env = {
    PULLWATCH_CLICKHOUSE_CLUSTER: CLUSTER_NAME,
    PULLWATCH_CLICKHOUSE_REPLICATED: 'false',
    PULLWATCH_CLICKHOUSE_SHARDS: shards.join(','),
    PULLWATCH_CLICKHOUSE_DATABASE: `bench_cluster_${id}`,
    PULLWATCH_TOPIC: `bench_cluster_${id}`,
    PULLWATCH_TOPIC_PARTITIONS: String(PARTITIONS),
    PULLWATCH_DLQ_TOPIC: `bench_cluster_${id}_dlq`,
    PULLWATCH_ANALYZER_GROUP: `bench_cluster_${id}_g`,
    PULLWATCH_INGEST_PORT: String(port),
    PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
    PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
  };
  // One analyzer per shard: each writes its event rows to its own shard (docs/scaling.md).
  const analyzers = shards.map((url) => spawnService('analyzer', e, { ...env, PULLWATCH_CLICKHOUSE_URL: url }));
  const collector = spawnService('collector', e, env);
  try {
    const url = `http://127.0.0.1:${port}`;
    await collectorReady(url);
    // The analyzers migrate every shard before they consume; wait for the Distributed table they read through.
    await waitFor(
      admin,
      `SELECT count() FROM system.tables WHERE database = '${env.PULLWATCH_CLICKHOUSE_DATABASE}' ` +
        `AND name = 'raw_events_all'`,
      1,
      180_000,
    );
    const pids: Record<string, number | null | undefined> = { collector: collector.pid };
    analyzers.forEach((a, i) => {
      pids[`analyzer ${i + 1}`] = a.pid;
    });
    for (const node of status.kafka.nodes ?? []) pids[`kafka ${node.id}`] = node.pid;
    for (const node of status.clickhouse.nodes ?? []) pids[`clickhouse shard ${node.shard}`] = node.pid;
    pids['bench client'] = process.pid;
    const cpu = cpuMeter(pids);
    const t0 = Date.now();
    await postBatches(url, ingestBatches(n, Math.min(ctx.scale.clusters, 50)));
    const done = await waitFor(
      admin,
      `SELECT count() FROM ${env.PULLWATCH_CLICKHOUSE_DATABASE}.raw_events_all`,
      n,
      900_000,
    );
    const perProcess = cpu(n);
    const rate = n / ((done - t0) / 1000);
    const single = ctx.previous
      ?.flatMap((s) => s.figures)
      .find((f) => f.metric === 'end to end: HTTP ingest → queryable in ClickHouse');
    const total = Object.values(perProcess).reduce((a, b) => a + b, 0);
    const figures: BenchFigure[] = [
      {
        metric: 'cluster topology: HTTP ingest → queryable (raw_events_all)',
        value: rate,
        unit: 'events/s',
        ...(single
          ? { baseline: { name: 'single-node topology, same run', value: single.value }, ratio: rate / single.value }
          : {}),
      },
      ...Object.entries(perProcess).map(([proc, us]) => ({
        metric: `cluster CPU per event: ${proc}`,
        value: us,
        unit: 'µs',
      })),
      { metric: 'cluster CPU per event: all of the above', value: total, unit: 'µs' },
    ];
    return {
      name,
      figures,
      notes: [
        `${n} events, ${PARTITIONS} partitions (replication factor 3, min.insync.replicas 2), 2 shards, ` +
          'one analyzer per shard; every process on the same cores as the single-node run.',
        'Run it with the end-to-end suite (`--only end-to-end --only cluster`) for the same-run comparison.',
      ],
    };
  } finally {
    await stop(collector);
    await Promise.all(analyzers.map((a) => stop(a)));
    await admin.close();
    await cluster.down();
    rmSync(home, { recursive: true, force: true });
  }
}
