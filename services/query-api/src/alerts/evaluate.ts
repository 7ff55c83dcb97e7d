import { type AccountQuota, type EgressQuota, nearlyExhausted, refusedRecently } from '../core/quota.ts';
import type { Rule } from './rules.ts';

/** What the evaluator reads from ClickHouse each round (see signals.ts). */
export interface Signals {
  /** Per registry, over each rule's window: failures and successes. */
  registryWindow: Map<number, { registry: string; failures: number; successes: number }[]>;
  /** Per registry: rate-limit failures in the window and the per-window average over the baseline. */
  rateLimit: Map<string, { registry: string; recent: number; baselinePerWindow: number }[]>;
  openFleetIncidents: { id: string; registry: string; cause: string; clusters: string[] }[];
  /** Per stuckFor duration: how many Pods are failing for at least that long. */
  stuckPods: Map<number, number>;
  /** Docker Hub quota per egress and per account at `now` (read only when a dockerhub_quota rule exists). */
  dockerHubQuota?: { now: number; egresses: EgressQuota[]; accounts: AccountQuota[] } | undefined;
}

export interface AlertInstance {
  rule: string;
  severity: string;
  labels: Record<string, string>;
  summary: string;
  value: number;
}

export interface AlertState {
  key: string;
  instance: AlertInstance;
  status: 'pending' | 'firing' | 'resolved';
  activeSince: number;
  firedAt: number | null;
  resolvedAt: number | null;
}

export interface Transition {
  kind: 'firing' | 'resolved';
  alert: AlertState;
}

const keyOf = (i: AlertInstance) =>
  `${i.rule}|${Object.entries(i.labels)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`;

/** Which alert instances hold right now, rule by rule. Pure. */
export function activeInstances(rules: Rule[], s: Signals): AlertInstance[] {
  const out: AlertInstance[] = [];
  for (const r of rules) {
    switch (r.kind) {
      case 'registry_failure_rate':
        for (const g of s.registryWindow.get(r.window) ?? []) {
          const attempts = g.failures + g.successes;
          const rate = attempts ? g.failures / attempts : 0;
          if (attempts >= r.minAttempts && rate > r.threshold) {
            out.push({
              rule: r.name,
              severity: r.severity,
              labels: { registry: g.registry },
              value: rate,
              summary:
                `${g.registry}: ${(rate * 100).toFixed(0)} % of ${attempts} pulls failed in the ` +
                `last ${r.window / 60_000} min`,
            });
          }
        }
        break;
      case 'rate_limit_rising':
        for (const g of s.rateLimit.get(r.name) ?? []) {
          if (g.recent >= r.minFailures && g.recent > r.factor * g.baselinePerWindow) {
            out.push({
              rule: r.name,
              severity: r.severity,
              labels: { registry: g.registry },
              value: g.recent,
              summary:
                `${g.registry}: ${g.recent} rate-limited pulls in the last ${r.window / 60_000} ` +
                `min, ${g.baselinePerWindow.toFixed(1)} usual`,
            });
          }
        }
        break;
      case 'fleet_incident':
        for (const i of s.openFleetIncidents) {
          out.push({
            rule: r.name,
            severity: r.severity,
            labels: { registry: i.registry, cause: i.cause, incident: i.id },
            value: i.clusters.length,
            summary: `${i.registry} failing with ${i.cause} in ${i.clusters.length} clusters: ${i.clusters.join(', ')}`,
          });
        }
        break;
      case 'stuck_pods': {
        const n = s.stuckPods.get(r.stuckFor) ?? 0;
        if (n > r.threshold)
          out.push({
            rule: r.name,
            severity: r.severity,
            labels: {},
            value: n,
            summary: `${n} Pods stuck on their images for over ${r.stuckFor / 60_000} min`,
          });
        break;
      }
      case 'dockerhub_quota':
        for (const q of s.dockerHubQuota?.egresses ?? []) {
          if (!nearlyExhausted(q, r.threshold, r.forecast, s.dockerHubQuota!.now)) continue;
          out.push({
            rule: r.name,
            severity: r.severity,
            labels: { egress: q.egress },
            value: q.used / q.limit,
            summary:
              `${q.egress}: ${q.used} of ${q.limit} Docker Hub pulls used ` +
              `(${q.clusters.join(', ')})${
                q.exhaustedAt ? `, exhausted ${q.remaining ? 'by' : 'since'} ${q.exhaustedAt}` : ''
              }`,
          });
        }
        for (const q of s.dockerHubQuota?.accounts ?? []) {
          const now = s.dockerHubQuota!.now;
          // Docker Hub's refusal within the hour says the account is out now: its pulls outside the fleet
          // (CI, laptops) count too, and only Docker Hub sees those.
          const refused = refusedRecently(q, now);
          if (!refused && !nearlyExhausted(q, r.threshold, r.forecast, now)) continue;
          out.push({
            rule: r.name,
            severity: r.severity,
            labels: { account: q.account },
            value: refused ? 1 : q.used / q.limit,
            summary: accountSummary(q),
          });
        }
        break;
    }
  }
  return out;
}

function accountSummary(q: AccountQuota): string {
  const clusters = q.clusters.length ? ` (${q.clusters.join(', ')})` : '';
  // An account known only from 429s has none of its pulls attributed: its `used` says nothing.
  const used = q.configured
    ? `${q.used} of ${q.limit} Docker Hub pulls used` +
      (q.exhaustedAt ? `, exhausted ${q.remaining ? 'by' : 'since'} ${q.exhaustedAt}` : '')
    : 'known from 429s only, its pulls not counted';
  const refused = q.lastRateLimitedAt
    ? `; Docker Hub refused ${q.rateLimitedFailures} pulls as ${q.account} in ${q.window}, last at ${q.lastRateLimitedAt}`
    : '';
  return `account ${q.account}${clusters}: ${used}${refused}`;
}

/**
 * Advances every alert's state machine (pending → firing → resolved) and returns the notifications
 * owed: one when an alert starts firing, one when it resolves; nothing while it keeps firing.
 */
export function step(
  rules: Rule[],
  states: Map<string, AlertState>,
  active: AlertInstance[],
  now: number,
): Transition[] {
  const forOf = new Map(rules.map((r) => [r.name, r.for]));
  const transitions: Transition[] = [];
  const seen = new Set<string>();
  for (const instance of active) {
    const key = keyOf(instance);
    seen.add(key);
    let st = states.get(key);
    if (!st || st.status === 'resolved') {
      st = { key, instance, status: 'pending', activeSince: now, firedAt: null, resolvedAt: null };
      states.set(key, st);
    }
    st.instance = instance;
    if (st.status === 'pending' && now - st.activeSince >= (forOf.get(instance.rule) ?? 0)) {
      st.status = 'firing';
      st.firedAt = now;
      transitions.push({ kind: 'firing', alert: { ...st } });
    }
  }
  for (const st of states.values()) {
    if (seen.has(st.key) || st.status === 'resolved') continue;
    if (st.status === 'firing') {
      st.status = 'resolved';
      st.resolvedAt = now;
      transitions.push({ kind: 'resolved', alert: { ...st } });
    } else {
      states.delete(st.key); // pending that never fired
    }
  }
  return transitions;
}
