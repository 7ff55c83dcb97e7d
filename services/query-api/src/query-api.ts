import type { Registry } from 'prom-client';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import { startListener, type Listener } from '@pullwatch/http-listener';
import type { Logger } from '@pullwatch/telemetry';
import type { QueryApiConfig } from './config.ts';
import { buildApp } from './app.ts';
import { FleetTables } from '@pullwatch/clickhouse';
import { routeFamilies } from './families.ts';
import { ping } from './read.ts';
import { createAlerter } from './alerts/alerter.ts';
import { ClickHouseAccessError, ReadOnlyMode, readOnlyClickHouse } from './limits/access.ts';
import { QUERY_CLASSES } from './limits/config.ts';
import { classSettings, Isolation, limitedClickHouse } from './limits/isolation.ts';
import { TeamResolver } from './teams/resolver.ts';

export interface QueryApiDeps {
  logger: Logger;
  metrics: Registry;
  clickhouse: ClickHouseClient;
  now?: () => Date;
  /** How long "did you mean" reuses the fleet's pulls (diagnosis/diagnoser.ts); 0 reads them per request. */
  fleetPullsTtlMs?: number;
}

export function createQueryApi(cfg: QueryApiConfig, deps: QueryApiDeps) {
  const now = deps.now ?? (() => new Date());
  let listener: Listener | null = null;
  let url = `http://${cfg.host}:${cfg.port}`;
  // Every query carries its class's limits and priority; the evaluator's always the alerts class.
  const isolation = new Isolation(cfg.limits);
  // The `readonly` the user's profile accepts, with the limits of every class tried against it (limits/access.ts).
  const readOnly = new ReadOnlyMode(
    deps.clickhouse,
    QUERY_CLASSES.map((c) => classSettings(cfg.limits, c)),
  );
  const reader = readOnlyClickHouse(deps.clickhouse, readOnly);
  const clickhouse = limitedClickHouse(reader, cfg.limits);
  // One description of where the fleet's tables are, for every reader.
  const tables = new FleetTables(cfg.database, cfg.clickhouseCluster);
  const alerter = createAlerter({
    clickhouse: limitedClickHouse(reader, cfg.limits, 'alerts', isolation),
    tables,
    rules: cfg.alerts.rules,
    webhooks: cfg.alerts.webhooks,
    logger: deps.logger,
    metrics: deps.metrics,
    now,
    ...(deps.fleetPullsTtlMs === undefined ? {} : { fleetPullsTtlMs: deps.fleetPullsTtlMs }),
    externalUrl: () => url,
    dockerHubEgress: cfg.dockerHubEgress,
  });
  const teams = new TeamResolver(clickhouse, tables, cfg.teams);
  const app = buildApp(cfg, {
    routes: routeFamilies(cfg, { clickhouse, tables, teams, alerter, fleetPullsTtlMs: deps.fleetPullsTtlMs }),
    ping: () => ping(clickhouse),
    isolation,
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
      // Says at once when the ClickHouse user's profile refuses the API's limits (every query would).
      readOnly.setting().then(
        (value) => deps.logger.info({ readonly: value }, 'ClickHouse accepts the query limits'),
        (err: unknown) =>
          err instanceof ClickHouseAccessError
            ? deps.logger.error({ err }, err.message)
            : deps.logger.warn({ err }, 'ClickHouse not reached at start; its profile is checked on the first query'),
      );
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
