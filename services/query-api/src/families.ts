import type { ClickHouseClient, FleetTables } from '@pullwatch/clickhouse';
import type { Alerter } from './alerts/alerter.ts';
import { alertRoutes } from './alerts/routes.ts';
import type { QueryApiConfig } from './config.ts';
import { DEFAULT_NEAR_SHARE } from './core/quota.ts';
import { Diagnoser } from './diagnosis/diagnoser.ts';
import { DiagnosisQueries } from './diagnosis/queries.ts';
import { diagnosisRoutes } from './diagnosis/routes.ts';
import { FailureQueries } from './failures/queries.ts';
import { failureRoutes } from './failures/routes.ts';
import { HotspotQueries } from './hotspots/queries.ts';
import { hotspotRoutes } from './hotspots/routes.ts';
import { IncidentQueries } from './incidents/queries.ts';
import { incidentRoutes } from './incidents/routes.ts';
import { PodQueries } from './pods/queries.ts';
import { podRoutes } from './pods/routes.ts';
import { RegistryQueries } from './registries/queries.ts';
import { registryRoutes } from './registries/routes.ts';
import { ReportQueries } from './reports/queries.ts';
import { reportRoutes } from './reports/routes.ts';
import { RiskQueries } from './risks/queries.ts';
import { riskRoutes } from './risks/routes.ts';
import type { Route } from './route.ts';
import type { TeamResolver } from './teams/resolver.ts';
import { teamRoutes } from './teams/routes.ts';
import { TrendQueries } from './trends/queries.ts';
import { trendRoutes } from './trends/routes.ts';

/**
 * Every route family of the API, each folder its parameters, reads and answers, in the order the
 * OpenAPI document lists them. `clickhouse` is the limited, read-only client every read goes through.
 */
export function routeFamilies(
  cfg: QueryApiConfig,
  deps: {
    clickhouse: ClickHouseClient;
    tables: FleetTables;
    teams: TeamResolver;
    alerter: Alerter;
    /** How long "did you mean" reuses the fleet's pulls (diagnosis/diagnoser.ts); its default when absent. */
    fleetPullsTtlMs?: number | undefined;
  },
): Route[] {
  const { clickhouse: ch, tables: t, teams } = deps;
  const { maxRangeDays } = cfg;
  const diagnosis = new DiagnosisQueries(ch, t);
  // One per API: its name indexes outlive a request, so "did you mean" searches once per fleet change.
  const diagnoser = new Diagnoser(
    diagnosis,
    undefined,
    undefined,
    deps.fleetPullsTtlMs,
    undefined,
    cfg.dockerHubEgress.proxyCaches,
  );
  return [
    ...registryRoutes({ queries: new RegistryQueries(ch, t), teams, maxRangeDays }),
    ...hotspotRoutes({ queries: new HotspotQueries(ch, t), teams, maxRangeDays }),
    ...incidentRoutes({ queries: new IncidentQueries(ch, t), diagnoser, teams, maxRangeDays }),
    ...trendRoutes({ queries: new TrendQueries(ch, t), teams, maxRangeDays }),
    ...failureRoutes({ queries: new FailureQueries(ch, t), diagnoser, teams, maxRangeDays }),
    ...podRoutes({ queries: new PodQueries(ch, t), diagnoser, teams }),
    ...riskRoutes({ queries: new RiskQueries(ch, t), teams, maxRangeDays }),
    ...teamRoutes({ teams, maxRangeDays }),
    ...alertRoutes({ alerter: deps.alerter }),
    ...diagnosisRoutes({
      queries: diagnosis,
      teams,
      egress: cfg.dockerHubEgress,
      nearShare: cfg.alerts.rules.find((r) => r.kind === 'dockerhub_quota')?.threshold ?? DEFAULT_NEAR_SHARE,
      maxRangeDays,
    }),
    ...reportRoutes({ queries: new ReportQueries(ch, t, teams, cfg.reportMaxGroups), maxRangeDays }),
  ];
}
