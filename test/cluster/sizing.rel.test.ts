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
  });
});
