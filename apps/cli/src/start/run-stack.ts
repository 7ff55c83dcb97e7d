import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type EnginesConfig,
  LocalCluster,
  LocalEngines,
  loadEnginesConfig,
  probeEndpoints,
  resolveEndpoints,
  startContainers,
  type EngineEndpoints,
  type Topology,
} from '@pullwatch/engines';
import { createClickHouse, FleetTables, loadMigrateConfig, type MigrateConfig } from '@pullwatch/clickhouse';
import { createLogger } from '@pullwatch/telemetry';
import { type AnalyzerConfig, loadAnalyzerConfig } from '@pullwatch/analyzer';
import { createSimulator, defaultScenarioPath, loadScenario } from '@pullwatch/simulator';
import { applyMigrations as migrateAll, describeMigrations } from '../migrations.ts';
import { ensureApiToken, ensureIngestToken } from './api-token.ts';
import { type ServiceProcess, startServiceProcess } from './service-process.ts';
import { forwardedEvents, summaryLine, type SummarySample } from './summary.ts';

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
  /** The `pullwatch` entry script the services run from (the one this command was started with). */
  cliEntry?: string;
  /** Analyzer processes in one consumer group (at most the topic's partitions do work). */
  analyzers?: number;
  /** `cluster`: 3 Kafka brokers and 2 ClickHouse shards (local engines); default from PULLWATCH_TOPOLOGY. */
  topology?: Topology;
}

export interface RunningStack {
  endpoints: EngineEndpoints;
  apiUrl: string;
  ingestUrl: string;
  token: string;
  /** The service processes, for tests and the summary. */
  services: ServiceProcess[];
  /** The collector's ingest token (every cluster), kept in `.pullwatch/ingest-token`. */
  ingestToken: string;
  stop(): Promise<void>;
}

interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

const defaultCliEntry = fileURLToPath(new URL('../../bin/pullwatch.js', import.meta.url));

/**
 * The main job: engines (reused when running), migrations, then the analyzer(s), the collector and the
 * query API each in a process of its own (so the pipeline uses every core), and — without a kubeconfig —
 * the fleet simulator. `stop()` takes them down in reverse order (sources first, so everything accepted
 * is flushed and committed) and stops the engines this run started.
 */
export async function runStack(opts: StackOptions): Promise<RunningStack> {
  const env = { ...(opts.env ?? process.env) };
  if (opts.topology) env.PULLWATCH_TOPOLOGY = opts.topology;
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
    const endpoints = await startEngines(enginesConfig, progress, started);
    Object.assign(env, {
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      PULLWATCH_CLICKHOUSE_URL: endpoints.clickhouse.url,
      PULLWATCH_CLICKHOUSE_USER: endpoints.clickhouse.user,
      PULLWATCH_CLICKHOUSE_PASSWORD: endpoints.clickhouse.password,
      PULLWATCH_LOG_LEVEL: env.PULLWATCH_LOG_LEVEL ?? 'warn',
      // A sharded cluster without Keeper: migrations on every shard, reads through the _all tables.
      ...(endpoints.clickhouse.cluster
        ? {
            PULLWATCH_CLICKHOUSE_CLUSTER: endpoints.clickhouse.cluster,
            PULLWATCH_CLICKHOUSE_REPLICATED: 'false',
            PULLWATCH_CLICKHOUSE_SHARDS: (endpoints.clickhouse.shards ?? []).join(','),
          }
        : {}),
    });

    const token =
      env.PULLWATCH_API_TOKENS?.split(',')[0]?.trim() || ensureApiToken(join(enginesConfig.home, 'api-token')).token;
    if (!env.PULLWATCH_API_TOKENS && !env.PULLWATCH_API_TOKENS_FILE)
      env.PULLWATCH_API_TOKENS_FILE = join(enginesConfig.home, 'api-token');

    // The ingest token: PULLWATCH_INGEST_TOKEN, else created once in .pullwatch/ingest-token (every cluster).
    const ingestTokenFile = join(enginesConfig.home, 'ingest-token');
    const ingestTokenGiven = Boolean(env.PULLWATCH_INGEST_TOKEN?.trim());
    const ingestToken = env.PULLWATCH_INGEST_TOKEN?.trim() || ensureIngestToken(ingestTokenFile).token;

    if (env.PULLWATCH_INGEST_AUTH !== 'none') env.PULLWATCH_INGEST_TOKEN = ingestToken;

    const analyzerConfig = loadAnalyzerConfig(env);
    await applyMigrations(endpoints, loadMigrateConfig(env), progress);

    const services = await startServices(opts, env, started);
    const [collector, queryApi] = [services.get('collector')!, services.get('query-api')!];

    if (opts.simulate) await startSimulator(opts, collector.url!, ingestToken, env, started);
    printBanner(opts, {
      apiUrl: queryApi.url!,
      ingestUrl: collector.url!,
      token,
      ingestToken,
      ingestTokenFile: ingestTokenGiven ? null : ingestTokenFile,
      endpoints,
      analyzerConfig,
    });
    startSummary(
      opts,
      endpoints,
      new FleetTables(analyzerConfig.database, analyzerConfig.clickhouseCluster),
      collector.url!,
      started,
    );

    return {
      endpoints,
      apiUrl: queryApi.url!,
      ingestUrl: collector.url!,
      token,
      ingestToken,
      services: [...services.values()],
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The local engines (reused when running), containers, or the external servers the settings name. */
async function startEngines(
  cfg: EnginesConfig,
  progress: (line: string) => void,
  started: Stoppable[],
): Promise<EngineEndpoints> {
  if (cfg.mode === 'local' && cfg.topology === 'cluster') {
    const cluster = new LocalCluster(cfg);
    const report = await cluster.up(progress);
    progress(
      `kafka brokers started [${report.kafka.started.join(',')}] running [${report.kafka.reused.join(',')}], ` +
        `clickhouse shards started [${report.clickhouse.started.join(',')}] running ` +
        `[${report.clickhouse.reused.join(',')}]`,
    );
    if (report.kafka.started.length || report.clickhouse.started.length)
      started.push({ name: 'engines', stop: async () => void (await cluster.down()) });
    return cluster.endpoints();
  }
  if (cfg.mode === 'local') {
    const engines = new LocalEngines(cfg);
    const report = await engines.up(progress);
    const seconds = (ms: number) => `ready in ${(ms / 1000).toFixed(1)} s`;
    progress(
      `kafka ${report.kafka.reused ? 'already running' : seconds(report.kafka.readyMs)}, ` +
        `clickhouse ${report.clickhouse.reused ? 'already running' : seconds(report.clickhouse.readyMs)}`,
    );
    started.push({
      name: 'engines',
      stop: async () => {
        if (!report.kafka.reused) await engines.kafka.down();
        if (!report.clickhouse.reused) await engines.clickhouse.down();
      },
    });
    return engines.endpoints();
  }
  if (cfg.mode === 'containers') {
    const running = await startContainers(cfg, progress);
    started.push({ name: 'containers', stop: () => running.stop() });
    return running.endpoints;
  }
  const endpoints = resolveEndpoints(cfg);
  const status = await probeEndpoints('external', endpoints);
  if (!status.kafka.up || !status.clickhouse.up)
    throw new Error(`external engines not reachable: ${JSON.stringify(status)}`);
  return endpoints;
}

async function applyMigrations(
  endpoints: EngineEndpoints,
  cfg: MigrateConfig,
  progress: (line: string) => void,
): Promise<void> {
  const results = await migrateAll(endpoints.clickhouse, cfg);
  for (const line of describeMigrations(results, cfg.database).split('\n')) progress(`migrations: ${line}`);
}

/**
 * The analyzers first (they create the topic and join the group), then the collector, then the query API;
 * each a process of its own, its log lines prefixed with its name. Registered in that order, so the stop
 * takes the collector down before the analyzers commit their last batch.
 */
async function startServices(
  opts: StackOptions,
  env: NodeJS.ProcessEnv,
  started: Stoppable[],
): Promise<Map<string, ServiceProcess>> {
  const cliEntry = opts.cliEntry ?? defaultCliEntry;
  const line = (text: string) => opts.err(text);
  const services = new Map<string, ServiceProcess>();
  const run = async (name: string, service: string, args: string[] = [], serviceEnv = env) => {
    const p = await startServiceProcess({ service, cliEntry, args, env: serviceEnv, line });
    services.set(name, p);
    started.push({ name, stop: () => p.stop() });
  };
  // On a sharded ClickHouse each analyzer writes its event rows to one shard (its retries meet that
  // shard's deduplication window): analyzer i to shard i mod n, one per shard unless told otherwise.
  const shards = env.PULLWATCH_CLICKHOUSE_SHARDS?.split(',').filter(Boolean) ?? [];
  const analyzers = opts.analyzers ?? Math.max(1, shards.length);
  await Promise.all(
    Array.from({ length: analyzers }, (_, i) =>
      run(
        analyzers === 1 ? 'analyzer' : `analyzer-${i + 1}`,
        'analyzer',
        [],
        shards.length ? { ...env, PULLWATCH_CLICKHOUSE_URL: shards[i % shards.length] } : env,
      ),
    ),
  );
  await run('collector', 'collector', [
    ...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : []),
    ...opts.contexts.flatMap((c) => ['--context', c]),
    ...(opts.allEvents ? ['--all-events'] : []),
  ]);
  await run('query-api', 'query-api');
  return services;
}

async function startSimulator(
  opts: StackOptions,
  ingestUrl: string,
  token: string,
  env: NodeJS.ProcessEnv,
  started: Stoppable[],
): Promise<void> {
  const scenario = loadScenario(opts.scenario ?? defaultScenarioPath);
  const simulator = createSimulator({
    scenario,
    endpoint: ingestUrl,
    token,
    logger: createLogger('simulator', (env.PULLWATCH_LOG_LEVEL as 'info' | undefined) ?? 'warn'),
  });
  await simulator.start();
  started.push({ name: 'simulator', stop: () => simulator.stop() });
}

function printBanner(
  opts: StackOptions,
  s: {
    apiUrl: string;
    ingestUrl: string;
    token: string;
    ingestToken: string;
    ingestTokenFile: string | null;
    endpoints: EngineEndpoints;
    analyzerConfig: AnalyzerConfig;
  },
): void {
  const source = opts.kubeconfig
    ? `clusters from ${opts.kubeconfig}`
    : opts.simulate
      ? `simulated fleet (${opts.scenario ?? 'default scenario'})`
      : 'ingest endpoints only (feed it with pullwatch replay)';
  opts.out('');
  opts.out(`  dashboard   ${s.apiUrl}/#token=${s.token}`);
  opts.out(`  query API   ${s.apiUrl}/v1  (Authorization: Bearer ${s.token})`);
  opts.out(`  ingest      ${s.ingestUrl}/v1/k8s-events?cluster=NAME  and  ${s.ingestUrl}/v1/logs`);
  opts.out(
    `              (Authorization: Bearer ${s.ingestToken}, every ` +
      `cluster${s.ingestTokenFile ? `; kept in ${s.ingestTokenFile}` : ''})`,
  );
  opts.out(
    `  kafka       ${s.endpoints.kafka.brokers.join(',')}   ` +
      `clickhouse ${s.endpoints.clickhouse.url} (database ${s.analyzerConfig.database})`,
  );
  opts.out(`  source      ${source}`);
  opts.out('  Ctrl-C stops everything.');
  opts.out('');
}

/** A status line every few seconds from ClickHouse and the collector's own counters. */
function startSummary(
  opts: StackOptions,
  endpoints: EngineEndpoints,
  tables: FleetTables,
  collectorUrl: string,
  started: Stoppable[],
): void {
  const every = opts.summaryEverySeconds ?? 5;
  if (every <= 0) return;
  const client = createClickHouse({ ...endpoints.clickhouse, settings: { readonly: '1' } });
  let prev: SummarySample | null = null;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    sample(client, tables, collectorUrl)
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
      await client.close();
    },
  });
}

/** The whole fleet's figures: on a sharded cluster through the `_all` tables. */
async function sample(
  client: ReturnType<typeof createClickHouse>,
  t: FleetTables,
  collectorUrl: string,
): Promise<SummarySample> {
  const causes = await client.query({
    query:
      `SELECT cause, sum(occurrences) AS n FROM ${t.read('pull_failures')} WHERE event_time >= now() - ` +
      `INTERVAL 15 MINUTE GROUP BY cause`,
    format: 'JSONEachRow',
  });
  const incidents = await client.query({
    query: `SELECT count() AS n FROM ${t.read('incidents')} FINAL WHERE status = 'open'`,
    format: 'JSONEachRow',
  });
  const stuck = await client.query({
    query:
      `SELECT count() AS n FROM ${t.read('pod_pull_state')} FINAL WHERE status = 'stuck' AND last_failure ` +
      `>= now() - INTERVAL 15 MINUTE`,
    format: 'JSONEachRow',
  });
  const failuresByCause: Record<string, number> = {};
  for (const r of await causes.json<{ cause: string; n: number | string }>()) failuresByCause[r.cause] = Number(r.n);
  return {
    atMs: Date.now(),
    eventsForwarded: forwardedEvents(await (await fetch(`${collectorUrl}/metrics`)).text()),
    failuresByCause,
    openIncidents: Number((await incidents.json<{ n: number | string }>())[0]?.n ?? 0),
    stuckPods: Number((await stuck.json<{ n: number | string }>())[0]?.n ?? 0),
  };
}
