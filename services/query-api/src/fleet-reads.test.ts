import { describe, expect, it } from 'vitest';
import { FleetTables, type ClickHouseClient } from '@pullwatch/clickhouse';
import { loadRules, defaultRulesPath } from './alerts/rules.ts';
import { readSignals } from './alerts/signals.ts';
import { FailureQueries } from './failures/queries.ts';
import { HotspotQueries } from './hotspots/queries.ts';
import { IncidentQueries } from './incidents/queries.ts';
import { PodQueries } from './pods/queries.ts';
import { RegistryQueries } from './registries/queries.ts';
import { RiskQueries } from './risks/queries.ts';
import { TrendQueries } from './trends/queries.ts';

// A ClickHouse cluster cannot run here (one embedded server, no Keeper): record which tables the API
// reads. The single-server path runs against the real ClickHouse in the integration tests.
function recording() {
  const queries: string[] = [];
  const client = {
    query: async ({ query }: { query: string }) => {
      queries.push(query);
      // Answers that lead each read down its longest path: the hourly table exists and is complete.
      const rows = query.includes('system.tables')
        ? [{ n: 1 }]
        : /pull_stats_1h_(pods_)?since/.test(query)
          ? [{ since: 0 }]
          : [];
      return { json: async () => rows };
    },
  } as unknown as ClickHouseClient;
  return { client, queries };
}

const tablesIn = (sql: string) =>
  [...sql.matchAll(/\b(?:FROM|IN \(SELECT DISTINCT registry FROM)\s+([\w.]+(?:\([^)]*\))?)/g)].map((m) => m[1]!);

async function everyRead(client: ClickHouseClient, cluster?: string) {
  const t = new FleetTables('pw', cluster);
  const from = new Date('2026-11-01T00:00:00Z');
  const to = new Date('2026-11-24T12:30:00Z');
  await new RegistryQueries(client, t).registries({ from, to });
  await new HotspotQueries(client, t).hotspots({ from, to, groupBy: 'node' });
  await new IncidentQueries(client, t).incidents({ from, to, status: 'all' });
  await new TrendQueries(client, t).trends({ from, to, interval: '1d' });
  await new FailureQueries(client, t).failures({ from, to, limit: 10 });
  await new PodQueries(client, t).stuck({ minutes: 10 }, to);
  await new RiskQueries(client, t).risks({ from, to });
  await readSignals(client, new FleetTables('pw', cluster), loadRules(defaultRulesPath), to.getTime());
}

describe('query API reads', () => {
  it('go through the _all tables on a ClickHouse cluster, so every shard answers', async () => {
    const r = recording();
    await everyRead(r.client, 'fleet');
    const tables = new Set(r.queries.flatMap(tablesIn));
    expect([...tables].filter((t) => t.startsWith('pw.')).every((t) => t.endsWith('_all'))).toBe(true);
    expect(tables).toEqual(
      new Set([
        'pw.pull_stats_1m_all',
        'pw.pull_failures_all',
        'pw.incidents_all',
        'pw.pull_stats_1h_all',
        'pw.pull_events_all',
        'pw.pod_pull_state_all',
        'system.tables',
        "cluster('fleet', pw, pull_stats_1h_since)",
        "cluster('fleet', pw, pull_stats_1h_pods_since)",
      ]),
    );
  });

  it('use the tables themselves on one server', async () => {
    const r = recording();
    await everyRead(r.client);
    const tables = new Set(r.queries.flatMap(tablesIn));
    expect(tables).toEqual(
      new Set([
        'pw.pull_stats_1m',
        'pw.pull_failures',
        'pw.incidents',
        'pw.pull_stats_1h',
        'pw.pull_events',
        'pw.pod_pull_state',
        'system.tables',
        'pw.pull_stats_1h_since',
        'pw.pull_stats_1h_pods_since',
      ]),
    );
  });
});
