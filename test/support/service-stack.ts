import type { Registry } from 'prom-client';
import { type Analyzer, createAnalyzer, loadAnalyzerConfig, startAnalyzerHttp } from '@pullwatch/analyzer';
import { type ClickHouseClient, createClickHouse, migrate } from '@pullwatch/clickhouse';
import { type Collector, createCollector, loadCollectorConfig } from '@pullwatch/collector';
import type { EventEnvelope } from '@pullwatch/event-schema';
import { createProducer, ensureTopics, type KafkaConnection } from '@pullwatch/kafka';
import { createQueryApi, loadQueryApiConfig, type QueryApi } from '@pullwatch/query-api';
import { createLogger, createMetricsRegistry, type Logger } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from './endpoints.ts';

type Env = Record<string, string>;

/** An analyzer of a stack, with its `/metrics` as `pullwatch analyzer` serves it (when asked for). */
export interface StackAnalyzer {
  analyzer: Analyzer;
  /** The analyzer's HTTP endpoint (`/metrics`, `/healthz`, `/readyz`), or null when not asked for. */
  metricsUrl: string | null;
  /** Stops the analyzer, then its endpoint; once (the stack's stop skips it afterwards). */
  stop(): Promise<void>;
}

/**
 * pullwatch's services in-process, as `pullwatch` runs them, against the integration tests' Kafka and
 * ClickHouse, for one test file: a topic, dead-letter topic, consumer group and database of its own
 * (`env`, which every service starts from, plus its own settings). `stop()` stops what was started, the
 * last first, and drops the database the stack migrated.
 */
export class ServiceStack {
  readonly topic: string;
  readonly database: string;
  readonly env: Env;
  readonly logger: Logger;
  readonly kafka: KafkaConnection;
  private readonly stops: (() => Promise<void>)[] = [];

  constructor(
    name: string,
    opts: {
      /** A database of this name instead of a unique one (a dedicated ClickHouse's). */
      database?: string;
      /** Settings every service of the stack reads. */
      env?: Env;
    } = {},
  ) {
    this.topic = uniqueName(name);
    this.database = opts.database ?? uniqueName(name);
    this.logger = createLogger(`${name}-test`, (process.env.TEST_LOG_LEVEL as 'warn' | undefined) ?? 'silent');
    this.kafka = { brokers: testEndpoints().kafka.brokers, clientId: `${name}-test`, logger: this.logger };
    this.env = {
      PULLWATCH_TOPIC: this.topic,
      PULLWATCH_DLQ_TOPIC: `${this.topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${this.topic}_g`,
      PULLWATCH_CLICKHOUSE_DATABASE: this.database,
      ...opts.env,
    };
  }

  /** A client of the test ClickHouse (closed by the caller). */
  static clickhouse(): ClickHouseClient {
    return createClickHouse({ ...testEndpoints().clickhouse });
  }

  /**
   * Migrates the stack's database with `admin`, and drops it when the stack stops (`admin` is left open:
   * the caller closes it after `stop()`).
   */
  async migrate(admin: ClickHouseClient): Promise<void> {
    await migrate(admin, { database: this.database, ttlDays: 90 });
    this.onStop(() => admin.command({ query: `DROP DATABASE IF EXISTS ${this.database}` }).then(() => undefined));
  }

  /** Creates the stack's topic with `partitions` partitions, and its dead-letter topic with one. */
  async topics(partitions: number): Promise<void> {
    await ensureTopics(this.kafka, [
      { topic: this.topic, numPartitions: partitions },
      { topic: `${this.topic}_dlq`, numPartitions: 1 },
    ]);
  }

  /** Produces envelopes (as `eventEnvelope` builds them) to the stack's topic, as the collector does. */
  async produce(messages: readonly { key: string; envelope: EventEnvelope }[]): Promise<void> {
    const producer = await createProducer(this.kafka);
    try {
      await producer.send(
        this.topic,
        messages.map((m) => ({ key: m.key, value: JSON.stringify(m.envelope) })),
      );
    } finally {
      await producer.close();
    }
  }

  /** How many rows a table of the stack's database holds, read with `admin`. */
  async count(admin: ClickHouseClient, table: string): Promise<number> {
    const rs = await admin.query({
      query: `SELECT count() AS n FROM ${this.database}.${table}`,
      format: 'JSONEachRow',
    });
    return Number((await rs.json<{ n: number | string }>())[0]?.n);
  }

  /** Adds `stop` to what the stack stops (before what was added earlier); returned to be called once, earlier. */
  onStop(stop: () => Promise<void>): () => Promise<void> {
    let done: Promise<void> | null = null;
    const once = () => (done ??= stop());
    this.stops.push(once);
    return once;
  }

  /**
   * Starts an analyzer (on the test ClickHouse unless `clickhouse` is given); `http`: also serves its
   * `/metrics` on a free port, as PULLWATCH_ANALYZER_METRICS_PORT does.
   */
  async analyzer(opts: { env?: Env; clickhouse?: ClickHouseClient; metrics?: Registry; http?: boolean } = {}) {
    const metrics = opts.metrics ?? createMetricsRegistry('analyzer');
    const analyzer = createAnalyzer(loadAnalyzerConfig({ ...this.env, ...opts.env }), {
      logger: this.logger,
      metrics,
      kafka: this.kafka,
      clickhouse: opts.clickhouse ?? ServiceStack.clickhouse(),
    });
    const http = opts.http ? await startAnalyzerHttp({ host: '127.0.0.1', port: 0 }, metrics, analyzer.ready) : null;
    const stop = this.onStop(async () => {
      await analyzer.stop();
      await http?.close();
    });
    await analyzer.start();
    return { analyzer, metricsUrl: http?.url ?? null, stop } satisfies StackAnalyzer;
  }

  /** Starts a collector on a free ingest port. */
  async collector(opts: { env?: Env; metrics?: Registry } = {}): Promise<Collector> {
    const collector = createCollector(loadCollectorConfig({ PULLWATCH_INGEST_PORT: '0', ...this.env, ...opts.env }), {
      logger: this.logger,
      metrics: opts.metrics ?? createMetricsRegistry('collector'),
      kafka: this.kafka,
    });
    this.onStop(() => collector.stop());
    await collector.start();
    return collector;
  }

  /**
   * Starts a query API on a free port (on the test ClickHouse unless `clickhouse` is given); `now` pins
   * the clock its routes read.
   */
  async queryApi(
    opts: { env?: Env; clickhouse?: ClickHouseClient; metrics?: Registry; now?: () => Date } = {},
  ): Promise<QueryApi> {
    const api = createQueryApi(loadQueryApiConfig({ PULLWATCH_API_PORT: '0', ...this.env, ...opts.env }), {
      logger: this.logger,
      metrics: opts.metrics ?? createMetricsRegistry('query-api'),
      clickhouse: opts.clickhouse ?? ServiceStack.clickhouse(),
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.onStop(() => api.stop());
    await api.start();
    return api;
  }

  /** Stops everything started, the last first, and drops the database it migrated. */
  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop();
  }
}
