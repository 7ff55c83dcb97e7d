import { join } from 'node:path';
import {
  LocalEngines,
  loadEnginesConfig,
  probeEndpoints,
  resolveEndpoints,
  startContainers,
  type EngineEndpoints,
} from '@pullwatch/engines';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createLogger, createMetricsRegistry, startTracing } from '@pullwatch/telemetry';
import { createCollector, loadCollectorConfig } from '@pullwatch/collector';
import { createAnalyzer, loadAnalyzerConfig } from '@pullwatch/analyzer';
import { createQueryApi, loadQueryApiConfig } from '@pullwatch/query-api';
import { createSimulator, defaultScenarioPath, loadScenario } from '@pullwatch/simulator';
import { ensureApiToken } from './api-token.ts';
import { summaryLine, type SummarySample } from './summary.ts';

export interface StackOptions {
  simulate: boolean;
  kubeconfig: string | null;
  contexts: string[];
  scenario: string | null;
  allEvents: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Seconds between live summary lines; 0 turns them off. */
  summaryEverySeconds?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunningStack {
  endpoints: EngineEndpoints;
  apiUrl: string;
  ingestUrl: string;
  token: string;
  stop(): Promise<void>;
}

interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

/**
 * The main job: engines (reused when running), migrations, collector, analyzer, query API and —
 * without a kubeconfig — the fleet simulator, all in this process. `stop()` takes them down in
 * reverse order (sources first, so everything accepted is flushed and committed) and stops the
 * engines this run started.
 */
export async function runStack(opts: StackOptions): Promise<RunningStack> {
  const env = { ...(opts.env ?? process.env) };
  const progress = (line: string) => opts.err(`  ${line}`);
  const started: Stoppable[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        opts.err(`stopping ${s.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    started.length = 0;
  };

  try {
    opts.out('pullwatch: starting engines…');
    const enginesConfig = loadEnginesConfig(env);
    let endpoints: EngineEndpoints;
    if (enginesConfig.mode === 'local') {
      const engines = new LocalEngines(enginesConfig);
      const report = await engines.up(progress);
      endpoints = engines.endpoints();
      progress(
        `kafka ${report.kafka.reused ? 'already running' : `ready in ${(report.kafka.readyMs / 1000).toFixed(1)} s`}, clickhouse ${report.clickhouse.reused ? 'already running' : `ready in ${(report.clickhouse.readyMs / 1000).toFixed(1)} s`}`,
      );
      started.push({
        name: 'engines',
        stop: async () => {
          if (!report.kafka.reused) await engines.kafka.down();
          if (!report.clickhouse.reused) await engines.clickhouse.down();
        },
      });
    } else if (enginesConfig.mode === 'containers') {
      const running = await startContainers(enginesConfig, progress);
      endpoints = running.endpoints;
      started.push({ name: 'containers', stop: () => running.stop() });
    } else {
      endpoints = resolveEndpoints(enginesConfig);
      const status = await probeEndpoints('external', endpoints);
      if (!status.kafka.up || !status.clickhouse.up)
        throw new Error(`external engines not reachable: ${JSON.stringify(status)}`);
    }
    Object.assign(env, {
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      PULLWATCH_CLICKHOUSE_URL: endpoints.clickhouse.url,
      PULLWATCH_CLICKHOUSE_USER: endpoints.clickhouse.user,
      PULLWATCH_CLICKHOUSE_PASSWORD: endpoints.clickhouse.password,
    });

    const token =
      env.PULLWATCH_API_TOKENS?.split(',')[0]?.trim() || ensureApiToken(join(enginesConfig.home, 'api-token')).token;
    if (!env.PULLWATCH_API_TOKENS && !env.PULLWATCH_API_TOKENS_FILE)
      env.PULLWATCH_API_TOKENS_FILE = join(enginesConfig.home, 'api-token');

    const analyzerConfig = loadAnalyzerConfig(env);
    const admin = createClickHouse({ ...endpoints.clickhouse });
    const applied = await migrate(admin, {
      database: analyzerConfig.database,
      ttlDays: analyzerConfig.ttlDays,
      cluster: analyzerConfig.clickhouseCluster,
    });
    await admin.close();
    progress(`migrations: ${applied.applied.length ? `applied ${applied.applied.join(', ')}` : 'up to date'}`);

    const level = (env.PULLWATCH_LOG_LEVEL as 'info' | undefined) ?? 'warn';
    const tracing = startTracing({ serviceName: 'pullwatch', otlpEndpoint: env.PULLWATCH_OTLP_TRACES_ENDPOINT });
    started.push({ name: 'tracing', stop: () => tracing.shutdown() });
    const kafkaFor = (service: string) => ({
      brokers: endpoints.kafka.brokers,
      clientId: `pullwatch-${service}`,
      logger: createLogger(service, level),
    });

    const analyzer = createAnalyzer(analyzerConfig, {
      logger: createLogger('analyzer', level),
      metrics: createMetricsRegistry('analyzer'),
      kafka: kafkaFor('analyzer'),
      clickhouse: createClickHouse({ ...endpoints.clickhouse }),
    });
    await analyzer.start();
    started.push({ name: 'analyzer', stop: () => analyzer.stop() });

    const collectorConfig = loadCollectorConfig({
      ...env,
      ...(opts.kubeconfig ? { PULLWATCH_KUBECONFIG: opts.kubeconfig } : {}),
      ...(opts.contexts.length ? { PULLWATCH_KUBE_CONTEXTS: opts.contexts.join(',') } : {}),
      ...(opts.allEvents ? { PULLWATCH_ALL_EVENTS: 'true' } : {}),
    });
    const collector = createCollector(collectorConfig, {
      logger: createLogger('collector', level),
      metrics: createMetricsRegistry('collector'),
      kafka: kafkaFor('collector'),
    });
    await collector.start();
    started.push({ name: 'collector', stop: () => collector.stop() });

    const queryApiConfig = loadQueryApiConfig(env);
    const queryApi = createQueryApi(queryApiConfig, {
      logger: createLogger('query-api', level),
      metrics: createMetricsRegistry('query-api'),
      clickhouse: createClickHouse({ ...endpoints.clickhouse, settings: { readonly: '1' } }),
    });
    await queryApi.start();
    started.push({ name: 'query-api', stop: () => queryApi.stop() });

    if (opts.simulate) {
      const scenario = loadScenario(opts.scenario ?? defaultScenarioPath);
      const simulator = createSimulator({
        scenario,
        endpoint: collector.ingestUrl,
        logger: createLogger('simulator', level),
      });
      await simulator.start();
      started.push({ name: 'simulator', stop: () => simulator.stop() });
    }

    opts.out('');
    opts.out(`  dashboard   ${queryApi.url}/#token=${token}`);
    opts.out(`  query API   ${queryApi.url}/v1  (Authorization: Bearer ${token})`);
    opts.out(`  ingest      ${collector.ingestUrl}/v1/k8s-events?cluster=NAME  and  ${collector.ingestUrl}/v1/logs`);
    opts.out(
      `  kafka       ${endpoints.kafka.brokers.join(',')}   clickhouse ${endpoints.clickhouse.url} (database ${analyzerConfig.database})`,
    );
    opts.out(
      `  source      ${opts.kubeconfig ? `clusters from ${opts.kubeconfig}` : opts.simulate ? `simulated fleet (${opts.scenario ?? 'default scenario'})` : 'ingest endpoints only (feed it with pullwatch replay)'}`,
    );
    opts.out('  Ctrl-C stops everything.');
    opts.out('');

    const every = opts.summaryEverySeconds ?? 5;
    if (every > 0) {
      const summaryClient = createClickHouse({
        ...endpoints.clickhouse,
        database: analyzerConfig.database,
        settings: { readonly: '1' },
      });
      let prev: SummarySample | null = null;
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        sample(summaryClient, collector)
          .then((cur) => {
            opts.out(summaryLine(prev, cur));
            prev = cur;
          })
          .catch((err: unknown) => opts.err(`summary: ${err instanceof Error ? err.message : String(err)}`))
          .finally(() => {
            busy = false;
          });
      }, every * 1000);
      timer.unref();
      // Registered last so it stops first.
      started.push({
        name: 'summary',
        stop: async () => {
          clearInterval(timer);
          await summaryClient.close();
        },
      });
    }

    return { endpoints, apiUrl: queryApi.url, ingestUrl: collector.ingestUrl, token, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function sample(
  client: ReturnType<typeof createClickHouse>,
  collector: { stats(): { forwarded: number } },
): Promise<SummarySample> {
  const causes = await client.query({
    query:
      'SELECT cause, sum(occurrences) AS n FROM pull_failures WHERE event_time >= now() - INTERVAL 15 MINUTE GROUP BY cause',
    format: 'JSONEachRow',
  });
  const incidents = await client.query({
    query: "SELECT count() AS n FROM incidents FINAL WHERE status = 'open'",
    format: 'JSONEachRow',
  });
  const stuck = await client.query({
    query:
      "SELECT count() AS n FROM pod_pull_state FINAL WHERE status = 'stuck' AND last_failure >= now() - INTERVAL 15 MINUTE",
    format: 'JSONEachRow',
  });
  const failuresByCause: Record<string, number> = {};
  for (const r of await causes.json<{ cause: string; n: number | string }>()) failuresByCause[r.cause] = Number(r.n);
  return {
    atMs: Date.now(),
    eventsForwarded: collector.stats().forwarded,
    failuresByCause,
    openIncidents: Number((await incidents.json<{ n: number | string }>())[0]?.n ?? 0),
    stuckPods: Number((await stuck.json<{ n: number | string }>())[0]?.n ?? 0),
  };
}
