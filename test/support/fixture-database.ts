import { type ClickHouseClient, createClickHouse, migrate } from '@pullwatch/clickhouse';
import { testEndpoints, uniqueName } from './endpoints.ts';

/**
 * A database of one test file's own, migrated and filled with rows as the test writes them: a unique
 * one on the integration tests' ClickHouse (dropped, and the client closed, by `drop()`), or a given one
 * through another server's admin client (left to its owner).
 */
export class FixtureDatabase {
  readonly admin: ClickHouseClient;
  readonly database: string;
  private readonly owned: boolean;

  constructor(name: string, on?: { admin: ClickHouseClient; database: string }) {
    this.owned = on === undefined;
    this.admin = on?.admin ?? createClickHouse({ ...testEndpoints().clickhouse });
    this.database = on?.database ?? uniqueName(name);
  }

  migrate(): Promise<unknown> {
    return migrate(this.admin, { database: this.database, ttlDays: 90 });
  }

  /** Inserts rows (JSONEachRow) into one of the database's tables, readable as soon as this resolves. */
  async insert(table: string, values: readonly unknown[]): Promise<void> {
    await this.admin.insert({
      table: `${this.database}.${table}`,
      format: 'JSONEachRow',
      clickhouse_settings: { async_insert: 0 },
      values: [...values],
    });
  }

  /** Drops the database and closes the client (only a database this made itself). */
  async drop(): Promise<void> {
    if (!this.owned) return;
    await this.admin.command({ query: `DROP DATABASE IF EXISTS ${this.database}` });
    await this.admin.close();
  }
}
