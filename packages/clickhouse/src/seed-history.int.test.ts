import { afterAll, describe, expect, it } from 'vitest';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { createClickHouse } from './client.ts';
import { migrate } from './migrations.ts';
import { seedHistory } from './seed-history.ts';

const ch = createClickHouse({ ...testEndpoints().clickhouse });
const database = uniqueName('seed');

afterAll(async () => {
  await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await ch.close();
});

describe('seedHistory', () => {
  it('writes the failures, a tenth as many successes, Pod states and incidents, and fills the aggregates', async () => {
    await migrate(ch, { database, ttlDays: 90 });
    const progress: number[] = [];
    await seedHistory(ch, { database, failures: 1000, clusters: 7, progress: (n) => progress.push(n) });
    const rs = await ch.query({
      query:
        `SELECT (SELECT countIf(outcome = 'failure') FROM ${database}.pull_events) AS failures, ` +
        `(SELECT countIf(outcome = 'success') FROM ${database}.pull_events) AS successes, ` +
        `(SELECT uniqExact(cluster) FROM ${database}.pull_events) AS clusters, ` +
        `(SELECT count() FROM ${database}.pod_pull_state FINAL) AS states, ` +
        `(SELECT count() FROM ${database}.incidents) AS incidents, ` +
        `(SELECT sum(occurrences) FROM ${database}.pull_events WHERE outcome = 'failure') AS occurrences, ` +
        `(SELECT sum(failures) FROM ${database}.pull_stats_1m) AS aggregated`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<Record<string, string | number>>();
    // occurrences are 1 + number % 3 over numbers 0..999: 334 ones, 333 twos, 333 threes.
    expect(Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]))).toEqual({
      failures: 1000,
      successes: 100,
      clusters: 7,
      // 20,000 state rows of lcm(7 clusters, 20 namespaces, 50 Pods) = 700 distinct Pods, one row each.
      states: 700,
      incidents: 2000,
      occurrences: 1999,
      aggregated: 1999,
    });
    expect(progress).toEqual([1000]);
  });
});
