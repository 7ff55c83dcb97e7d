import type { ClickHouseClient, FleetTables } from '@pullwatch/clickhouse';
import { chTime } from './params.ts';
import { readRows } from './read.ts';

const HOUR = 3_600_000;
const sec = (ms: number) => chTime(new Date(ms)).slice(0, 19);

/**
 * From when pull_stats_1h holds namespaces, providers and failing Pods (migration 0011), epoch ms; fixed
 * once migrated, so read once. Null on a database not yet migrated to 0011: minutes only.
 */
export class HourlyPodsSince {
  private since: Promise<number | null> | null = null;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly t: FleetTables,
  ) {}

  get(): Promise<number | null> {
    this.since ??= this.read().catch((err: unknown) => {
      this.since = null; // a failed read is asked again next time
      throw err;
    });
    return this.since;
  }

  private async read(): Promise<number | null> {
    const exists = await readRows<{ n: number | string }>(
      this.ch,
      'SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}',
      { db: this.t.database, t: 'pull_stats_1h_pods_since' },
    );
    if (!Number(exists[0]?.n)) return null;
    // On a cluster each shard recorded its own; the hourly table is complete everywhere from the latest.
    const from = this.t.cluster
      ? `cluster('${this.t.cluster}', ${this.t.database}, pull_stats_1h_pods_since)`
      : this.t.local('pull_stats_1h_pods_since');
    const [row] = await readRows<{ since: number | string }>(
      this.ch,
      `SELECT toUnixTimestamp(max(since)) * 1000 AS since FROM ${from}`,
      {},
    );
    return Number(row?.since ?? 0);
  }
}

/**
 * The per-group counts of [from, to) (second resolution) as rows of registry, provider, cluster, namespace,
 * cause, failures, successes and pods (the uniqCombined state of failing and succeeding Pods): whole hours
 * from pull_stats_1h where it holds them all (`since`, see HourlyPodsSince), the minutes around them from
 * pull_stats_1m. The same sums and the same Pods as the minutes alone (a union of uniqCombined states counts
 * what one state of all of them counts); a month reads about a sixtieth of the rows.
 *
 * `where` is ANDed into both reads (columns of both tables, parameters of the caller); the parameters
 * returned are `statsFrom`, `statsTo` and, with hours, `statsHourFrom`, `statsHourTo`.
 */
export function statsSource(
  t: FleetTables,
  since: number | null,
  w: { from: Date; to: Date },
  where = '',
): { sql: string; params: Record<string, string> } {
  const cols = 'registry, provider, cluster, namespace, cause, failures, successes, pods';
  const and = where ? ` AND ${where}` : '';
  const from = w.from.getTime();
  const to = w.to.getTime();
  const hourFrom = since === null ? 0 : Math.max(Math.ceil(from / HOUR) * HOUR, Math.ceil(since / HOUR) * HOUR);
  const hourTo = Math.floor(to / HOUR) * HOUR;
  const params: Record<string, string> = { statsFrom: sec(from), statsTo: sec(to) };
  if (since === null || hourFrom >= hourTo)
    return {
      sql:
        `SELECT ${cols} FROM ${t.read('pull_stats_1m')} ` +
        `WHERE minute >= {statsFrom:DateTime} AND minute < {statsTo:DateTime}${and}`,
      params,
    };
  Object.assign(params, { statsHourFrom: sec(hourFrom), statsHourTo: sec(hourTo) });
  return {
    sql:
      `SELECT ${cols} FROM ${t.read('pull_stats_1h')} ` +
      `WHERE hour >= {statsHourFrom:DateTime} AND hour < {statsHourTo:DateTime}${and}
       UNION ALL
       SELECT ${cols} FROM ${t.read('pull_stats_1m')} ` +
      `WHERE ((minute >= {statsFrom:DateTime} AND minute < {statsHourFrom:DateTime}) OR ` +
      `(minute >= {statsHourTo:DateTime} AND minute < {statsTo:DateTime}))${and}`,
    params,
  };
}
