// Where ClickHouse's CPU per event goes: the rows the analyzer makes for the end-to-end mix, inserted
// table by table as the analyzer inserts them (RowBinary, one insert per slice), each measured by the
// ClickHouse process's CPU time. pull_events is measured twice in the same run: with its materialized
// views and the failures projection (as shipped), and as a bare copy of the table (the baseline).
import { randomUUID } from 'node:crypto';
import {
  AnalyzerState,
  POD_STATE_FORMAT,
  PULL_EVENT_FORMAT,
  processSlice,
  RAW_EVENT_FORMAT,
  type PodStateRow,
} from '@pullwatch/analyzer';
import { createClickHouse, insertRowBinary, migrate } from '@pullwatch/clickhouse';
import { LocalEngines, loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { makeEvents, newSeries } from './ingest.ts';
import { cpuSeconds } from './support.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

const SLICE = 2000;

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const engines = loadEnginesConfig();
  if (engines.mode !== 'local') return { name: 'ClickHouse CPU per table', figures: [], notes: ['local engines only'] };
  const pid = (await new LocalEngines(engines).status()).clickhouse.pid;
  const ch = createClickHouse({ ...resolveEndpoints(engines).clickhouse, requestTimeoutMs: 600_000 });
  const n = Math.min(ctx.scale.events, 100_000);
  const database = `bench_tables_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  try {
    await migrate(ch, { database, ttlDays: 90 });
    await ch.command({ query: `CREATE TABLE ${database}.pull_events_bare AS ${database}.pull_events` });
    // The analyzer's own rows for the mix, one slice per insert.
    const state = new AnalyzerState();
    const messages: ConsumedMessage[] = makeEvents(n, Math.min(ctx.scale.clusters, 50), newSeries()).map(
      (ev, offset) => {
        const o = eventEnvelope({ cluster: ev.cluster, source: 'http', event: K8sEventSchema.parse(ev.event) });
        return {
          topic: 'bench',
          partition: 0,
          offset,
          key: o.key,
          value: Buffer.from(JSON.stringify(o.envelope)),
          headers: {},
        };
      },
    );
    const slices: ReturnType<typeof processSlice>['rows'][] = [];
    for (let i = 0; i < n; i += SLICE)
      slices.push(processSlice(messages.slice(i, i + SLICE), -1, 0, state, { stuckAfterMs: 600_000 }).rows);
    const states: PodStateRow[][] = slices.map((s) => s.states);
    ctx.log(`${n} events → ${slices.length} slices of rows`);

    const measure = async (name: string, insert: (i: number) => Promise<void>) => {
      const cpu0 = cpuSeconds(pid);
      const t0 = Date.now();
      for (let i = 0; i < slices.length; i++) await insert(i);
      const us = ((cpuSeconds(pid) - cpu0) * 1e6) / n;
      ctx.log(`${name}: ${us.toFixed(1)} µs of ClickHouse CPU per event, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return us;
    };
    const settings = { async_insert: 0 } as const;
    const bare = await measure('pull_events alone', (i) =>
      insertRowBinary(ch, {
        table: `${database}.pull_events_bare`,
        format: PULL_EVENT_FORMAT,
        blocks: [slices[i]!.pulls],
        clickhouse_settings: settings,
      }),
    );
    const shipped = await measure('pull_events with its views', (i) =>
      insertRowBinary(ch, {
        table: `${database}.pull_events`,
        format: PULL_EVENT_FORMAT,
        blocks: [slices[i]!.pulls],
        clickhouse_settings: settings,
      }),
    );
    const raw = await measure('raw_events', (i) =>
      insertRowBinary(ch, {
        table: `${database}.raw_events`,
        format: RAW_EVENT_FORMAT,
        blocks: [slices[i]!.raws],
        clickhouse_settings: settings,
      }),
    );
    const pods = await measure('pod_pull_state', (i) =>
      insertRowBinary(ch, {
        table: `${database}.pod_pull_state`,
        format: POD_STATE_FORMAT,
        rows: states[i]!,
        clickhouse_settings: settings,
      }),
    );
    // Each view's share: the same rows into pull_events again (plain inserts), first with the hourly view as it
    // was before 0011 added the namespace, the provider and a Pods state for reports, then with the views
    // dropped one at a time, the most recent first.
    await ch.command({
      query: `ALTER TABLE ${database}.pull_stats_1h_mv MODIFY QUERY
        SELECT toStartOfHour(event_time) AS hour, registry, cluster, if(outcome = 'failure', cause, '') AS cause,
               sumIf(toUInt64(occurrences), outcome = 'failure') AS failures,
               sumIf(toUInt64(occurrences), outcome = 'success') AS successes
        FROM ${database}.pull_events WHERE outcome IN ('failure', 'success') AND occurrences > 0
        GROUP BY hour, registry, cluster, cause`,
    });
    const before0011 = await measure('pull_events with the hourly view as before 0011', (i) =>
      insertRowBinary(ch, {
        table: `${database}.pull_events`,
        format: PULL_EVENT_FORMAT,
        blocks: [slices[i]!.pulls],
        clickhouse_settings: settings,
      }),
    );
    const views = ['pull_stats_1h_mv', 'pull_stats_1m_mv', 'pull_successes_mv', 'pull_failures_mv'];
    const withViews: number[] = [before0011];
    for (const view of views) {
      await ch.command({ query: `DROP TABLE ${database}.${view}` });
      withViews.push(
        await measure(`pull_events without ${views.slice(0, withViews.length).join(', ')}`, (i) =>
          insertRowBinary(ch, {
            table: `${database}.pull_events`,
            format: PULL_EVENT_FORMAT,
            blocks: [slices[i]!.pulls],
            clickhouse_settings: settings,
          }),
        ),
      );
    }
    const us = (v: number) => Math.round(v * 10) / 10;
    const viewCosts: BenchFigure[] = [
      {
        metric:
          'ClickHouse CPU per event: pull_events with its views as shipped (0011: hourly namespaces, providers, Pods)',
        value: us(shipped),
        unit: 'µs',
        baseline: { name: 'the same with the hourly view as before 0011', value: us(before0011) },
        ratio: shipped / before0011,
      },
    ];
    viewCosts.push(
      ...views.map((view, i) => ({
        metric: `ClickHouse CPU per event: ${view} (pull_events with it minus without it)`,
        value: us(withViews[i]! - withViews[i + 1]!),
        unit: 'µs',
      })),
    );
    const figures: BenchFigure[] = [
      {
        metric: 'ClickHouse CPU per event: pull_events with its 4 materialized views and the failures projection',
        value: us(shipped),
        unit: 'µs',
        baseline: { name: 'the same rows into a bare copy of pull_events', value: us(bare) },
        ratio: shipped / bare,
      },
      { metric: 'ClickHouse CPU per event: raw_events (the envelope as received)', value: us(raw), unit: 'µs' },
      { metric: 'ClickHouse CPU per event: pod_pull_state', value: us(pods), unit: 'µs' },
      { metric: 'ClickHouse CPU per event: all the analyzer writes', value: us(shipped + raw + pods), unit: 'µs' },
      ...viewCosts,
    ];
    return {
      name: 'ClickHouse CPU per table',
      figures,
      notes: [
        `${n} events of the end-to-end mix made into rows by the analyzer's own stages, inserted one slice of ${SLICE} per insert (RowBinary, synchronous), one table after the other; CPU time of the ClickHouse process over each table's inserts (includes its merges in that time).`,
        "Each view's cost: the rows inserted into pull_events again, first with the hourly view as it was before 0011, then after dropping the views one at a time (pull_stats_1h_mv first, in its pre-0011 form); pull_failures_mv includes the failures table's by_time projection (0010). One pass each: ±2 µs between runs.",
      ],
    };
  } finally {
    await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await ch.close();
  }
}
