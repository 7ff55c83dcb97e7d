import { bucketStart, INTERVAL_SECONDS } from '../core/trend-buckets.ts';
import type { Pair } from '../core/teams.ts';
import { chTime, ParamError } from '../params.ts';
import { FleetReader, n } from '../read.ts';
import { Where } from '../where.ts';

/**
 * The reads behind GET /v1/trends: whole hours from pull_stats_1h where it is complete, minutes from
 * pull_stats_1m around them.
 */
export class TrendQueries extends FleetReader {
  private since: number | null = null;

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
}
