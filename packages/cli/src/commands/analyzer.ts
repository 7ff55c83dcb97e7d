import { createAnalyzer, loadAnalyzerConfig } from '@pullwatch/analyzer';
import { createClickHouse, migrate, waitForClickHouse } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { createLogger, createMetricsRegistry, startTracing } from '@pullwatch/telemetry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { startListener } from '@pullwatch/http-listener';
import type { Command } from '../command.ts';
import { notifyReady } from '../start/service-process.ts';
import { stopSignal, stopWithin } from '../stop-signal.ts';

/** `/metrics` and `/healthz` on PULLWATCH_ANALYZER_METRICS_PORT, for Prometheus and health checks. */
function metricsHandler(registry: Registry) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  };
}

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
  await migrate(admin, { database: cfg.database, ttlDays: cfg.ttlDays, cluster: cfg.clickhouseCluster });
  await admin.close();
  const metrics = createMetricsRegistry('analyzer');
  const metricsPort = process.env.PULLWATCH_ANALYZER_METRICS_PORT
    ? Number(process.env.PULLWATCH_ANALYZER_METRICS_PORT)
    : null;
  if (metricsPort !== null && !(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort < 65536))
    throw new Error(
      `PULLWATCH_ANALYZER_METRICS_PORT: not a port number: ${process.env.PULLWATCH_ANALYZER_METRICS_PORT}`,
    );
  const analyzer = createAnalyzer(cfg, {
    logger,
    metrics,
    kafka: { ...endpoints.kafka, clientId: 'pullwatch-analyzer', logger },
    clickhouse: createClickHouse({ ...endpoints.clickhouse }),
  });
  // Bound before consuming starts: a taken port fails the command before anything is read.
  const metricsServer =
    metricsPort === null
      ? null
      : await startListener(
          metricsHandler(metrics),
          process.env.PULLWATCH_ANALYZER_METRICS_HOST ?? '0.0.0.0',
          metricsPort,
        );
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
