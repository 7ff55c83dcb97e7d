import { loadMigrateConfig } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import type { Command } from '../command.ts';
import { applyMigrations, describeMigrations } from '../migrations.ts';

const migrateCommand: Command = async () => {
  const cfg = loadMigrateConfig();
  const endpoints = resolveEndpoints(loadEnginesConfig(process.env, { kafka: false }));
  const results = await applyMigrations(endpoints.clickhouse, cfg);
  process.stdout.write(`${describeMigrations(results, cfg.database)}\n`);
  return 0;
};

export default migrateCommand;
