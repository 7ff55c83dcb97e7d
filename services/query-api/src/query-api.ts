import type { Registry } from 'prom-client';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import { startListener, type Listener } from '@pullwatch/http-listener';
import type { Logger } from '@pullwatch/telemetry';
import type { QueryApiConfig } from './config.ts';
import { buildApp } from './app.ts';
import { Queries } from './queries.ts';
import { DiagnosisQueries } from './diagnosis/queries.ts';
import { FleetTables } from '@pullwatch/clickhouse';
import { createAlerter } from './alerts/alerter.ts';
import { Isolation, limitedClickHouse } from './limits/isolation.ts';
import { ReportQueries } from './reports/queries.ts';
import { TeamResolver } from './teams/resolver.ts';

export interface QueryApiDeps {
  logger: Logger;
  metrics: Registry;
  clickhouse: ClickHouseClient;
  now?: () => Date;
}

export function createQueryApi(cfg: QueryApiConfig, deps: QueryApiDeps) {
  const now = deps.now ?? (() => new Date());
  let listener: Listener | null = null;
  let url = `http://${cfg.host}:${cfg.port}`;
  // Every query carries its class's limits and priority; the evaluator's always the alerts class.
  const isolation = new Isolation(cfg.limits);
  const clickhouse = limitedClickHouse(deps.clickhouse, cfg.limits);
  const alerter = createAlerter({
    clickhouse: limitedClickHouse(deps.clickhouse, cfg.limits, 'alerts', isolation),
    database: cfg.database,
    clickhouseCluster: cfg.clickhouseCluster,
    rules: cfg.alerts.rules,
    webhooks: cfg.alerts.webhooks,
    logger: deps.logger,
    metrics: deps.metrics,
    now,
    externalUrl: () => url,
    dockerHubEgress: cfg.dockerHubEgress,
  });
  const tables = new FleetTables(cfg.database, cfg.clickhouseCluster);
  const teams = new TeamResolver(clickhouse, tables, cfg.teams);
  const app = buildApp(cfg, {
    queries: new Queries(clickhouse, cfg.database, cfg.clickhouseCluster),
    diagnosis: new DiagnosisQueries(clickhouse, tables),
    reports: new ReportQueries(clickhouse, tables, teams, cfg.reportMaxGroups),
    teams,
    isolation,
    alerter,
    logger: deps.logger,
    metrics: deps.metrics,
    now,
  });
  return {
    app,
    alerter,
    isolation,
    get url() {
      return url;
    },
    async start(): Promise<void> {
      listener = await startListener(app, cfg.host, cfg.port);
      url = listener.url;
      deps.logger.info({ url }, 'query API listening');
      alerter.start(cfg.alerts.intervalMs);
    },
    async stop(): Promise<void> {
      await alerter.stop();
      await listener?.close();
      listener = null;
      await deps.clickhouse.close();
    },
  };
}

export type QueryApi = ReturnType<typeof createQueryApi>;
