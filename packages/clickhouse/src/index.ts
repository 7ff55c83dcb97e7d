export { createClickHouse, type ClickHouseConfig } from './client.ts';
export {
  migrate,
  migrateShards,
  loadMigrations,
  MIGRATIONS_DIR,
  type Migration,
  type MigrationOptions,
  type MigrateResult,
} from './migrations.ts';
export { type ClickHouseClient, TupleParam } from '@clickhouse/client';
export {
  RowBinaryFormat,
  RowBlock,
  RowBlockWriter,
  insertRowBinary,
  type RowBinaryColumns,
  type RowBinaryType,
  type RowBinaryValue,
  type RowOf,
  type TableColumns,
} from './row-binary.ts';
export { waitForClickHouse } from './reachable.ts';
export { seedHistory, type SeedHistoryOptions } from './seed-history.ts';
export { FleetTables } from './fleet-tables.ts';
export {
  ClickHouseUnavailableError,
  ClickHouseQueryError,
  ClickHouseTlsError,
  clickHouseTlsError,
  toClickHouseError,
  queryRows,
} from './errors.ts';
export { DatabaseEnvShape, loadMigrateConfig, MigrateEnvShape, type MigrateConfig } from './config.ts';
