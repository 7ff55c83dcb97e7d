import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { report } from '../reliability/report.ts';
import { analyzerMetrics, failure, Pipeline, until } from './harness.ts';

// The figures docs/scaling.md quotes: rows and bytes per million events per table (system.parts of
// every shard), and the analyzers' CPU time per event, from a stream through the cluster topology.
const p = new Pipeline({ partitions: 6 });
const clusters = ['ap', 'eu', 'us', 'sa'];
const pods = 500;
const rounds = 10;
const baseMs = Math.floor((Date.now() - 1_200_000) / 60_000) * 60_000;
const cpu: Record<string, number> = {};
let metrics: number[] = [];

/** User + system CPU seconds of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

beforeAll(async () => {
  metrics = [await p.startAnalyzer('analyzer-a', 1), await p.startAnalyzer('analyzer-b', 2)];
  await p.startCollector();
  await p.startQueryApi();
});

afterAll(async () => {
  await p.stopAll();
  await p.dropDatabase();
});

describe('sizing figures on the cluster topology', () => {
  it('measures rows and bytes per million events per table, and analyzer CPU per event', async () => {
    const pids = ['analyzer-a', 'analyzer-b'].map((n) => p.pid(n));
    const cpu0 = pids.map(cpuSeconds);
    const t0 = Date.now();
    for (let count = 1; count <= rounds; count++)
      for (const c of clusters)
        for (let from = 0; from < pods; from += 250)
          await p.send(
            c,
            Array.from({ length: 250 }, (_, k) => failure(c, from + k, count, baseMs)),
          );
    const events = clusters.length * pods * rounds;
    await until(
      'every event stored',
      async () => (await analyzerMetrics(metrics[0]!)).stored + (await analyzerMetrics(metrics[1]!)).stored,
      (n) => n === events,
      240_000,
    );
    const seconds = (Date.now() - t0) / 1000;
    pids.forEach((pid, i) => {
      cpu[`analyzer${i}`] = cpuSeconds(pid) - cpu0[i]!;
    });
    const db = p.database;
    const tables = await p.rows<{ table: string; rows: string; compressed: string; uncompressed: string }>(
      `SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS compressed,
         sum(data_uncompressed_bytes) AS uncompressed
       FROM cluster('pullwatch', system.parts) WHERE database = '${db}' AND active GROUP BY table ORDER BY table`,
    );
    const perMillion = (x: string) => Math.round((Number(x) / events) * 1_000_000);
    const figures: Record<string, number | string> = {
      events,
      seconds: Math.round(seconds * 10) / 10,
      eventsPerSecond: Math.round(events / seconds),
      analyzerCpuSeconds: Math.round((cpu.analyzer0! + cpu.analyzer1!) * 100) / 100,
      analyzerCpuMicrosPerEvent: Math.round(((cpu.analyzer0! + cpu.analyzer1!) / events) * 1e6),
    };
    for (const t of tables) {
      figures[`${t.table}.rowsPerMillion`] = perMillion(t.rows);
      figures[`${t.table}.compressedMBPerMillion`] = Math.round(perMillion(t.compressed) / 1e4) / 100;
      figures[`${t.table}.uncompressedMBPerMillion`] = Math.round(perMillion(t.uncompressed) / 1e4) / 100;
    }
    report('cluster: sizing', figures);
    expect(await p.scalar(`SELECT sum(occurrences) FROM ${db}.pull_failures_all`)).toBe(events);
    // What the table in docs/scaling.md is made of, exactly: one row per event in each MergeTree table
    // (merges keep every row), parts for each table the stream writes, none for successes.
    const rowsOf = Object.fromEntries(tables.map((t) => [t.table, Number(t.rows)]));
    // (Bookkeeping tables such as migrations and incidents may have parts too; they are not in the table.)
    expect(Object.keys(rowsOf)).toEqual(
      expect.arrayContaining([
        'pod_pull_state',
        'pull_events',
        'pull_failures',
        'pull_stats_1h',
        'pull_stats_1m',
        'raw_events',
      ]),
    );
    expect(rowsOf.pull_successes).toBeUndefined();
    expect([rowsOf.raw_events, rowsOf.pull_events, rowsOf.pull_failures]).toEqual([events, events, events]);
    for (const t of tables) expect(Number(t.compressed), t.table).toBeGreaterThan(0);
    // Pod states: several versions before merges, one per Pod (one container, one image each) after FINAL;
    // written through the Distributed table, so possibly a moment after the analyzers count them stored.
    await until(
      'one pod state per Pod',
      () => p.scalar(`SELECT count() FROM ${db}.pod_pull_state_all FINAL`),
      (n) => n === clusters.length * pods,
      60_000,
    );
    expect(rowsOf.pod_pull_state).toBeGreaterThanOrEqual(clusters.length * pods);
    expect(rowsOf.pod_pull_state).toBeLessThanOrEqual(events);
    // Every event is a failure of one minute (lastTimestamp within 10 s of a whole minute), one registry,
    // cause and namespace: after aggregation, one group per cluster, summing to every occurrence.
    expect(await p.scalar(`SELECT sum(failures) FROM ${db}.pull_stats_1m_all`)).toBe(events);
    expect(await p.scalar(`SELECT sum(successes) FROM ${db}.pull_stats_1m_all`)).toBe(0);
    expect(
      await p.scalar(
        `SELECT count() FROM (SELECT 1 FROM ${db}.pull_stats_1m_all ` +
          'GROUP BY minute, registry, cluster, namespace, cause, provider)',
      ),
    ).toBe(clusters.length);
  });
});
