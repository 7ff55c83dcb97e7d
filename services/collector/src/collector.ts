import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { ensureTopics } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { CollectorConfig } from './config.ts';
import { EnvelopeProducer } from './producer.ts';
import { createIngestApp, listen, type IngestStats } from './server.ts';

export interface CollectorDeps {
  logger: Logger;
  metrics: Registry;
  kafka: Kafka;
}

export interface Collector {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Base URL of the ingest server (known after start). */
  readonly ingestUrl: string;
  stats(): IngestStats;
}

export function createCollector(cfg: CollectorConfig, deps: CollectorDeps): Collector {
  const producer = new EnvelopeProducer(deps.kafka, cfg.topic, cfg.bufferMaxEvents, cfg.produceTimeoutMs);
  const { app, stats } = createIngestApp(cfg, { producer, logger: deps.logger, metrics: deps.metrics });
  let server: Server | null = null;
  let url = `http://${cfg.host}:${cfg.port}`;
  return {
    get ingestUrl() {
      return url;
    },
    async start() {
      await ensureTopics(deps.kafka, [{ topic: cfg.topic, numPartitions: cfg.topicPartitions }]);
      await producer.connect();
      server = await listen(app, cfg.host, cfg.port);
      url = `http://${cfg.host}:${(server.address() as AddressInfo).port}`;
      deps.logger.info({ url, topic: cfg.topic }, 'collector ingest listening');
    },
    async stop() {
      // Stop taking requests, let the ones in progress get their acks, then close the producer.
      if (server) {
        const s = server;
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeIdleConnections();
        await closed;
        server = null;
      }
      await producer.disconnect();
    },
    stats: () => ({ ...stats }),
  };
}
