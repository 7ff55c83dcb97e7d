import { createAnalyzer, loadAnalyzerConfig, startAnalyzerHttp } from '@pullwatch/analyzer';
import { createClickHouse, loadMigrateConfig, waitForClickHouse } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { createLogger, createMetricsRegistry, startTracing } from '@pullwatch/telemetry';
import type { Command } from '../command.ts';
import { applyMigrations } from '../migrations.ts';
import { notifyReady } from '../start/service-process.ts';
import { stopSignal, stopWithin } from '../stop-signal.ts';

const analyzerCommand: Command = async () => {
  // Traces are exported only when an OTLP endpoint is configured.
  const tracing = startTracing({
    serviceName: 'pullwatch-analyzer',
    otlpEndpoint: process.env.PULLWATCH_OTLP_TRACES_ENDPOINT,
  });
  const cfg = loadAnalyzerConfig();
  const endpoints = resolveEndpoints(loadEnginesConfig());
  const logger = createLogger('analyzer', (process.env.PULLWATCH_LOG_LEVEL as 'info' | undefined) ?? 'info');
  const admin = createClickHouse({ ...endpoints.clickhouse });
  await waitForClickHouse(admin, {
    onRetry: (err, attempt) =>
      attempt % 5 === 0 &&
      logger.warn(
        { err: err instanceof Error ? err.message : String(err), url: endpoints.clickhouse.url },
        'analyzer: waiting for ClickHouse',
      ),
  });
  await admin.close();
  await applyMigrations(endpoints.clickhouse, loadMigrateConfig());
  const metrics = createMetricsRegistry('analyzer');
  const analyzer = createAnalyzer(cfg, {
    logger,
    metrics,
    kafka: { ...endpoints.kafka, clientId: 'pullwatch-analyzer', logger },
    clickhouse: createClickHouse({ ...endpoints.clickhouse }),
  });
  // Bound before consuming starts: a taken port fails the command before anything is read.
  const metricsServer = cfg.http ? await startAnalyzerHttp(cfg.http, metrics, analyzer.ready) : null;
  await analyzer.start();
  notifyReady('analyzer', null);
  process.stderr.write(`analyzer: ${cfg.topics.events.topic} → ${endpoints.clickhouse.url} database ${cfg.database}\n`);
  await stopSignal();
  await metricsServer?.close();
  await stopWithin('the analyzer', () => analyzer.stop());
  await tracing.shutdown();
  return 0;
};

export default analyzerCommand;
