import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { PULL_EVENT_FORMAT, type PullEventRow } from './core/table-formats.ts';
import { AnalyzerStore } from './store.ts';

const M = 60_000;
const H = 60 * M;

describe('AnalyzerStore incidents against the real ClickHouse', () => {
  const database = uniqueName('store_it');
  const client = createClickHouse({ ...testEndpoints().clickhouse });
  const store = new AnalyzerStore(client, database);
  const thresholds = { fleetMinClusters: 2, fleetWindowMs: 10 * M, quietMs: 15 * M };

  beforeAll(async () => {
    await migrate(client, { database, ttlDays: 90 });
  });
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it(
    'keeps one open incident with one id through an ' + 'outage of 30 hours (longer than the 24-hour look-back)',
    async () => {
      const nowMs = Math.floor(Date.now() / M) * M;
      const startMs = nowMs - 30 * H;
      // A failure pair every 5 minutes for 30 hours, alternating two clusters: one fleet incident.
      const pulls: PullEventRow[] = [];
      for (let at = startMs, i = 0; at <= nowMs - M; at += 5 * M, i++) {
        const row = Object.fromEntries(
          PULL_EVENT_FORMAT.columns.map(([name, type]) => [
            name,
            type.includes('String') ? '' : type === 'Bool' ? false : 0,
          ]),
        ) as unknown as PullEventRow;
        pulls.push({
          ...row,
          event_time: at + 10_000,
          first_time: at + 10_000,
          received_at: at + 10_000,
          cluster: i % 2 ? 'eu' : 'us',
          outcome: 'failure',
          event_kind: 'failed_pull',
          occurrences: 2,
          image: 'quay.io/acme/x:1',
          registry: 'quay.io',
          cause: 'registry_unavailable',
          event_uid: `u${i}`,
          event_count: 2,
          kafka_offset: i,
        });
      }
      await store.writeBatch('store-it:0:0-1', [PULL_EVENT_FORMAT.block(pulls)], [], []);

      // While the outage was younger than the look-back, its start was in the window: that is its id.
      const [first, ...none] = await store.correlate({ ...thresholds, lookbackHours: 31 }, nowMs);
      expect(none).toEqual([]);
      expect(first).toMatchObject({ startMs, status: 'open', scope: 'fleet', failures: pulls.length * 2 });

      // With the 24-hour look-back its start lies 6 hours before the window, a minute later and after.
      for (const later of [nowMs, nowMs + M, nowMs + 2 * M]) {
        const written = await store.correlate({ ...thresholds, lookbackHours: 24 }, later);
        expect(written.map((i) => [i.id, i.startMs, i.failures, i.status])).toEqual([
          [first!.id, startMs, pulls.length * 2, 'open'],
        ]);
      }
      const rs = await client.query({
        query:
          `SELECT id, status, failures, toUnixTimestamp64Milli(start) AS start FROM ${database}.incidents ` +
          `FINAL ORDER BY id`,
        format: 'JSONEachRow',
      });
      const rows = (
        await rs.json<{ id: string; status: string; failures: number | string; start: number | string }>()
      ).map((r) => ({ ...r, failures: Number(r.failures), start: Number(r.start) }));
      expect(rows).toEqual([{ id: first!.id, status: 'open', failures: pulls.length * 2, start: startMs }]);
    },
  );
});
