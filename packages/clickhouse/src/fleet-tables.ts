/**
 * The names to read the whole fleet from: on one server the tables themselves; on a cluster their
 * `<table>_all` Distributed tables (migration 0004), which combine every shard.
 */
export class FleetTables {
  constructor(
    readonly database: string,
    readonly cluster?: string | undefined,
  ) {}

  /** Where reads that must see every shard go. */
  read(table: string): string {
    return this.cluster ? `${this.database}.${table}_all` : `${this.database}.${table}`;
  }

  /** The table on the connected server (its shard, on a cluster). */
  local(table: string): string {
    return `${this.database}.${table}`;
  }
}
