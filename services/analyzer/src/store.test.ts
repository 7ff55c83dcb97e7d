import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import { AnalyzerStore } from './store.ts';
import { POD_STATE_FORMAT, PULL_EVENT_FORMAT, RAW_EVENT_FORMAT } from './core/table-formats.ts';

// A ClickHouse cluster cannot run here (one embedded server, no Keeper): record which tables the store
// names. The single-server path runs against the real ClickHouse in the integration tests.
function recording() {
  const queries: string[] = [];
  const inserts: string[] = [];
  const client = {
    query: async ({ query }: { query: string }) => {
      queries.push(query);
      return { json: async () => [] };
    },
    insert: async ({ table }: { table: string }) => void inserts.push(table),
    exec: async ({ query }: { query: string }) => {
      inserts.push(/^INSERT INTO (\S+)/.exec(query)![1]!);
      return { stream: [] };
    },
  } as unknown as ClickHouseClient;
  return { client, queries, inserts };
}

/** A row of zeros, false and empty strings with every column of the format. */
const blank = <T>(format: { columns: readonly (readonly [keyof T & string, string])[] }): T =>
  Object.fromEntries(
    format.columns.map(([name, type]) => [name, type.includes('String') ? '' : type === 'Bool' ? false : 0]),
  ) as T;

async function exercise(store: AnalyzerStore) {
  await store.storedOffsets([0], { id: 'id', ends: [0] });
  await store.storedPullOffsets([0], { id: 'id', ends: [0] });
  await store.lastCounts([0]);
  await store.openPodStates();
  await store.failureBuckets(24);
  await store.successMarks(24);
  await store.openIncidentsBefore(0);
  await store.writeBatch(
    't:0:1-2',
    [PULL_EVENT_FORMAT.block([blank(PULL_EVENT_FORMAT)])],
    [RAW_EVENT_FORMAT.block([blank(RAW_EVENT_FORMAT)])],
    [blank(POD_STATE_FORMAT)],
  );
  await store.writeIncidents([
    {
      id: 'i',
      registry: 'r',
      cause: 'c',
      scope: 'fleet',
      clusters: [],
      images: [],
      failures: 1,
      startMs: 0,
      lastSeenMs: 0,
      endMs: null,
      status: 'open',
    },
  ]);
}

describe('AnalyzerStore tables', () => {
  it('reads the whole fleet through the _all tables on a cluster, and writes event rows locally', async () => {
    const r = recording();
    await exercise(new AnalyzerStore(r.client, 'pw', 'fleet'));
    const read = r.queries.map((q) => /FROM (\S+)/.exec(q)![1]);
    expect(read).toEqual([
      'pw.raw_events_all',
      'pw.pull_events_all',
      'pw.pull_events_all',
      'pw.pod_pull_state_all',
      'pw.pull_failures_all',
      'pw.pull_successes_all',
      'pw.incidents_all',
    ]);
    expect(r.inserts).toEqual(['pw.pull_events', 'pw.pod_pull_state_all', 'pw.raw_events', 'pw.incidents_all']);
  });

  it('uses the tables themselves on one server', async () => {
    const r = recording();
    await exercise(new AnalyzerStore(r.client, 'pw'));
    expect(r.queries.map((q) => /FROM (\S+)/.exec(q)![1])).toEqual([
      'pw.raw_events',
      'pw.pull_events',
      'pw.pull_events',
      'pw.pod_pull_state',
      'pw.pull_failures',
      'pw.pull_successes',
      'pw.incidents',
    ]);
    expect(r.inserts).toEqual(['pw.pull_events', 'pw.pod_pull_state', 'pw.raw_events', 'pw.incidents']);
  });
});
