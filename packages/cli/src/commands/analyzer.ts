import { createAnalyzer, loadAnalyzerConfig } from '@pullwatch/analyzer';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { createKafka } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import type { Command } from '../command.ts';

const analyzerCommand: Command = async () => {
  const cfg = loadAnalyzerConfig();
  const endpoints = resolveEndpoints(loadEnginesConfig());
  const logger = createLogger('analyzer', (process.env.PULLWATCH_LOG_LEVEL as 'info' | undefined) ?? 'info');
  const admin = createClickHouse({ ...endpoints.clickhouse });
  await migrate(admin, { database: cfg.database, ttlDays: cfg.ttlDays, cluster: cfg.clickhouseCluster });
  await admin.close();
  const analyzer = createAnalyzer(cfg, { logger, metrics: createMetricsRegistry('analyzer'), kafka: createKafka({ brokers: endpoints.kafka.brokers, clientId: 'pullwatch-analyzer', logger }), clickhouse: createClickHouse({ ...endpoints.clickhouse }) });
  await analyzer.start();
  process.stderr.write(`analyzer: ${cfg.topic} → ${endpoints.clickhouse.url} database ${cfg.database}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await analyzer.stop();
  return 0;
};

export default analyzerCommand;
