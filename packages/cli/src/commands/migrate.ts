import { createClickHouse, loadMigrateConfig, migrate } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import type { Command } from '../command.ts';

const migrateCommand: Command = async () => {
  const cfg = loadMigrateConfig();
  const endpoints = resolveEndpoints(loadEnginesConfig(process.env, { kafka: false }));
  const client = createClickHouse({ ...endpoints.clickhouse });
  try {
    const r = await migrate(client, { database: cfg.database, ttlDays: cfg.ttlDays, cluster: cfg.cluster });
    process.stdout.write(
      `${cfg.database} at ${endpoints.clickhouse.url}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date'}${r.alreadyApplied.length ? ` (already applied: ${r.alreadyApplied.join(', ')})` : ''}\n`,
    );
    return 0;
  } finally {
    await client.close();
  }
};

export default migrateCommand;
