import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { startListener, type Listener } from '@pullwatch/http-listener';
import { classifyKafkaError, ensureTopics, type KafkaConnection } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { CollectorConfig } from './config.ts';
import { EnvelopeProducer } from './producer.ts';
import { createIngestApp, type IngestStats } from './server.ts';
import { ClusterWatcher, type ClusterWatcherStats } from './kube/cluster-watcher.ts';
import { BackoffPolicy } from '@pullwatch/backoff';

// Connecting to Kafka at start, until it takes us: 500 ms doubling to 30 s, full jitter.
const KAFKA_CONNECT_BACKOFF = new BackoffPolicy({ baseMs: 500, maxMs: 30_000 });

export interface CollectorDeps {
  logger: Logger;
  metrics: Registry;
  /** Where Kafka is; the collector opens its own producer and admin connections. */
  kafka: KafkaConnection;
}

export interface Collector {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Base URL of the ingest server (known after start). */
  readonly ingestUrl: string;
  stats(): IngestStats & { watch: ClusterWatcherStats[] };
}

/** One KubeConfig per watched cluster: in-cluster, or each requested kubeconfig context (default: the current one). */
export async function kubeConfigs(cfg: CollectorConfig): Promise<{ cluster: string; kc: KubeConfig }[]> {
  if (cfg.kube.kind === 'none') return [];
  // Loaded only to watch: an ingest-only collector (the agent's common case) idles ~9 MiB lighter without it.
  const { KubeConfig } = await import('@kubernetes/client-node');
  if (cfg.kube.kind === 'in-cluster') {
    const kc = new KubeConfig();
    kc.loadFromCluster();
    return [{ cluster: cfg.kube.cluster, kc }];
  }
  const base = new KubeConfig();
  base.loadFromFile(cfg.kube.path);
  const wanted = cfg.kube.contexts.length
    ? cfg.kube.contexts
    : [{ context: base.getCurrentContext(), cluster: base.getCurrentContext() }];
  return wanted.map(({ context, cluster }) => {
    if (!base.getContextObject(context))
      throw new Error(
        `context '${context}' is not in ${
          cfg.kube.kind === 'kubeconfig' ? cfg.kube.path : 'the kubeconfig'
        } (it has: ${base
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
      );
    const kc = new KubeConfig();
    kc.loadFromFile(cfg.kube.kind === 'kubeconfig' ? cfg.kube.path : '');
    kc.setCurrentContext(context);
    return { cluster, kc };
  });
}

export function createCollector(cfg: CollectorConfig, deps: CollectorDeps): Collector {
  const producer = new EnvelopeProducer(
    deps.kafka,
    cfg.topics.events.topic,
    { maxEvents: cfg.buffer.maxEvents, maxBytes: cfg.buffer.maxBytes, admissionWaitMs: cfg.buffer.waitMs },
    cfg.produceTimeoutMs,
  );
  const { app, stats } = createIngestApp(cfg, { producer, logger: deps.logger, metrics: deps.metrics });
  let listener: Listener | null = null;
  // Made at start: reading the kubeconfig loads the Kubernetes client, which only watching needs.
  const watchers: ClusterWatcher[] = [];
  let url = `http://${cfg.host}:${cfg.port}`;
  let stopping = false;
  let connecting: Promise<void> | null = null;
  let retryTimer: NodeJS.Timeout | undefined;
  let wake: (() => void) | null = null;

  /** Creates the topic and connects the producer; true once connected (the watchers then start). */
  async function connectKafka(attempt: number): Promise<boolean> {
    try {
      await ensureTopics(deps.kafka, [cfg.topics.events]);
      await producer.connect();
    } catch (err) {
      const e = classifyKafkaError(err);
      producer.lastError = e.message;
      deps.logger.error(
        { err: e.message, reason: e.reason, ...('setting' in e ? { setting: e.setting } : {}), attempt },
        'collector: cannot connect to Kafka; ingest answers 503 until it can',
      );
      return false;
    }
    if (stopping) return true;
    if (attempt > 0) deps.logger.info({ attempt }, 'collector: connected to Kafka');
    for (const w of watchers) w.start();
    return true;
  }
  // The watchers keep plain counts; Prometheus reads them at scrape time.
  new Counter({
    name: 'pullwatch_collector_watch_activity_total',
    help:
      'Kubernetes list/watch activity per cluster and resource: lists, relists after 410 Gone, reconnects, ' +
      'bookmarks',
    labelNames: ['cluster', 'resource', 'activity'],
    registers: [deps.metrics],
    collect() {
      this.reset();
      for (const w of watchers) {
        const s = w.stats();
        for (const [resource, counts] of [
          ['events', s.events],
          ['pods', s.pods],
          ...(s.namespaces ? [['namespaces', s.namespaces] as const] : []),
        ] as const) {
          for (const [activity, n] of Object.entries(counts)) this.inc({ cluster: s.cluster, resource, activity }, n);
        }
      }
    },
  });
  new Counter({
    name: 'pullwatch_collector_watch_objects_total',
    help:
      'Watched objects per cluster by outcome: forwarded to Kafka, skipped as already sent (relists), ' +
      'filtered (not about images), invalid (skipped)',
    labelNames: ['cluster', 'outcome'],
    registers: [deps.metrics],
    collect() {
      this.reset();
      for (const w of watchers) {
        const s = w.stats();
        this.inc({ cluster: s.cluster, outcome: 'forwarded' }, s.forwarded);
        this.inc({ cluster: s.cluster, outcome: 'skipped_already_sent' }, s.skippedAlreadySent);
        this.inc({ cluster: s.cluster, outcome: 'filtered' }, s.filtered);
        this.inc({ cluster: s.cluster, outcome: 'invalid' }, s.invalid);
      }
    },
  });
  return {
    get ingestUrl() {
      return url;
    },
    async start() {
      for (const { cluster, kc } of await kubeConfigs(cfg))
        watchers.push(
          new ClusterWatcher(cluster, kc, producer, deps.logger.child({ cluster }), {
            allEvents: cfg.allEvents,
            teamLabel: cfg.teamLabel,
          }),
        );
      // Listening first: until Kafka takes our connection (a broker that is down, a wrong password or
      // CA), /readyz answers 503 with the reason and ingest answers 503, and the connection is retried.
      listener = await startListener(app, cfg.host, cfg.port);
      url = listener.url;
      deps.logger.info({ url, topic: cfg.topics.events.topic }, 'collector ingest listening');
      if (await connectKafka(0)) return;
      connecting = (async () => {
        for (let attempt = 1; !stopping; attempt++) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            retryTimer = setTimeout(resolve, KAFKA_CONNECT_BACKOFF.delay(attempt));
          });
          if (stopping || (await connectKafka(attempt))) return;
        }
      })();
    },
    async stop() {
      stopping = true;
      clearTimeout(retryTimer);
      wake?.();
      await connecting;
      await Promise.all(watchers.map((w) => w.stop()));
      // Stop taking requests, let the ones in progress get their acks, then close the producer.
      await listener?.close();
      listener = null;
      await producer.disconnect();
    },
    stats: () => ({
      ...stats,
      forwarded: stats.forwarded + watchers.reduce((n, w) => n + w.stats().forwarded, 0),
      watch: watchers.map((w) => w.stats()),
    }),
  };
}
