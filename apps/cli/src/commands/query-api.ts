import { createClickHouse } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { createQueryApi, loadQueryApiConfig } from '@pullwatch/query-api';
import { createLogger, createMetricsRegistry, startTracing } from '@pullwatch/telemetry';
import type { Command } from '../command.ts';
import { notifyReady } from '../start/service-process.ts';
import { stopSignal, stopWithin } from '../stop-signal.ts';

const queryApiCommand: Command = async () => {
  // Traces are exported only when an OTLP endpoint is configured.
  const tracing = startTracing({
    serviceName: 'pullwatch-query-api',
    otlpEndpoint: process.env.PULLWATCH_OTLP_TRACES_ENDPOINT,
  });
  const cfg = loadQueryApiConfig();
  const endpoints = resolveEndpoints(loadEnginesConfig(process.env, { kafka: false }));
  // The read-only user, when configured, with the same URL and CA as the other services.
  const clickhouse = createClickHouse({ ...endpoints.clickhouse, ...(cfg.readOnlyUser ?? {}) });
  const api = createQueryApi(cfg, {
    logger: createLogger('query-api', (process.env.PULLWATCH_LOG_LEVEL as 'info' | undefined) ?? 'info'),
    metrics: createMetricsRegistry('query-api'),
    clickhouse,
  });
  await api.start();
  notifyReady('query-api', api.url);
  process.stderr.write(`query API on ${api.url} (database ${cfg.database})\n`);
  await stopSignal();
  await stopWithin('the query API', () => api.stop());
  await tracing.shutdown();
  return 0;
};

export default queryApiCommand;
