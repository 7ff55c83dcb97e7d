import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { report } from '../reliability/report.ts';
import { analyzerMetrics, failure, Pipeline, until } from './harness.ts';

const p = new Pipeline({ partitions: 6, incidentIntervalSeconds: 2 });
const clusters = ['ap', 'eu', 'us'];
const pods = 40;
const rounds = 3;
// Every observation in one minute, ten minutes ago: one incident run, inside its fleet window.
const baseMs = Math.floor((Date.now() - 600_000) / 60_000) * 60_000;

let metricsA = 0;
let metricsB = 0;

beforeAll(async () => {
  // Two analyzers in one group, each writing to a shard of its own.
  metricsA = await p.startAnalyzer('analyzer-a', 1);
  metricsB = await p.startAnalyzer('analyzer-b', 2);
  await p.startCollector();
  await p.startQueryApi();
});

afterAll(async () => {
  await p.stopAll();
  await p.dropDatabase();
});

describe('two analyzers in one group on 2 ClickHouse shards and 3 brokers', () => {
  it('give exact fleet totals through the query API, one owner per Pod state, one fleet incident', async () => {
    for (let count = 1; count <= rounds; count++)
      for (const c of clusters)
        await p.send(
          c,
          Array.from({ length: pods }, (_, i) => failure(c, i, count, baseMs)),
        );
    const expected = clusters.length * pods * rounds;
    const from = new Date(baseMs - 3_600_000).toISOString();
    const range = `from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}`;

    type Registries = { registries: { registry: string; failures: number; clusters: number }[] };
    const registries = await until(
      'every failure in the query API',
      () => p.api<Registries>(`/v1/registries?${range}`),
      (r) => r.status === 200 && r.body.registries[0]?.failures === expected,
    );
    expect(registries.body.registries.map((r) => [r.registry, r.failures, r.clusters])).toEqual([
      ['ghcr.io', expected, 3],
    ]);

    type Hotspots = { hotspots: { registry: string; cluster: string; failures: number }[] };
    const hotspots = await p.api<Hotspots>(`/v1/hotspots/rate-limit?${range}`);
    expect(hotspots.body.hotspots.map((h) => [h.registry, h.cluster, h.failures])).toEqual(
      clusters.map((c) => ['ghcr.io', c, pods * rounds]),
    );

    type Incidents = {
      incidents: { registry: string; cause: string; scope: string; clusters: string[]; failures: number }[];
    };
    const incidents = await until(
      'the fleet incident to cover every failure',
      () => p.api<Incidents>(`/v1/incidents?${range}&status=all`),
      (r) => r.status === 200 && r.body.incidents.length === 1 && r.body.incidents[0]!.failures === expected,
      60_000,
    );
    expect(incidents.body.incidents.map((i) => [i.registry, i.cause, i.scope, i.clusters, i.failures])).toEqual([
      ['ghcr.io', 'rate_limited', 'fleet', clusters, expected],
    ]);

    // Every route answers on the cluster (reads through _all, subqueries GLOBAL).
    const statuses: Record<string, number> = {};
    for (const path of [
      'registries',
      'hotspots/rate-limit',
      'incidents',
      'trends',
      'failures',
      'pods/stuck',
      'risks',
      'alerts',
    ])
      statuses[path] = (await p.api(`/v1/${path}?${path === 'pods/stuck' || path === 'alerts' ? '' : range}`)).status;
    expect(Object.values(statuses)).toEqual(Array.from({ length: 8 }, () => 200));

    type Stuck = { pods: { cluster: string; pod: string }[] };
    const stuck = await p.api<Stuck>('/v1/pods/stuck?minutes=0');
    expect(stuck.status).toBe(200);
    expect(stuck.body.pods.length).toBe(clusters.length * pods);

    // Each Pod's state: one row after FINAL, all its versions on one shard; its events in one partition.
    const db = p.database;
    const perPod = await p.rows<{ shards: string; n: string }>(
      `SELECT count() AS n, max(s) AS shards FROM (
         SELECT uniqExact(_shard_num) AS s FROM ${db}.pod_pull_state_all GROUP BY cluster, namespace, pod)`,
    );
    expect(Number(perPod[0]!.n)).toBe(clusters.length * pods);
    expect(Number(perPod[0]!.shards)).toBe(1);
    expect(
      await p.scalar(
        `SELECT max(c) FROM (SELECT count() AS c FROM ${db}.pod_pull_state_all FINAL GROUP BY cluster, namespace, pod)`,
      ),
    ).toBe(1);
    expect(
      await p.scalar(
        `SELECT max(c) FROM (SELECT uniqExact(kafka_partition) AS c FROM ${db}.raw_events_all GROUP BY ` +
          `cluster, namespace, object_name)`,
      ),
    ).toBe(1);
    // Both analyzers did work, and both shards hold event rows and Pod states.
    const [a, b] = [await analyzerMetrics(metricsA), await analyzerMetrics(metricsB)];
    const shardRows = await p.rows<{ shard: number; raws: string; states: string }>(
      `SELECT _shard_num AS shard, count() AS raws FROM ${db}.raw_events_all GROUP BY shard ORDER BY shard`,
    );
    const stateRows = await p.rows<{ shard: number; states: string }>(
      `SELECT _shard_num AS shard, count() AS states FROM ${db}.pod_pull_state_all FINAL GROUP BY shard ORDER BY shard`,
    );
    report('cluster: two analyzers, two shards', {
      occurrencesSent: expected,
      analyzerAStored: a.stored,
      analyzerBStored: b.stored,
      analyzerAPartitions: a.partitions.join(','),
      analyzerBPartitions: b.partitions.join(','),
      rawRowsPerShard: shardRows.map((r) => r.raws).join('/'),
      podStatesPerShard: stateRows.map((r) => r.states).join('/'),
    });
    expect(a.stored).toBeGreaterThan(0);
    expect(b.stored).toBeGreaterThan(0);
    expect(a.stored + b.stored).toBe(expected);
    expect(shardRows.map((r) => Number(r.shard))).toEqual([1, 2]);
    expect(stateRows.map((r) => Number(r.shard))).toEqual([1, 2]);
    expect(stateRows.reduce((n, r) => n + Number(r.states), 0)).toBe(clusters.length * pods);
  });
});
