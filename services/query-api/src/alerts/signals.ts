import { type ClickHouseClient, type FleetTables, queryRows } from '@pullwatch/clickhouse';
import { RATE_LIMITED } from '../causes.ts';
import { type EgressSettings, quotaByAccount, quotaByEgress } from '../core/quota.ts';
import { DEFAULT_EGRESS } from '../diagnosis/egress-config.ts';
import { DiagnosisQueries } from '../diagnosis/queries.ts';
import type { Rule } from './rules.ts';
import type { Signals } from './evaluate.ts';

const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Reads, read-only and parameterised, what the alert rules need at time `now`. */
export async function readSignals(
  ch: ClickHouseClient,
  t: FleetTables,
  rules: Rule[],
  now: number,
  egress: EgressSettings = DEFAULT_EGRESS,
): Promise<Signals> {
  const rows = <T>(query: string, params: Record<string, unknown>) =>
    queryRows<T>(ch, { query, query_params: params, clickhouse_settings: { readonly: '1' } });
  const s: Signals = { registryWindow: new Map(), rateLimit: new Map(), openFleetIncidents: [], stuckPods: new Map() };
  for (const r of rules) {
    if (r.kind === 'registry_failure_rate' && !s.registryWindow.has(r.window)) {
      const got = await rows<{ registry: string; failures: number; successes: number }>(
        `SELECT registry, sum(failures) AS failures, sum(successes) AS successes ` +
          `FROM ${t.read('pull_stats_1m')} WHERE minute >= {from:DateTime} AND minute <= {now:DateTime} GROUP ` +
          `BY registry`,
        { from: chTime(now - r.window).slice(0, 19), now: chTime(now).slice(0, 19) },
      );
      s.registryWindow.set(
        r.window,
        got.map((g) => ({ registry: g.registry, failures: Number(g.failures), successes: Number(g.successes) })),
      );
    } else if (r.kind === 'rate_limit_rising') {
      const got = await rows<{ registry: string; recent: number; before: number }>(
        `SELECT registry, sumIf(failures, minute >= {recentFrom:DateTime}) AS recent,
           sumIf(failures, minute < {recentFrom:DateTime}) AS before
         FROM ${t.read('pull_stats_1m')} WHERE cause = {rateLimited:String} AND minute >= {baseFrom:DateTime}
           AND minute <= {now:DateTime} GROUP BY registry`,
        {
          recentFrom: chTime(now - r.window).slice(0, 19),
          baseFrom: chTime(now - r.window - r.baseline).slice(0, 19),
          now: chTime(now).slice(0, 19),
          rateLimited: RATE_LIMITED,
        },
      );
      s.rateLimit.set(
        r.name,
        got.map((g) => ({
          registry: g.registry,
          recent: Number(g.recent),
          baselinePerWindow: (Number(g.before) * r.window) / r.baseline,
        })),
      );
    } else if (r.kind === 'fleet_incident' && !s.openFleetIncidents.length) {
      s.openFleetIncidents = await rows(
        `SELECT id, registry, cause, clusters FROM ${t.read('incidents')} FINAL WHERE scope = 'fleet' AND ` +
          `status = 'open' ORDER BY id`,
        {},
      );
    } else if (r.kind === 'stuck_pods' && !s.stuckPods.has(r.stuckFor)) {
      const [got] = await rows<{ n: number }>(
        `SELECT count() AS n FROM ${t.read('pod_pull_state')} FINAL WHERE status IN ('failing', 'stuck') AND ` +
          `first_failure <= {before:DateTime64(3)} AND last_failure >= {recent:DateTime64(3)}`,
        { before: chTime(now - r.stuckFor), recent: chTime(now - 15 * 60_000) },
      );
      s.stuckPods.set(r.stuckFor, Number(got?.n ?? 0));
    } else if (r.kind === 'dockerhub_quota' && !s.dockerHubQuota) {
      const usage = await new DiagnosisQueries(ch, t).dockerHubActivity(egress, new Date(now));
      s.dockerHubQuota = {
        now,
        egresses: quotaByEgress(egress, usage.nodes, now),
        accounts: quotaByAccount(egress, usage.accounts, now),
      };
    }
  }
  return s;
}
