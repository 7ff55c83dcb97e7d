import { LocalEngines, loadEnginesConfig } from '@pullwatch/engines';
import type { Command } from '../command.ts';

// Until the services land, the main job brings the engines up and reports what is running.
const start: Command = async () => {
  const cfg = loadEnginesConfig();
  if (cfg.mode !== 'local') throw new Error(`PULLWATCH_ENGINES=${cfg.mode}: nothing to start yet`);
  const engines = new LocalEngines(cfg);
  await engines.up((line) => process.stderr.write(`${line}\n`));
  const status = await engines.status();
  process.stdout.write(`kafka       ${status.kafka.brokers.join(',')}\nclickhouse  ${status.clickhouse.url}\n`);
  return 0;
};

export default start;
