import { Gauge, type Registry } from 'prom-client';
import type { FleetTables, ClickHouseClient } from '@pullwatch/clickhouse';
import type { Logger } from '@pullwatch/telemetry';
import { activeInstances, step, type AlertState } from './evaluate.ts';
import { alertmanagerRound, deliver, deliverToAlertmanagers, type Webhook } from './notify.ts';
import type { Rule } from './rules.ts';
import { readSignals } from './signals.ts';
import type { EgressSettings } from '../core/quota.ts';

export interface AlerterDeps {
  clickhouse: ClickHouseClient;
  /** Where the signals are read (the `_all` tables on a ClickHouse cluster). */
  tables: FleetTables;
  rules: Rule[];
  webhooks: Webhook[];
  logger: Logger;
  metrics: Registry;
  now: () => Date;
  externalUrl: () => string;
  /** Who shares which Docker Hub egress (the dockerhub_quota rule); one per cluster by default. */
  dockerHubEgress?: EgressSettings | undefined;
}

/** Evaluates the rules on a schedule, notifies webhooks on changes, and exports the signals to Prometheus. */
export function createAlerter(deps: AlerterDeps) {
  const states = new Map<string, AlertState>();
  const failureRate = new Gauge({
    name: 'pullwatch_registry_failure_rate',
    help: 'Failed / attempted pulls per registry over the rule window',
    labelNames: ['registry'],
    registers: [deps.metrics],
  });
  const rateLimited = new Gauge({
    name: 'pullwatch_rate_limited_failures',
    help: 'Rate-limited pulls per registry over the rule window',
    labelNames: ['registry'],
    registers: [deps.metrics],
  });
  const fleetIncidents = new Gauge({
    name: 'pullwatch_open_fleet_incidents',
    help: 'Open fleet-scope incidents',
    registers: [deps.metrics],
  });
  const stuck = new Gauge({
    name: 'pullwatch_stuck_pods',
    help: 'Pods failing to pull for longer than the rule says',
    registers: [deps.metrics],
  });
  const firing = new Gauge({
    name: 'pullwatch_alert_firing',
    help: '1 while an alert rule fires',
    labelNames: ['rule'],
    registers: [deps.metrics],
  });
  const dockerHubUsed = new Gauge({
    name: 'pullwatch_dockerhub_quota_used_ratio',
    help: 'Share of the Docker Hub pull quota used per egress address',
    labelNames: ['egress'],
    registers: [deps.metrics],
  });
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  // The default evaluation interval until start() says otherwise (evaluate() alone, in tests).
  let intervalMs = 30_000;
  const alertmanagers = deps.webhooks.filter((h) => h.format === 'alertmanager-v2');
  /** When firing alerts were last sent to the Alertmanagers (they resolve there unless sent again). */
  let alertmanagersSentAt = Number.NEGATIVE_INFINITY;

  async function evaluateOnce(): Promise<void> {
    const now = deps.now().getTime();
    const signals = await readSignals(deps.clickhouse, deps.tables, deps.rules, now, deps.dockerHubEgress);
    failureRate.reset();
    for (const g of [...signals.registryWindow.values()][0] ?? [])
      failureRate.set({ registry: g.registry }, g.failures + g.successes ? g.failures / (g.failures + g.successes) : 0);
    rateLimited.reset();
    for (const g of [...signals.rateLimit.values()][0] ?? []) rateLimited.set({ registry: g.registry }, g.recent);
    fleetIncidents.set(signals.openFleetIncidents.length);
    stuck.set([...signals.stuckPods.values()][0] ?? 0);
    dockerHubUsed.reset();
    for (const q of signals.dockerHubQuota?.egresses ?? []) dockerHubUsed.set({ egress: q.egress }, q.used / q.limit);
    const transitions = step(deps.rules, states, activeInstances(deps.rules, signals), now);
    for (const r of deps.rules)
      firing.set(
        { rule: r.name },
        [...states.values()].some((s) => s.instance.rule === r.name && s.status === 'firing') ? 1 : 0,
      );
    if (transitions.length && deps.webhooks.length > alertmanagers.length) {
      const failed = await deliver(deps.webhooks, transitions, deps.externalUrl());
      for (const f of failed) deps.logger.warn({ webhook: f }, 'alert webhook failed after retries');
    }
    const owed = alertmanagers.length
      ? alertmanagerRound(states.values(), transitions, now, alertmanagersSentAt, intervalMs, deps.externalUrl())
      : null;
    if (owed) {
      alertmanagersSentAt = now;
      const failed = await deliverToAlertmanagers(alertmanagers, owed);
      for (const f of failed) deps.logger.warn({ webhook: f }, 'alert webhook failed after retries');
    }
    // Forget alerts resolved more than a day ago.
    for (const [k, s] of states)
      if (s.status === 'resolved' && s.resolvedAt !== null && now - s.resolvedAt > 86_400_000) states.delete(k);
  }

  return {
    start(everyMs: number): void {
      intervalMs = everyMs;
      timer = setInterval(() => {
        running = running
          .then(evaluateOnce)
          .catch((err: unknown) =>
            deps.logger.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'alert evaluation failed; will retry',
            ),
          );
      }, everyMs);
      timer.unref();
    },
    /** One evaluation now (tests; and the first round at start). */
    evaluate: () => (running = running.then(evaluateOnce)),
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await running.catch(() => undefined);
    },
    /** Firing and recently resolved alerts, for GET /v1/alerts. */
    list() {
      return [...states.values()]
        .filter((s) => s.status !== 'pending')
        .sort((a, b) => (b.firedAt ?? 0) - (a.firedAt ?? 0))
        .map((s) => ({
          rule: s.instance.rule,
          severity: s.instance.severity,
          status: s.status,
          labels: s.instance.labels,
          summary: s.instance.summary,
          value: s.instance.value,
          startsAt: new Date(s.firedAt!).toISOString(),
          endsAt: s.resolvedAt === null ? null : new Date(s.resolvedAt).toISOString(),
        }));
    },
  };
}

export type Alerter = ReturnType<typeof createAlerter>;
