import { parseArgs } from 'node:util';
import { createCollector, loadCollectorConfig } from '@pullwatch/collector';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { createLogger, createMetricsRegistry, startTracing } from '@pullwatch/telemetry';
import type { Command } from '../command.ts';
import { notifyReady } from '../start/service-process.ts';
import { stopSignal, stopWithin } from '../stop-signal.ts';

const collectorCommand: Command = async (args) => {
  // Traces are exported only when an OTLP endpoint is configured.
  const tracing = startTracing({
    serviceName: 'pullwatch-collector',
    otlpEndpoint: process.env.PULLWATCH_OTLP_TRACES_ENDPOINT,
  });
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      'all-events': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      context: { type: 'string', multiple: true },
    },
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(values.port ? { PULLWATCH_INGEST_PORT: values.port } : {}),
    ...(values['all-events'] ? { PULLWATCH_ALL_EVENTS: 'true' } : {}),
    ...(values.kubeconfig ? { PULLWATCH_KUBECONFIG: values.kubeconfig } : {}),
    ...(values.context?.length ? { PULLWATCH_KUBE_CONTEXTS: values.context.join(',') } : {}),
  };
  const config = loadCollectorConfig(env);
  const endpoints = resolveEndpoints(loadEnginesConfig(env, { clickhouse: false }));
  const logger = createLogger('collector', (env.PULLWATCH_LOG_LEVEL as 'info' | undefined) ?? 'info');
  const collector = createCollector(config, {
    logger,
    metrics: createMetricsRegistry('collector'),
    kafka: { ...endpoints.kafka, clientId: 'pullwatch-collector', logger },
  });
  await collector.start();
  notifyReady('collector', collector.ingestUrl);
  process.stderr.write(
    `collector: ingest on ${collector.ingestUrl} → kafka ${endpoints.kafka.brokers.join(',')} ` +
      `topic ${config.topics.events.topic}\n`,
  );
  await stopSignal();
  await stopWithin('the collector', () => collector.stop());
  await tracing.shutdown();
  return 0;
};

export default collectorCommand;
