import { createClickHouse } from '@pullwatch/clickhouse';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints } from '../../../../test/support/endpoints.ts';
import { loadQueryApiConfig } from '../config.ts';
import { createQueryApi, type QueryApi } from '../query-api.ts';

/** Every /v1 route the API serves (its OpenAPI paths), as the tests walk them. */
export const V1_ROUTES = [
  '/v1/registries',
  '/v1/hotspots/rate-limit',
  '/v1/incidents',
  '/v1/trends',
  '/v1/failures',
  '/v1/pods/stuck',
  '/v1/risks',
  '/v1/teams',
  '/v1/alerts',
  '/v1/quota/docker-hub',
  '/v1/recovery',
  '/v1/reports/failures',
] as const;

/**
 * A query API for an integration test, started on a free port against the test ClickHouse, with its
 * settings from `env` (the database, tokens and whatever the test varies) and a silent logger; `now`
 * pins the clock the routes read.
 */
export async function startTestApi(name: string, env: Record<string, string>, now?: () => Date): Promise<QueryApi> {
  const api = createQueryApi(loadQueryApiConfig({ PULLWATCH_API_PORT: '0', ...env }), {
    logger: createLogger(name, 'silent'),
    metrics: createMetricsRegistry(name),
    clickhouse: createClickHouse({ ...testEndpoints().clickhouse }),
    ...(now ? { now } : {}),
  });
  await api.start();
  return api;
}
