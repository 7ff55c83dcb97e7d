import { randomUUID } from 'node:crypto';
import {
  type EngineEndpoints,
  LocalCluster,
  LocalEngines,
  loadEnginesConfig,
  probeEndpoints,
  resolveEndpoints,
  startContainers,
} from '@pullwatch/engines';
import { removeRunLeftovers } from '../support/leftovers.ts';

/**
 * Brings up the real engines once for the integration project, then hands their addresses to the
 * test workers as `external` endpoints, so every test connects the same way whatever the mode.
 * Engines that were already running are reused and left running; engines this run started are stopped.
 * Either way the topics and databases the run made are deleted first (PULLWATCH_TEST_KEEP=1 keeps them,
 * to look at after a failure).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const cfg = loadEnginesConfig();
  const log = (line: string) => process.stderr.write(`[engines] ${line}\n`);
  const run = randomUUID().slice(0, 4);
  // The test workers inherit it: uniqueName (test/support/endpoints.ts) puts it in every name.
  process.env.PULLWATCH_TEST_RUN = run;
  let teardown = async () => {};
  let used: EngineEndpoints | null = null;
  const stopEngines = () => teardown();
  const cleanUp = async () => {
    if (!used || process.env.PULLWATCH_TEST_KEEP === '1') return;
    try {
      const removed = await removeRunLeftovers(run, used);
      log(`removed what run ${run} made: ${removed.topics} topics, ${removed.databases} databases`);
    } catch (err) {
      // Never fails the run: the leftovers only cost disk space.
      log(`could not remove what run ${run} made: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  if (cfg.mode === 'local' && cfg.topology === 'cluster') {
    // PULLWATCH_TOPOLOGY=cluster: the same tests against 3 brokers and (connected to its first) 2 shards.
    const cluster = new LocalCluster(cfg);
    const report = await cluster.up(log);
    log(
      `cluster: brokers started [${report.kafka.started.join(',')}], shards started ` +
        `[${report.clickhouse.started.join(',')}]`,
    );
    used = cluster.endpoints();
    exportEndpoints(used);
    if (report.kafka.started.length || report.clickhouse.started.length)
      teardown = async () => void (await cluster.down());
  } else if (cfg.mode === 'local') {
    const engines = new LocalEngines(cfg);
    const report = await engines.up(log);
    log(
      `kafka ${report.kafka.reused ? 'reused' : `ready in ${report.kafka.readyMs} ms`}, ` +
        `clickhouse ${report.clickhouse.reused ? 'reused' : `ready in ${report.clickhouse.readyMs} ms`}`,
    );
    used = engines.endpoints();
    exportEndpoints(used);
    if (!report.kafka.reused || !report.clickhouse.reused) {
      teardown = async () => {
        if (!report.kafka.reused) await engines.kafka.down();
        if (!report.clickhouse.reused) await engines.clickhouse.down();
      };
    }
  } else if (cfg.mode === 'containers') {
    const running = await startContainers(cfg, log);
    exportEndpoints(running.endpoints);
    teardown = () => running.stop();
  } else {
    used = resolveEndpoints(cfg);
    const status = await probeEndpoints('external', used);
    if (!status.kafka.up || !status.clickhouse.up)
      throw new Error(`external engines not reachable: ${JSON.stringify(status)}`);
  }
  return async () => {
    await cleanUp();
    await stopEngines();
  };
}

function exportEndpoints(e: {
  kafka: { brokers: string[] };
  clickhouse: { url: string; user: string; password: string };
}): void {
  process.env.PULLWATCH_ENGINES = 'external';
  process.env.PULLWATCH_KAFKA_BROKERS = e.kafka.brokers.join(',');
  process.env.PULLWATCH_CLICKHOUSE_URL = e.clickhouse.url;
  process.env.PULLWATCH_CLICKHOUSE_USER = e.clickhouse.user;
  process.env.PULLWATCH_CLICKHOUSE_PASSWORD = e.clickhouse.password;
}
