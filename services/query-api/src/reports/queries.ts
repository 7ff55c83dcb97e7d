import type { ClickHouseClient, FleetTables } from '@pullwatch/clickhouse';
import {
  type BaseColumn,
  baseColumns,
  type Dimension,
  type Group,
  GroupSet,
  keyOf,
  type TeamOf,
} from '../core/report.ts';
import { chTime } from '../params.ts';
import { readRows } from '../read.ts';
import { HourlyPodsSince, statsSource } from '../stats-source.ts';

/** A report with more groups than the API holds for one answer (PULLWATCH_REPORT_MAX_GROUPS): 422. */
export class ReportTooLargeError extends Error {
  constructor(readonly maxGroups: number) {
    super(
      `the report has more than ${maxGroups} groups (PULLWATCH_REPORT_MAX_GROUPS); narrow the window or group by ` +
        'fewer keys',
    );
  }
}

/** Where a report's teams come from (teams/resolver.ts: the mapping file, else the stored labels). */
export interface TeamLookup {
  lookup(w: { from: Date; to: Date }): Promise<TeamOf>;
}
const NO_TEAM: TeamOf = () => null;

type Params = Record<string, unknown>;
type Cols = Partial<Record<BaseColumn, string>>;
const n = (v: unknown) => Number(v ?? 0);

export interface ReportFilters {
  cluster?: string | undefined;
  namespace?: string | undefined;
  team?: string | undefined;
  registry?: string | undefined;
}

/** Dimensions the per-minute aggregate answers; workload and image need the Pod and image of each row. */
const AGGREGATE_COLUMNS: readonly BaseColumn[] = ['cluster', 'namespace', 'registry', 'cause'];
/** Incidents name registries, causes, clusters and images, never namespaces or Pods. */
const INCIDENT_DIMS: readonly Dimension[] = ['cluster', 'registry', 'cause', 'image'];

const MINUTE = 60_000;

/**
 * The reads behind GET /v1/reports/failures. Each read returns one row per group of the stored columns
 * the grouping needs (per Pod when grouped by workload, per namespace by team), bounded by maxGroups. Failures and successes are counted as /v1/registries
 * counts them: `sum(failures)`, `sum(successes)` of pull_stats_1m rows whose minute is in
 * [from, to) (seconds), failing Pods by `uniqCombinedMergeIf(pods, cause != '')`. When the grouping
 * needs the Pod or the image, the same numbers come from pull_failures and pull_successes (the same
 * rows the views count) over the same minutes.
 */
export class ReportQueries {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly t: FleetTables,
    private readonly teams: TeamLookup,
    /** At most this many rows per grouped read (PULLWATCH_REPORT_MAX_GROUPS), else ReportTooLargeError. */
    private readonly maxGroups: number,
  ) {
    this.hourlySince = new HourlyPodsSince(ch, t);
  }

  private readonly hourlySince: HourlyPodsSince;

  /**
   * The rows of a grouped read, at most maxGroups of them: ClickHouse stops at maxGroups + 1 (LIMIT),
   * so a report never holds more than that in memory, and one row more means too large.
   */
  private async rows<T>(query: string, params: Params): Promise<T[]> {
    const rows = await readRows<T>(this.ch, `${query}\n       LIMIT {report_max_rows:UInt64}`, {
      ...params,
      report_max_rows: this.maxGroups + 1,
    });
    if (rows.length > this.maxGroups) throw new ReportTooLargeError(this.maxGroups);
    return rows;
  }

  /** Every group of the report (unsorted), and the totals over the same rows. */
  async failures(q: { from: Date; to: Date; groupBy: Dimension[] } & ReportFilters): Promise<{
    groups: Group[];
    totals: Omit<Group, 'key'>;
  }> {
    // One query at a time: a report holds one slot of the report pool, and so one ClickHouse query.
    const teamOf = q.team !== undefined || q.groupBy.includes('team') ? await this.teams.lookup(q) : NO_TEAM;
    const groups = await this.groups(q, q.groupBy, teamOf);
    const totals = await this.groups(q, [], teamOf);
    const { key: _k, ...t } = totals[0] ?? {
      key: {},
      failures: 0,
      successes: 0,
      failureRate: 0,
      pods: 0,
      stuckPodHours: 0,
      incidents: incidentsKnown(q, []) ? 0 : null,
      medianRecoverySeconds: null,
    };
    return { groups, totals: t };
  }

  private async groups(
    q: { from: Date; to: Date } & ReportFilters,
    dims: Dimension[],
    teamOf: TeamOf,
  ): Promise<Group[]> {
    const cols = baseColumns(dims, q.team !== undefined);
    const cause = dims.includes('cause');
    const set = new GroupSet(incidentsKnown(q, dims));
    const counts = await this.counts(q, cols);
    const state = await this.podState(q, cols);
    const incidents = incidentsKnown(q, dims) ? await this.incidents(q, cols) : [];
    // With cause in the key, successes (cause '') belong to no cause: each cause group gets the
    // successes of its other dimensions, as /v1/registries?cause= counts them.
    const successes = new Map<string, number>();
    const otherDims = dims.filter((d) => d !== 'cause');
    for (const r of counts) {
      const key = keyOf(r, dims, teamOf, q.team);
      if (!key) continue;
      if (cause && r.cause === '') {
        const k = JSON.stringify(keyOf(r, otherDims, teamOf));
        successes.set(k, (successes.get(k) ?? 0) + n(r.successes));
      } else set.addCounts(key, n(r.failures), cause ? 0 : n(r.successes), n(r.pods));
    }
    if (cause)
      for (const g of set.list()) {
        const { cause: _c, ...rest } = g.key;
        set.addCounts(g.key, 0, successes.get(JSON.stringify(rest)) ?? 0, 0);
      }
    for (const r of state) {
      const key = keyOf(r, dims, teamOf, q.team);
      if (key) set.addState(key, n(r.stuckHours), (r.recoveries ?? []).map(Number));
    }
    for (const r of incidents) {
      const key = keyOf(r, dims, teamOf);
      if (key) set.addIncidents(key, n(r.incidents));
    }
    // Like /v1/registries: only groups with pulls in the window.
    return set.list().filter((g) => g.failures + g.successes > 0);
  }

  /** Failures, successes and failing Pods per base-column group. */
  private async counts(q: { from: Date; to: Date } & ReportFilters, cols: BaseColumn[]) {
    const filters = filterSql(q, { cluster: 'cluster', namespace: 'namespace', registry: 'registry' });
    const select = cols.join(', ');
    const groupBy = cols.length ? `GROUP BY ${select}` : '';
    if (cols.every((c) => AGGREGATE_COLUMNS.includes(c))) {
      // Whole hours from the hourly table: a month is about 720 rows per group instead of 43,200.
      const source = statsSource(this.t, await this.hourlySince.get(), q, filters.sql.replace(/^ AND /, ''));
      return this.rows<Cols & { failures: number; successes: number; pods: number }>(
        `SELECT ${select}${cols.length ? ',' : ''} sum(failures) AS failures, sum(successes) AS successes,
                uniqCombinedMergeIf(pods, cause != '') AS pods
         FROM (${source.sql}) ${groupBy}`,
        { ...filters.params, ...source.params },
      );
    }
    // A row's minute is in [from, to) exactly when its time is in [from, to) rounded up to minutes.
    const ceil = (d: Date) => new Date(Math.ceil((Math.floor(d.getTime() / 1000) * 1000) / MINUTE) * MINUTE);
    const time = 'event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}';
    const successCols = cols.map((c) => (c === 'cause' ? "'' AS cause" : c)).join(', ');
    return this.rows<Cols & { failures: number; successes: number; pods: number }>(
      `SELECT ${select}${cols.length ? ',' : ''} sum(f) AS failures, sum(s) AS successes,
         uniqExactIf(pk, f > 0) AS pods FROM (
         SELECT ${select}${cols.length ? ',' : ''} occurrences AS f, toUInt32(0) AS s,
           concat(cluster, '/', namespace, '/', pod) AS pk
         FROM ${this.t.read('pull_failures')} WHERE ${time}${filters.sql}
         UNION ALL
         SELECT ${successCols}${cols.length ? ',' : ''} toUInt32(0) AS f, occurrences AS s, '' AS pk
         FROM ${this.t.read('pull_successes')} WHERE ${time}${filters.sql}
       ) ${groupBy}`,
      { ...filters.params, from: chTime(ceil(q.from)), to: chTime(ceil(q.to)) },
    );
  }

  /**
   * Stuck Pod hours: each Pod/container/image's failing time (first failure → recovery, or → last
   * failure while it still fails) inside the window; and the recovery times (seconds) of those that
   * recovered in the window.
   */
  private async podState(q: { from: Date; to: Date } & ReportFilters, cols: BaseColumn[]) {
    const filters = filterSql(q, { cluster: 'cluster', namespace: 'namespace', registry: 'registry' });
    const end = 'coalesce(recovered_at, last_failure)';
    return this.rows<Cols & { stuckHours: number; recoveries: number[] }>(
      `SELECT ${cols.join(', ')}${cols.length ? ',' : ''}
              sum(greatest(0,
                toUnixTimestamp64Milli(least(${end}, {to:DateTime64(3)}))
                  - toUnixTimestamp64Milli(greatest(first_failure, {from:DateTime64(3)})))) / 3600000 AS stuckHours,
              groupArrayIf(
                time_to_recover_ms / 1000,
                status = 'recovered'
                  AND recovered_at >= {from:DateTime64(3)} AND recovered_at < {to:DateTime64(3)}) AS recoveries
       FROM ${this.t.read('pod_pull_state')} FINAL
       WHERE first_failure < {to:DateTime64(3)} AND ${end} >= {from:DateTime64(3)}${filters.sql}
       ${cols.length ? `GROUP BY ${cols.join(', ')}` : ''}`,
      { ...filters.params, from: chTime(q.from), to: chTime(q.to) },
    );
  }

  /** Incidents active in the window (as /v1/incidents selects them), per registry, cause, cluster, image. */
  private async incidents(q: { from: Date; to: Date } & ReportFilters, cols: BaseColumn[]) {
    const expr: Partial<Record<BaseColumn, string>> = {
      cluster: 'arrayJoin(clusters) AS cluster',
      image: 'arrayJoin(images) AS image',
      registry: 'registry',
      cause: 'cause',
    };
    const params: Params = { from: chTime(q.from), to: chTime(q.to) };
    let where = 'last_seen >= {from:DateTime64(3)} AND start < {to:DateTime64(3)}';
    if (q.cluster) {
      where += ' AND has(clusters, {cluster:String})';
      params.cluster = q.cluster;
    }
    if (q.registry) {
      where += ' AND registry = {registry:String}';
      params.registry = q.registry;
    }
    const inner = cols.map((c) => expr[c]!).join(', ');
    const outerFilter = q.cluster && cols.includes('cluster') ? 'WHERE cluster = {cluster:String}' : '';
    return this.rows<Cols & { incidents: number }>(
      `SELECT ${cols.join(', ')}${cols.length ? ',' : ''} uniqExact(id) AS incidents
       FROM (SELECT id${inner ? `, ${inner}` : ''} FROM ${this.t.read('incidents')} FINAL WHERE ${where}) ${outerFilter}
       ${cols.length ? `GROUP BY ${cols.join(', ')}` : ''}`,
      params,
    );
  }
}

/** Incidents carry no namespace: grouped or filtered by namespace, team or workload they are null. */
function incidentsKnown(q: ReportFilters, dims: readonly Dimension[]): boolean {
  return q.namespace === undefined && q.team === undefined && dims.every((d) => INCIDENT_DIMS.includes(d));
}

function filterSql(q: ReportFilters, columns: Record<'cluster' | 'namespace' | 'registry', string>) {
  const parts: string[] = [];
  const params: Params = {};
  for (const k of ['cluster', 'namespace', 'registry'] as const) {
    const v = q[k];
    if (v !== undefined) {
      parts.push(`${columns[k]} = {${k}:String}`);
      params[k] = v;
    }
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
}
