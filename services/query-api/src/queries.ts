import type { ClickHouseClient, FleetTables } from '@pullwatch/clickhouse';
import { readRows } from './read.ts';
import { HourlyPodsSince, statsSource } from './stats-source.ts';
import { RATE_LIMITED } from './causes.ts';
import type { z } from 'zod';
import { chTime, encodeFailuresCursor, type Filters, failuresCursor, isoOf, ParamError } from './params.ts';
import type { Pair } from './core/teams.ts';
import { TEAM_PAIRS_SQL, teamIncidentsSql, teamPairsParam } from './teams/sql.ts';

type Params = Record<string, unknown>;

/** Builds WHERE clauses from fixed fragments; values only ever travel as query parameters. */
class Where {
  readonly parts: string[] = [];
  readonly params: Params = {};
  add(fragment: string, name: string, value: unknown): this {
    if (value !== undefined && value !== null) {
      this.parts.push(fragment);
      this.params[name] = value;
    }
    return this;
  }
  raw(fragment: string): this {
    this.parts.push(fragment);
    return this;
  }
  /** A team filter: its (cluster, namespace) pairs (none: nothing matches); undefined, no filter. */
  team(pairs: readonly Pair[] | undefined): this {
    return pairs === undefined ? this : this.add(TEAM_PAIRS_SQL, 'teamPairs', teamPairsParam(pairs));
  }
  sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

const n = (v: unknown) => Number(v ?? 0);

/**
 * The stored workload columns as the API shows them: null without a workload; team '' (unknown) as
 * null. `inferred`: read from the Pod's name rather than its owner references (migration 0006).
 */
export function workloadFields(r: Record<string, unknown>) {
  return {
    workload: r.workload_kind
      ? {
          kind: String(r.workload_kind),
          name: String(r.workload_name ?? ''),
          inferred: r.workload_inferred === true || r.workload_inferred === 1,
        }
      : null,
    team: r.team ? String(r.team) : null,
  };
}

export const INTERVAL_SECONDS = { '1m': 60, '5m': 300, '1h': 3600, '1d': 86400 } as const;

/** Where a trend's first bucket starts (epoch ms): its reads begin there, before `from`. */
export const bucketStart = (from: Date, interval: keyof typeof INTERVAL_SECONDS) =>
  Math.floor(from.getTime() / 1000 / INTERVAL_SECONDS[interval]) * INTERVAL_SECONDS[interval] * 1000;

type FailureFilter = Exclude<keyof z.infer<typeof Filters>, 'team'>;

/**
 * The pull_failures column each /v1/failures filter of the schema (`Filters`) compares: a filter added
 * to the schema does not compile until it is mapped here (`team` goes through the team pairs).
 */
const FAILURE_FILTER_COLUMNS = {
  cluster: 'cluster',
  namespace: 'namespace',
  registry: 'registry',
  cause: 'cause',
  image: 'image',
} as const satisfies Record<FailureFilter, string>;

export class Queries {
  constructor(
    private readonly ch: ClickHouseClient,
    /** Tables to read the whole fleet from (`_all` on a ClickHouse cluster). */
    private readonly t: FleetTables,
  ) {}

  private since: number | null = null;
  private hourlyPods: HourlyPodsSince | null = null;

  /** From when pull_stats_1h holds namespaces and Pods (migration 0011); null: minutes only. */
  private hourlyPodsSince(): Promise<number | null> {
    this.hourlyPods ??= new HourlyPodsSince(this.ch, this.t);
    return this.hourlyPods.get();
  }

  /**
   * From when pull_stats_1h holds every count (epoch ms); fixed once migrated, so read once. Null
   * (minutes only) on a database without it, not yet migrated to 0005.
   */
  private async hourlySince(): Promise<number | null> {
    if (this.since === null) {
      const exists = await this.rows<{ n: number }>(
        'SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}',
        { db: this.t.database, t: 'pull_stats_1h_since' },
      );
      if (!Number(exists[0]?.n)) return null;
      // On a cluster each shard recorded its own; the hourly table is complete everywhere from the latest.
      const from = this.t.cluster
        ? `cluster('${this.t.cluster}', ${this.t.database}, pull_stats_1h_since)`
        : this.t.local('pull_stats_1h_since');
      const [row] = await this.rows<{ since: number | string }>(
        `SELECT toUnixTimestamp(max(since)) * 1000 AS since FROM ${from}`,
        {},
      );
      this.since = Number(row?.since ?? 0);
    }
    return this.since;
  }

  private rows<T>(query: string, params: Params): Promise<T[]> {
    return readRows<T>(this.ch, query, params);
  }

  async registries(q: {
    from: Date;
    to: Date;
    cluster?: string | undefined;
    namespace?: string | undefined;
    cause?: string | undefined;
    teamPairs?: readonly Pair[] | undefined;
  }) {
    const w = new Where()
      .add('cluster = {cluster:String}', 'cluster', q.cluster)
      .add('namespace = {namespace:String}', 'namespace', q.namespace)
      .team(q.teamPairs);
    if (q.cause) w.add("(cause = {cause:String} OR cause = '')", 'cause', q.cause);
    // Whole hours from the hourly table, the minutes around them from the minutes (stats-source.ts).
    const stats = statsSource(this.t, await this.hourlyPodsSince(), q, w.parts.join(' AND '));
    const params = { ...w.params, ...stats.params };
    // Independent reads of the same minutes: at once, not one after the other.
    const [rows, causes] = await Promise.all([
      this.rows<Record<string, unknown>>(
        `SELECT registry, any(provider) AS provider, sum(failures) AS failures, sum(successes) AS successes,
              uniqExactIf(cluster, cause != '') AS clusters, uniqCombinedMergeIf(pods, cause != '') AS pods
       FROM (${stats.sql}) GROUP BY registry ORDER BY failures DESC, registry LIMIT 1000`,
        params,
      ),
      this.rows<{ registry: string; cause: string; failures: number }>(
        `SELECT registry, cause, sum(failures) AS failures FROM (${stats.sql}) WHERE cause != '' GROUP BY registry, cause`,
        params,
      ),
    ]);
    const byCause = new Map<string, Record<string, number>>();
    for (const c of causes) {
      const m = byCause.get(c.registry) ?? {};
      m[c.cause] = n(c.failures);
      byCause.set(c.registry, m);
    }
    return rows
      .filter((r) => n(r.failures) + n(r.successes) > 0)
      .map((r) => {
        const failures = n(r.failures);
        const successes = n(r.successes);
        return {
          registry: String(r.registry),
          provider: String(r.provider),
          failures,
          successes,
          failureRate: failures + successes ? failures / (failures + successes) : 0,
          clusters: n(r.clusters),
          pods: n(r.pods),
          byCause: byCause.get(String(r.registry)) ?? {},
        };
      });
  }

  async hotspots(q: {
    from: Date;
    to: Date;
    groupBy?: string | undefined;
    registry?: string | undefined;
    cluster?: string | undefined;
    teamPairs?: readonly Pair[] | undefined;
  }) {
    const byNode = q.groupBy === 'node';
    const w = new Where()
      .add('cause = {rateLimited:String}', 'rateLimited', RATE_LIMITED)
      .add('event_time >= {from:DateTime64(3)}', 'from', chTime(q.from))
      .add('event_time < {to:DateTime64(3)}', 'to', chTime(q.to))
      .add('registry = {registry:String}', 'registry', q.registry)
      .add('cluster = {cluster:String}', 'cluster', q.cluster)
      .team(q.teamPairs);
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT registry, cluster, ${byNode ? 'node' : "'' AS node"}, sum(occurrences) AS failures, ` +
        `min(first_time) AS firstSeen, max(event_time) AS lastSeen
       FROM ${this.t.read('pull_failures')} ${w.sql()} GROUP BY registry, ` +
        `cluster${byNode ? ', node' : ''} ORDER BY failures DESC, registry, cluster LIMIT 1000`,
      w.params,
    );
    return rows.map((r) => ({
      registry: String(r.registry),
      cluster: String(r.cluster),
      node: byNode ? String(r.node) : null,
      failures: n(r.failures),
      firstSeen: isoOf(String(r.firstSeen)),
      lastSeen: isoOf(String(r.lastSeen)),
    }));
  }

  async incidents(q: { from: Date; to: Date; status: string; teamPairs?: readonly Pair[] | undefined }) {
    const w = new Where()
      .add('last_seen >= {from:DateTime64(3)}', 'from', chTime(q.from))
      .add('start < {to:DateTime64(3)}', 'to', chTime(q.to));
    if (q.status !== 'all') w.add('status = {status:String}', 'status', q.status);
    if (q.teamPairs) w.add(teamIncidentsSql(this.t.read('pull_failures')), 'teamPairs', teamPairsParam(q.teamPairs));
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT id, registry, cause, scope, clusters, images, failures, start, last_seen, end, status ` +
        `FROM ${this.t.read('incidents')} FINAL ${w.sql()} ORDER BY start DESC, id LIMIT 1000`,
      w.params,
    );
    return rows.map((r) => ({
      id: String(r.id),
      registry: String(r.registry),
      cause: String(r.cause),
      scope: String(r.scope),
      clusters: r.clusters as string[],
      images: r.images as string[],
      failures: n(r.failures),
      start: isoOf(String(r.start)),
      lastSeen: isoOf(String(r.last_seen)),
      end: r.end === null ? null : isoOf(String(r.end)),
      status: String(r.status),
    }));
  }

  async trends(q: {
    from: Date;
    to: Date;
    interval: '1m' | '5m' | '1h' | '1d';
    registry?: string | undefined;
    cluster?: string | undefined;
    cause?: string | undefined;
    teamPairs?: readonly Pair[] | undefined;
  }) {
    const seconds = INTERVAL_SECONDS[q.interval];
    const start = bucketStart(q.from, q.interval);
    const buckets = Math.ceil((q.to.getTime() - start) / (seconds * 1000));
    if (buckets > 10_000)
      throw new ParamError(
        'interval',
        `${q.interval} makes ${buckets} buckets over this window; at most 10000 — pick a coarser interval or a ` +
          `shorter window`,
      );
    const filters = new Where()
      .add('registry = {registry:String}', 'registry', q.registry)
      .add('cluster = {cluster:String}', 'cluster', q.cluster)
      .team(q.teamPairs);
    if (q.cause) filters.add("(cause = {cause:String} OR cause = '')", 'cause', q.cause);
    const and = filters.parts.map((p) => ` AND ${p}`).join('');
    const bucket = (column: string) =>
      `toUnixTimestamp(toStartOfInterval(${column}, INTERVAL {seconds:UInt32} SECOND)) AS ts, cause, failures, ` +
      `successes`;
    const sec = (ms: number) => chTime(new Date(ms)).slice(0, 19);
    // Whole hours from the hourly table where it is complete (see migration 0005); minutes around them.
    // The hourly table has no namespace: a team's trend reads minutes only.
    const HOUR = 3_600_000;
    const since = seconds >= 3600 && q.teamPairs === undefined ? await this.hourlySince() : null;
    const hourFrom = since === null ? 0 : Math.max(start, Math.ceil(since / HOUR) * HOUR);
    const hourTo = Math.floor(q.to.getTime() / HOUR) * HOUR;
    const hourly = since !== null && hourFrom < hourTo;
    const params = {
      ...filters.params,
      seconds,
      from: sec(start),
      to: sec(q.to.getTime()),
      ...(hourly ? { hourFrom: sec(hourFrom), hourTo: sec(hourTo) } : {}),
    };
    const sql = hourly
      ? `SELECT ${bucket('hour')} FROM ${this.t.read('pull_stats_1h')} WHERE hour >= {hourFrom:DateTime} AND ` +
        `hour < {hourTo:DateTime}${and}
           UNION ALL
           SELECT ${bucket('minute')} FROM ${this.t.read('pull_stats_1m')}
           WHERE ((minute >= {from:DateTime} AND minute < {hourFrom:DateTime}) OR (minute >= {hourTo:DateTime} ` +
        `AND minute < {to:DateTime}))${and}`
      : `SELECT ${bucket('minute')} FROM ${this.t.read('pull_stats_1m')} WHERE minute >= {from:DateTime} AND ` +
        `minute < {to:DateTime}${and}`;
    const rows = await this.rows<{ ts: number; cause: string; failures: number; successes: number }>(
      `SELECT ts, cause, sum(failures) AS failures, sum(successes) AS successes FROM (${sql}) GROUP BY ts, cause`,
      params,
    );
    const series = Array.from({ length: buckets }, (_, i) => ({
      ts: new Date(start + i * seconds * 1000).toISOString(),
      failures: 0,
      successes: 0,
      byCause: {} as Record<string, number>,
    }));
    for (const r of rows) {
      const b = series[Math.floor((n(r.ts) * 1000 - start) / (seconds * 1000))];
      if (!b) continue;
      b.failures += n(r.failures);
      b.successes += n(r.successes);
      if (r.cause) b.byCause[r.cause] = (b.byCause[r.cause] ?? 0) + n(r.failures);
    }
    return series;
  }

  async failures(
    q: {
      from: Date;
      to: Date;
      limit: number;
      cursor?: string | undefined;
      teamPairs?: readonly Pair[] | undefined;
    } & { [K in FailureFilter]?: string | undefined },
  ) {
    const w = new Where()
      .add('event_time >= {from:DateTime64(3)}', 'from', chTime(q.from))
      .add('event_time < {to:DateTime64(3)}', 'to', chTime(q.to))
      .team(q.teamPairs);
    for (const key of Object.keys(FAILURE_FILTER_COLUMNS) as FailureFilter[])
      w.add(`${FAILURE_FILTER_COLUMNS[key]} = {${key}:String}`, key, q[key]);
    if (q.cursor) {
      const c = failuresCursor(q.cursor);
      if (!c) throw new ParamError('cursor', 'not a cursor this API returned');
      w.parts.push('(event_time, event_uid, event_count) < ({ct:DateTime64(3)}, {cu:String}, {cc:UInt32})');
      Object.assign(w.params, { ct: c.time, cu: c.uid, cc: c.count });
    }
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT event_time, first_time, cluster, namespace, pod, container, node, image, registry, provider, ` +
        `cause, subcause, occurrences, attributed, hint, message, event_uid, event_count,
              workload_kind, workload_name, workload_inferred, team
       FROM ${this.t.read('pull_failures')} ${w.sql()} ORDER BY event_time DESC, event_uid DESC, event_count ` +
        `DESC LIMIT {limit:UInt32}`,
      { ...w.params, limit: q.limit + 1 },
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > q.limit && last
        ? encodeFailuresCursor({
            time: String(last.event_time),
            uid: String(last.event_uid),
            count: n(last.event_count),
          })
        : null;
    return {
      failures: page.map((r) => ({
        time: isoOf(String(r.event_time)),
        firstTime: isoOf(String(r.first_time)),
        cluster: r.cluster,
        namespace: r.namespace,
        pod: r.pod,
        container: r.container,
        node: r.node,
        image: r.image,
        registry: r.registry,
        provider: r.provider,
        cause: r.cause,
        subcause: r.subcause || null,
        occurrences: n(r.occurrences),
        attributed: n(r.attributed) === 1,
        hint: r.hint,
        message: r.message,
        ...workloadFields(r),
      })),
      nextCursor,
    };
  }

  async stuck(
    q: { cluster?: string | undefined; minutes: number; teamPairs?: readonly Pair[] | undefined },
    now: Date,
  ) {
    // Still failing = failed recently: kubelet retries at least every 5 minutes, so a Pod with no failure
    // for 15 minutes has been fixed or deleted (its state row would otherwise stay "stuck" forever).
    const w = new Where()
      .raw("status IN ('failing', 'stuck')")
      .add('first_failure <= {before:DateTime64(3)}', 'before', chTime(new Date(now.getTime() - q.minutes * 60_000)))
      .add('last_failure >= {recent:DateTime64(3)}', 'recent', chTime(new Date(now.getTime() - 15 * 60_000)))
      .add('cluster = {cluster:String}', 'cluster', q.cluster)
      .team(q.teamPairs);
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT * FROM ${this.t.read('pod_pull_state')} FINAL ${w.sql()} ORDER BY first_failure LIMIT 1000`,
      w.params,
    );
    return rows.map((r) => ({
      cluster: r.cluster,
      namespace: r.namespace,
      pod: r.pod,
      container: r.container,
      image: r.image,
      registry: r.registry,
      node: r.node,
      cause: r.cause,
      subcause: r.subcause || null,
      since: isoOf(String(r.first_failure)),
      lastFailure: isoOf(String(r.last_failure)),
      attempts: n(r.attempts),
      backoffSeconds: n(r.backoff_seconds),
      status: r.status,
      hint: r.hint,
      ...workloadFields(r),
    }));
  }

  async risks(q: { from: Date; to: Date; cluster?: string | undefined; teamPairs?: readonly Pair[] | undefined }) {
    const where = () =>
      new Where()
        .add('event_time >= {from:DateTime64(3)}', 'from', chTime(q.from))
        .add('event_time < {to:DateTime64(3)}', 'to', chTime(q.to))
        .add('cluster = {cluster:String}', 'cluster', q.cluster);
    // A registry that rate-limited any Pod in the window (and cluster) counts, whichever team it refused.
    const anyone = where();
    const w = where().team(q.teamPairs);
    // Three independent scans: run them at once.
    const [mutableTags, alwaysVsRateLimited, noSecrets] = await Promise.all([
      this.rows<Record<string, unknown>>(
        `SELECT image, tag_kind, uniqExact(cluster) AS clusters, uniqExact(concat(cluster, '/', namespace, '/', ` +
          `pod)) AS pods
         FROM ${this.t.read('pull_events')} ${w.sql()} AND tag_kind IN ('latest', 'missing') AND outcome IN ` +
          `('success', 'failure', 'present') GROUP BY image, tag_kind ORDER BY pods DESC, image LIMIT 200`,
        w.params,
      ),
      this.rows<Record<string, unknown>>(
        `SELECT image, registry, uniqExact(concat(cluster, '/', namespace, '/', pod)) AS pods
         FROM ${this.t.read('pull_events')} ${w.sql()} AND image_pull_policy = 'Always'
           AND registry ${this.t.cluster ? 'GLOBAL IN' : 'IN'} (SELECT DISTINCT registry ` +
          `FROM ${this.t.read('pull_failures')} ${anyone.sql()} AND cause = {rateLimited:String})
         GROUP BY image, registry ORDER BY pods DESC, image LIMIT 200`,
        { ...w.params, rateLimited: RATE_LIMITED },
      ),
      this.rows<Record<string, unknown>>(
        `SELECT registry, image, has_pull_secrets, sum(occurrences) AS failures, uniqExact(concat(cluster, '/', ` +
          `namespace, '/', pod)) AS pods
         FROM ${this.t.read('pull_failures')} ${w.sql()} AND cause IN ('unauthorized', ` +
          `'not_found_or_unauthorized') AND has_pull_secrets != 1
         GROUP BY registry, image, has_pull_secrets ORDER BY failures DESC, image LIMIT 200`,
        w.params,
      ),
    ]);
    return {
      mutableTags: mutableTags.map((r) => ({
        image: r.image,
        tag: r.tag_kind === 'missing' ? 'none (implicit latest)' : 'latest',
        clusters: n(r.clusters),
        pods: n(r.pods),
      })),
      alwaysPullFromRateLimitedRegistries: alwaysVsRateLimited.map((r) => ({
        image: r.image,
        registry: r.registry,
        pods: n(r.pods),
      })),
      privateWithoutPullSecrets: noSecrets.map((r) => ({
        registry: r.registry,
        image: r.image,
        pullSecrets: n(r.has_pull_secrets) === 0 ? 'none' : 'unknown',
        failures: n(r.failures),
        pods: n(r.pods),
      })),
    };
  }

  async ping(): Promise<boolean> {
    const r = await this.rows<{ ok: number }>('SELECT 1 AS ok', {});
    return n(r[0]?.ok) === 1;
  }
}
