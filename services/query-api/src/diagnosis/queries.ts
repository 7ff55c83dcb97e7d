import { QUOTA_COUNTED_CAUSES, QUOTA_UNCOUNTED_SUBCAUSES } from '@pullwatch/classifier';
import type { ClickHouseClient, FleetTables } from '@pullwatch/clickhouse';
import type { FleetPull } from '../core/did-you-mean.ts';
import {
  type AccountUsage,
  type EgressSettings,
  type NodeUsage,
  type PullUsage,
  splitUsage,
  windowsOf,
} from '../core/quota.ts';
import { chTime } from '../params.ts';
import { readRows } from '../read.ts';
import type { Pair } from '../core/teams.ts';
import { TEAM_PAIRS_SQL, teamIncidentsSql, teamPairsParam } from '../teams/sql.ts';

type Params = Record<string, unknown>;
const n = (v: unknown) => Number(v ?? 0);

/**
 * The account of Docker Hub's per-account refusal: `pull rate limit as 'ID'` (Docker IDs are short; the bound
 * keeps a hostile message from naming a bucket of any length). re2 syntax, the first group is the account.
 */
export const ACCOUNT_RE = "pull rate limit as '([^'\\s]{1,256})'";

/** How far back "pulled successfully anywhere in the fleet" looks. */
export const FLEET_PULLS_DAYS = 30;

export type RecoveryGroupBy = 'cause' | 'registry' | 'cluster';

export interface RecoveryQuery {
  groupBy: RecoveryGroupBy;
  from: Date;
  to: Date;
  cluster?: string | undefined;
  /** A team filter's (cluster, namespace) pairs (core/teams.ts); undefined, no filter. */
  teamPairs?: readonly Pair[] | undefined;
}

export interface RecoveryStats {
  key: string;
  count: number;
  p50: number | null;
  p90: number | null;
  max: number | null;
}

/** The ClickHouse reads behind "did you mean", the Docker Hub quota and recovery times. Read-only, parameterised. */
export class DiagnosisQueries {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly t: FleetTables,
  ) {}

  private rows<T>(query: string, params: Params): Promise<T[]> {
    return readRows<T>(this.ch, query, params);
  }

  /** Repositories and tags pulled successfully in the last 30 days on these registries. */
  async fleetPulls(registries: string[], now: Date): Promise<FleetPull[]> {
    if (!registries.length) return [];
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT registry, repository, tag, any(image) AS image, sum(occurrences) AS pulls,
              sumIf(occurrences, has_pull_secrets = 1) AS withSecrets,
              sumIf(occurrences, has_pull_secrets = 0) AS withoutSecrets
       FROM ${this.t.read('pull_successes')}
       WHERE registry IN {registries:Array(String)} AND event_time >= {from:DateTime64(3)}
         AND event_time <= {now:DateTime64(3)} AND repository != ''
       GROUP BY registry, repository, tag ORDER BY pulls DESC LIMIT 20000`,
      {
        registries,
        from: chTime(new Date(now.getTime() - FLEET_PULLS_DAYS * 86_400_000)),
        now: chTime(now),
      },
    );
    return rows.map((r) => ({
      registry: String(r.registry),
      repository: String(r.repository),
      tag: String(r.tag),
      image: String(r.image),
      pulls: n(r.pulls),
      withSecrets: n(r.withSecrets),
      withoutSecrets: n(r.withoutSecrets),
    }));
  }

  /** Docker Hub activity per egress node (accounts' pulls left out): see dockerHubActivity. */
  async dockerHubUsage(settings: EgressSettings, now: Date): Promise<NodeUsage[]> {
    return (await this.dockerHubActivity(settings, now)).nodes;
  }

  /**
   * Docker Hub activity over each window the settings use, split into egress nodes and accounts
   * (core/quota.ts splitUsage): counted pulls (successful pulls, plus QUOTA_COUNTED_CAUSES), the last hour's,
   * and 429 refusals. Nodes with only "already present" starts are listed with zero: they share the egress
   * but cost nothing.
   */
  async dockerHubActivity(
    settings: EgressSettings,
    now: Date,
  ): Promise<{ nodes: NodeUsage[]; accounts: AccountUsage[] }> {
    return splitUsage(settings, await this.dockerHubPullUsage(settings, now));
  }

  /**
   * The usage rows behind dockerHubActivity, per cluster and node — and per namespace and pull secrets only
   * when accounts need them (they multiply the rows) — and per account a 429 names. Docker Hub names the
   * account in its per-account refusal (`… pull rate limit as 'ID': dckr_jti_<redacted> …`): read from the
   * stored message here, for the few 429 rows, rather than stored twice.
   */
  async dockerHubPullUsage(settings: EgressSettings, now: Date): Promise<PullUsage[]> {
    const windows = windowsOf(settings);
    const longest = Math.max(3_600_000, ...windows.map((w) => w.ms));
    const accounts = settings.accounts ?? [];
    const byNamespace = accounts.some((a) => a.namespaces.length > 0);
    const bySecrets = accounts.some((a) => a.pulls === 'pull-secrets');
    const params: Params = {
      now: chTime(now),
      from: chTime(new Date(now.getTime() - longest)),
      hour: chTime(new Date(now.getTime() - 3_600_000)),
      counted: QUOTA_COUNTED_CAUSES,
      uncounted: QUOTA_UNCOUNTED_SUBCAUSES,
      accountRe: ACCOUNT_RE,
    };
    windows.forEach((w, i) => {
      params[`w${i}`] = chTime(new Date(now.getTime() - w.ms));
    });
    const countedRow =
      `(outcome = 'success' OR (outcome = 'failure' AND cause IN {counted:Array(String)} ` +
      `AND subcause NOT IN {uncounted:Array(String)}))`;
    const limitedRow = `outcome = 'failure' AND cause = 'rate_limited'`;
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT cluster, node, ${byNamespace ? 'namespace' : "''"} AS ns,
              ${bySecrets ? 'has_pull_secrets = 1' : '0'} AS secrets,
              if(${limitedRow}, extract(message, {accountRe:String}), '') AS account,
              ${windows
                .map((_, i) => `sumIf(occurrences, ${countedRow} AND event_time > {w${i}:DateTime64(3)}) AS used${i}`)
                .join(', ')},
              ${windows
                .map(
                  (_, i) => `sumIf(occurrences, ${limitedRow} AND event_time > {w${i}:DateTime64(3)}) AS limited${i}`,
                )
                .join(', ')},
              sumIf(occurrences, ${countedRow} AND event_time > {hour:DateTime64(3)}) AS lastHour,
              toUnixTimestamp64Milli(maxIf(event_time, ${limitedRow})) AS lastLimited,
              countIf(${limitedRow}) AS limitedRows
       FROM ${this.t.read('pull_events')}
       WHERE registry = 'docker.io' AND outcome IN ('success', 'failure', 'present')
         AND event_time > {from:DateTime64(3)} AND event_time <= {now:DateTime64(3)}
       GROUP BY cluster, node, ns, secrets, account ORDER BY cluster, node, ns, secrets, account LIMIT 100000`,
      params,
    );
    return rows.map((r) => ({
      cluster: String(r.cluster),
      node: String(r.node),
      namespace: String(r.ns),
      withPullSecrets: n(r.secrets) === 1,
      account: String(r.account),
      used: new Map(windows.map((w, i) => [w.ms, n(r[`used${i}`])])),
      lastHour: n(r.lastHour),
      rateLimited: new Map(windows.map((w, i) => [w.ms, n(r[`limited${i}`])])),
      lastRateLimited: n(r.limitedRows) > 0 ? n(r.lastLimited) : null,
    }));
  }

  /** Docker Hub 429s in the fleet between `from` and `to`: how many, and the last one's time. */
  async dockerHubRefusals(from: Date, to: Date): Promise<{ count: number; last: string | null }> {
    const [r] = await this.rows<Record<string, unknown>>(
      `SELECT sum(occurrences) AS count, toUnixTimestamp64Milli(max(event_time)) AS last, count() AS rows
       FROM ${this.t.read('pull_events')}
       WHERE registry = 'docker.io' AND outcome = 'failure' AND cause = 'rate_limited'
         AND event_time > {from:DateTime64(3)} AND event_time <= {to:DateTime64(3)}`,
      { from: chTime(from), to: chTime(to) },
    );
    const rows = n(r?.rows);
    return {
      count: n(r?.count),
      last: rows ? new Date(n(r!.last)).toISOString() : null,
    };
  }

  /**
   * Time to recover per Pod (first failure → a successful pull or a start), for Pods that recovered
   * in the window, and Pods still failing (a failure in the last 15 minutes), per group.
   */
  async recovery(q: RecoveryQuery, now: Date) {
    const params: Params = {
      from: chTime(q.from),
      to: chTime(q.to),
      recent: chTime(new Date(now.getTime() - 15 * 60_000)),
      ...(q.cluster ? { cluster: q.cluster } : {}),
      ...(q.teamPairs ? { teamPairs: teamPairsParam(q.teamPairs) } : {}),
    };
    const clusterFilter =
      (q.cluster ? ' AND cluster = {cluster:String}' : '') + (q.teamPairs ? ` AND ${TEAM_PAIRS_SQL}` : '');
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT ${q.groupBy} AS key,
              countIf(status = 'recovered'
                AND recovered_at >= {from:DateTime64(3)} AND recovered_at < {to:DateTime64(3)}) AS count,
              quantilesExactInclusiveIf(0.5, 0.9)(
                time_to_recover_ms / 1000,
                status = 'recovered'
                  AND recovered_at >= {from:DateTime64(3)} AND recovered_at < {to:DateTime64(3)}) AS q,
              maxIf(
                time_to_recover_ms / 1000,
                status = 'recovered'
                  AND recovered_at >= {from:DateTime64(3)} AND recovered_at < {to:DateTime64(3)}) AS max,
              countIf(status IN ('failing', 'stuck') AND last_failure >= {recent:DateTime64(3)}) AS stillStuck
       FROM ${this.t.read('pod_pull_state')} FINAL
       WHERE ((status = 'recovered' AND recovered_at >= {from:DateTime64(3)} AND recovered_at < {to:DateTime64(3)})
           OR (status IN ('failing', 'stuck') AND last_failure >= {recent:DateTime64(3)}))${clusterFilter}
       GROUP BY key ORDER BY count + stillStuck DESC, key LIMIT 1000`,
      params,
    );
    const groups = rows.map((r) => {
      const count = n(r.count);
      const qs = (r.q as (number | null)[] | null) ?? [];
      return {
        [q.groupBy]: String(r.key),
        count,
        p50: count ? round(n(qs[0])) : null,
        p90: count ? round(n(qs[1])) : null,
        max: count ? round(n(r.max)) : null,
        stillStuck: n(r.stillStuck),
      };
    });
    return { groups, incidents: await this.incidentDurations(q) };
  }

  /** Durations of incidents that ended in the window (start → end), and how many are still open. */
  private async incidentDurations(q: RecoveryQuery) {
    const key = q.groupBy === 'cluster' ? 'arrayJoin(clusters)' : q.groupBy;
    const params: Params = {
      from: chTime(q.from),
      to: chTime(q.to),
      ...(q.cluster ? { cluster: q.cluster } : {}),
      ...(q.teamPairs ? { teamPairs: teamPairsParam(q.teamPairs) } : {}),
    };
    const team = q.teamPairs ? ` AND ${teamIncidentsSql(this.t.read('pull_failures'))}` : '';
    const ended = `status = 'resolved' AND end >= {from:DateTime64(3)} AND end < {to:DateTime64(3)}`;
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT key, countIf(${ended}) AS count,
              quantilesExactInclusiveIf(0.5, 0.9)(seconds, ${ended}) AS q, maxIf(seconds, ${ended}) AS max,
              countIf(status = 'open') AS open
       FROM (SELECT ${key} AS key, status, end, dateDiff('millisecond', start, coalesce(end, start)) / 1000 AS seconds
             FROM ${this.t.read('incidents')} FINAL
             WHERE ((${ended}) OR (status = 'open' AND last_seen >= {from:DateTime64(3)}))${
               q.cluster ? ' AND has(clusters, {cluster:String})' : ''
             }${team})
       ${q.groupBy === 'cluster' && q.cluster ? 'WHERE key = {cluster:String}' : ''}
       GROUP BY key ORDER BY count + open DESC, key LIMIT 1000`,
      params,
    );
    return rows.map((r) => {
      const count = n(r.count);
      const qs = (r.q as (number | null)[] | null) ?? [];
      return {
        [q.groupBy]: String(r.key),
        count,
        p50: count ? round(n(qs[0])) : null,
        p90: count ? round(n(qs[1])) : null,
        max: count ? round(n(r.max)) : null,
        open: n(r.open),
      };
    });
  }
}

const round = (s: number) => Math.round(s * 1000) / 1000;
