import { parseArgs } from 'node:util';
import {
  LocalCluster,
  LocalEngines,
  loadEnginesConfig,
  probeEndpoints,
  resolveEndpoints,
  startContainers,
  type EnginesConfig,
  type EnginesStatus,
} from '@pullwatch/engines';
import type { Command } from '../command.ts';
import { stopSignal } from '../stop-signal.ts';

const USAGE = 'usage: pullwatch engines up|down|status|reset [--json] [--topology single|cluster]';

const engines: Command = async (args) => {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, topology: { type: 'string' } },
  });
  const action = positionals[0];
  const cfg = loadEnginesConfig(
    values.topology === undefined ? process.env : { ...process.env, PULLWATCH_TOPOLOGY: values.topology },
  );
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  if (action === 'status') {
    const topologyChosen = values.topology !== undefined || process.env.PULLWATCH_TOPOLOGY !== undefined;
    const status =
      cfg.mode !== 'local'
        ? await externalStatus(cfg.mode)
        : cfg.topology === 'cluster'
          ? await new LocalCluster(cfg).status()
          : await localStatus(cfg, topologyChosen);
    process.stdout.write(values.json ? `${JSON.stringify(status)}\n` : describe(status));
    return status.kafka.up && status.clickhouse.up ? 0 : 3;
  }

  if (action === 'up') {
    if (cfg.mode === 'external') {
      const status = await probeEndpoints(cfg.mode, resolveEndpoints(cfg));
      process.stdout.write(describe(status));
      return status.kafka.up && status.clickhouse.up ? 0 : 1;
    }
    if (cfg.mode === 'containers') {
      const running = await startContainers(cfg, progress);
      process.stdout.write(
        `kafka ${running.endpoints.kafka.brokers.join(',')}\nclickhouse ${running.endpoints.clickhouse.url}\n`,
      );
      progress('containers live as long as this command: press Ctrl-C to stop them');
      await stopSignal();
      await running.stop();
      return 0;
    }
    if (cfg.topology === 'cluster') {
      const cluster = new LocalCluster(cfg);
      const report = await cluster.up(progress);
      for (const [name, r] of [
        ['kafka brokers', report.kafka],
        ['clickhouse shards', report.clickhouse],
      ] as const)
        progress(
          `${name}: started [${r.started.join(',')}], already ` +
            `running [${r.reused.join(',')}], ready in ${(r.readyMs / 1000).toFixed(1)} s`,
        );
      const status = await cluster.status();
      process.stdout.write(values.json ? `${JSON.stringify(status)}\n` : describe(status));
      return status.kafka.up && status.clickhouse.up ? 0 : 1;
    }
    const local = new LocalEngines(cfg);
    const report = await local.up(progress);
    const status = await local.status();
    for (const name of ['kafka', 'clickhouse'] as const) {
      const r = report[name];
      progress(`${name}: ${r.reused ? 'already running' : 'started'}, ready in ${(r.readyMs / 1000).toFixed(1)} s`);
    }
    process.stdout.write(values.json ? `${JSON.stringify(status)}\n` : describe(status));
    return 0;
  }

  if (action === 'down') {
    if (cfg.mode !== 'local') {
      process.stderr.write(`PULLWATCH_ENGINES=${cfg.mode}: pullwatch does not manage these engines; nothing stopped\n`);
      return 0;
    }
    const stopped = await (cfg.topology === 'cluster' ? new LocalCluster(cfg) : new LocalEngines(cfg)).down();
    for (const name of ['kafka', 'clickhouse'] as const)
      progress(`${name}: ${stopped[name] ? 'stopped' : 'was not running'}`);
    return 0;
  }

  if (action === 'reset') {
    if (cfg.mode !== 'local') {
      process.stderr.write(`PULLWATCH_ENGINES=${cfg.mode}: pullwatch does not manage these engines; nothing deleted\n`);
      return 2;
    }
    const stopped = await (cfg.topology === 'cluster' ? new LocalCluster(cfg) : new LocalEngines(cfg)).reset();
    for (const name of ['kafka', 'clickhouse'] as const)
      progress(`${name}: ${stopped[name] ? 'stopped' : 'was not running'}, its data deleted`);
    return 0;
  }

  process.stderr.write(`${USAGE}\n`);
  return 2;
};

/**
 * The single node's status; unless a topology was asked for, the cluster's when the single node is down and
 * the cluster is the one running (so `engines status` never reports "down" while `--topology cluster` runs).
 */
async function localStatus(cfg: EnginesConfig, topologyChosen: boolean): Promise<EnginesStatus> {
  const single = await new LocalEngines(cfg).status();
  if (topologyChosen || single.kafka.up || single.clickhouse.up) return single;
  const cluster = await new LocalCluster({ ...cfg, topology: 'cluster' }).status();
  return cluster.kafka.up || cluster.clickhouse.up ? cluster : single;
}

async function externalStatus(mode: string): Promise<EnginesStatus> {
  try {
    return await probeEndpoints(mode, resolveEndpoints(loadEnginesConfig()));
  } catch {
    return { mode, kafka: { up: false, brokers: [] }, clickhouse: { up: false, url: '' } };
  }
}

function describe(s: EnginesStatus): string {
  const mb = (b: number | null | undefined) => (b ? ` rss=${Math.round(b / 2 ** 20)}MB` : '');
  if (s.kafka.nodes && s.clickhouse.nodes)
    return [
      ...s.kafka.nodes.map(
        (n) =>
          `kafka-${n.id}     ${n.up ? 'up  ' : 'down'}  ${n.address}${n.pid ? ` pid=${n.pid}` : ''}${mb(n.rssBytes)}`,
      ),
      ...s.clickhouse.nodes.map(
        (n) =>
          `clickhouse-${n.shard}  ${n.up ? 'up  ' : 'down'}  ${n.url} (shard ${n.shard} of ` +
          `cluster ${s.clickhouse.cluster})${n.pid ? ` pid=${n.pid}` : ''}${mb(n.rssBytes)}`,
      ),
      '',
    ].join('\n');
  return [
    `kafka       ${s.kafka.up ? 'up  ' : 'down'}  ${s.kafka.brokers.join(',')}` +
      `${s.kafka.pid ? ` pid=${s.kafka.pid}` : ''}${mb(s.kafka.rssBytes)}`,
    `clickhouse  ${s.clickhouse.up ? 'up  ' : 'down'}  ${s.clickhouse.url}` +
      `${s.clickhouse.pid ? ` pid=${s.clickhouse.pid}` : ''}${mb(s.clickhouse.rssBytes)}`,
    '',
  ].join('\n');
}

export default engines;
