// Where ClickHouse's CPU per event goes: the rows the analyzer makes for the end-to-end mix, inserted as
// the analyzer inserts them (RowBinary, one insert per slice), measured by the ClickHouse process's CPU
// time around each insert. The variants of pull_events (as shipped; the hourly view as before 0012 and as
// before 0011; no view at all; each view left out in turn) live in databases of their own and take turns slice by slice,
// so background merges and warm caches fall on all of them alike.
import { randomUUID } from 'node:crypto';
import {
  AnalyzerState,
  POD_STATE_FORMAT,
  PULL_EVENT_FORMAT,
  processSlice,
  RAW_EVENT_FORMAT,
} from '@pullwatch/analyzer';
import { type ClickHouseClient, createClickHouse, insertRowBinary, migrate } from '@pullwatch/clickhouse';
import { LocalEngines, loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { consumedMessages } from './ingest.ts';
import { cpuSeconds } from './support.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

const SLICE = 2000;
const VIEWS = ['pull_failures_mv', 'pull_successes_mv', 'pull_stats_1m_mv', 'pull_stats_1h_mv'] as const;

/** pull_stats_1h_mv as 0005 made it, before 0011 added the namespace, the provider and a Pods state. */
const HOURLY_BEFORE_0011 = (db: string) =>
  `ALTER TABLE ${db}.pull_stats_1h_mv MODIFY QUERY
   SELECT toStartOfHour(event_time) AS hour, registry, cluster, if(outcome = 'failure', cause, '') AS cause,
          sumIf(toUInt64(occurrences), outcome = 'failure') AS failures,
          sumIf(toUInt64(occurrences), outcome = 'success') AS successes
   FROM ${db}.pull_events WHERE outcome IN ('failure', 'success') AND occurrences > 0
   GROUP BY hour, registry, cluster, cause`;

/** pull_stats_1h_mv as 0011 left it: grouping every pull_events block again, before 0012 rolled it up from the minutes. */
const HOURLY_BEFORE_0012 = (db: string) =>
  `ALTER TABLE ${db}.pull_stats_1h_mv MODIFY QUERY
   SELECT toStartOfHour(event_time) AS hour, registry, cluster, if(outcome = 'failure', cause, '') AS cause,
          namespace, provider,
          sumIf(toUInt64(occurrences), outcome = 'failure') AS failures,
          sumIf(toUInt64(occurrences), outcome = 'success') AS successes,
          uniqCombinedState(concat(cluster, '/', namespace, '/', pod)) AS pods
   FROM ${db}.pull_events WHERE outcome IN ('failure', 'success') AND occurrences > 0
   GROUP BY hour, registry, cluster, cause, namespace, provider`;

interface Variant {
  name: string;
  database: string;
  /** What makes it differ from a fresh migration. */
  setup: (ch: ClickHouseClient, db: string) => Promise<void>;
  cpuSeconds: number;
}

function makeSlices(n: number, clusters: number) {
  const state = new AnalyzerState();
  const messages = consumedMessages(n, clusters);
  const slices: ReturnType<typeof processSlice>['rows'][] = [];
  for (let i = 0; i < n; i += SLICE)
    slices.push(processSlice(messages.slice(i, i + SLICE), -1, 0, state, { stuckAfterMs: 600_000 }).rows);
  return slices;
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const engines = loadEnginesConfig();
  if (engines.mode !== 'local') return { name: 'ClickHouse CPU per table', figures: [], notes: ['local engines only'] };
  const pid = (await new LocalEngines(engines).status()).clickhouse.pid;
  const ch = createClickHouse({ ...resolveEndpoints(engines).clickhouse, requestTimeoutMs: 600_000 });
  const n = Math.min(ctx.scale.events, 100_000);
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const dropViews = (views: readonly string[]) => async (c: ClickHouseClient, db: string) => {
    for (const v of views) await c.command({ query: `DROP TABLE ${db}.${v}` });
  };
  const variants: Variant[] = [
    { name: 'as shipped', setup: async () => {}, database: '', cpuSeconds: 0 },
    {
      name: 'the hourly view as before 0012',
      setup: async (c, db) => void (await c.command({ query: HOURLY_BEFORE_0012(db) })),
      database: '',
      cpuSeconds: 0,
    },
    {
      name: 'the hourly view as before 0011',
      setup: async (c, db) => void (await c.command({ query: HOURLY_BEFORE_0011(db) })),
      database: '',
      cpuSeconds: 0,
    },
    ...VIEWS.map((v) => ({ name: `without ${v}`, setup: dropViews([v]), database: '', cpuSeconds: 0 })),
    { name: 'no view', setup: dropViews(VIEWS), database: '', cpuSeconds: 0 },
  ];
  variants.forEach((v, i) => {
    v.database = `bench_tables_${id}_${i}`;
  });
  try {
    for (const v of variants) {
      await migrate(ch, { database: v.database, ttlDays: 90 });
      await v.setup(ch, v.database);
    }
    const slices = makeSlices(n, Math.min(ctx.scale.clusters, 50));
    ctx.log(`${n} events → ${slices.length} slices of rows, ${variants.length} variants of pull_events`);
    const timed = async (insert: () => Promise<void>) => {
      const cpu0 = cpuSeconds(pid);
      await insert();
      return cpuSeconds(pid) - cpu0;
    };
    const settings = { async_insert: 0 } as const;
    let raw = 0;
    let pods = 0;
    const shipped = variants[0]!.database;
    for (const s of slices) {
      for (const v of variants)
        v.cpuSeconds += await timed(() =>
          insertRowBinary(ch, {
            table: `${v.database}.pull_events`,
            format: PULL_EVENT_FORMAT,
            blocks: [s.pulls],
            clickhouse_settings: settings,
          }),
        );
      raw += await timed(() =>
        insertRowBinary(ch, {
          table: `${shipped}.raw_events`,
          format: RAW_EVENT_FORMAT,
          blocks: [s.raws],
          clickhouse_settings: settings,
        }),
      );
      pods += await timed(() =>
        insertRowBinary(ch, {
          table: `${shipped}.pod_pull_state`,
          format: POD_STATE_FORMAT,
          rows: s.states,
          clickhouse_settings: settings,
        }),
      );
    }
    const us = (seconds: number) => Math.round((seconds * 1e7) / n) / 10;
    const [asShipped, before0012, before0011, ...rest] = variants;
    const noView = rest[rest.length - 1]!;
    for (const v of variants) ctx.log(`pull_events ${v.name}: ${us(v.cpuSeconds)} µs of ClickHouse CPU per event`);
    const figures: BenchFigure[] = [
      {
        metric: 'ClickHouse CPU per event: pull_events with its 4 views and the failures projection, as shipped',
        value: us(asShipped!.cpuSeconds),
        unit: 'µs',
        baseline: { name: 'the same rows into pull_events with no view', value: us(noView.cpuSeconds) },
        ratio: asShipped!.cpuSeconds / noView.cpuSeconds,
      },
      {
        metric: 'ClickHouse CPU per event: pull_events as shipped (0012: the hourly view rolled up from the minutes)',
        value: us(asShipped!.cpuSeconds),
        unit: 'µs',
        baseline: {
          name: 'the same with the hourly view grouping every pull_events row, as before 0012',
          value: us(before0012!.cpuSeconds),
        },
        ratio: asShipped!.cpuSeconds / before0012!.cpuSeconds,
      },
      {
        metric: 'ClickHouse CPU per event: the hourly view before 0012 (0011: hourly namespaces, providers, Pods)',
        value: us(before0012!.cpuSeconds),
        unit: 'µs',
        baseline: { name: 'the same with the hourly view as before 0011', value: us(before0011!.cpuSeconds) },
        ratio: before0012!.cpuSeconds / before0011!.cpuSeconds,
      },
      ...rest.slice(0, VIEWS.length).map((v, i) => ({
        metric: `ClickHouse CPU per event: ${VIEWS[i]} (as shipped minus ${v.name})`,
        value: us(asShipped!.cpuSeconds - v.cpuSeconds),
        unit: 'µs',
      })),
      { metric: 'ClickHouse CPU per event: raw_events (the envelope as received)', value: us(raw), unit: 'µs' },
      { metric: 'ClickHouse CPU per event: pod_pull_state', value: us(pods), unit: 'µs' },
      {
        metric:
          'ClickHouse CPU per event: all the analyzer writes (pull_events as shipped, raw_events, pod_pull_state)',
        value: us(asShipped!.cpuSeconds + raw + pods),
        unit: 'µs',
      },
    ];
    return {
      name: 'ClickHouse CPU per table',
      figures,
      notes: [
        `${n} events of the end-to-end mix made into rows by the analyzer's own stages, inserted one slice of ${SLICE} per insert (RowBinary, synchronous); CPU time of the ClickHouse process around each insert (with whatever merges run meanwhile).`,
        `pull_events in ${variants.length} databases (${variants.map((v) => v.name).join('; ')}) taking turns slice by slice; a view's cost is the shipped variant minus the one without it; pull_failures_mv includes the failures table's by_time projection (0010). Since 0012 the hourly view reads what pull_stats_1m_mv writes, so the variant without pull_stats_1m_mv has no hourly rows either: its figure is both views'.`,
      ],
    };
  } finally {
    for (const v of variants) await ch.command({ query: `DROP DATABASE IF EXISTS ${v.database}` });
    await ch.close();
  }
}
