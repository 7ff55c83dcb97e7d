import type { KafkaConnection } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints } from '../../../test/support/endpoints.ts';
import { type Collector, createCollector } from './collector.ts';
import { loadCollectorConfig } from './config.ts';

/** The integration tests' Kafka for client `name`, with a logger of that name that writes nothing. */
export function testKafka(name: string): KafkaConnection {
  return { brokers: testEndpoints().kafka.brokers, clientId: name, logger: createLogger(name, 'silent') };
}

/**
 * Starts a collector for an integration test: HTTP ingest on a free port taking `token`, producing to
 * `topic` (created with `partitions` partitions unless it exists) on `kafka`, logging with `kafka`'s
 * logger; `metrics` names its registry, `env` adds what the test varies. The caller stops it.
 */
export async function startIngestCollector(
  kafka: KafkaConnection,
  o: { token: string; topic: string; partitions: number; metrics: string; env?: Record<string, string> },
): Promise<Collector> {
  const collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_TOKEN: o.token,
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: o.topic,
      PULLWATCH_TOPIC_PARTITIONS: String(o.partitions),
      ...o.env,
    }),
    { logger: kafka.logger, metrics: createMetricsRegistry(o.metrics), kafka },
  );
  await collector.start();
  return collector;
}
