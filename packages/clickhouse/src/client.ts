import { createClient, ClickHouseLogLevel, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';

export interface ClickHouseConfig {
  url: string;
  user: string;
  password: string;
  database?: string;
  /** Per-request settings, e.g. `readonly: '1'` for the query API on engines without a read-only user. */
  settings?: ClickHouseSettings;
  requestTimeoutMs?: number;
  /** The CA (PEM) that signed the server's HTTPS certificate (PULLWATCH_CLICKHOUSE_CA_FILE); absent: Node's CAs. */
  caCert?: Buffer;
}

export function createClickHouse(cfg: ClickHouseConfig): ClickHouseClient {
  return createClient({
    url: cfg.url,
    username: cfg.user,
    password: cfg.password,
    ...(cfg.database ? { database: cfg.database } : {}),
    request_timeout: cfg.requestTimeoutMs ?? 30_000,
    clickhouse_settings: cfg.settings ?? {},
    log: { level: ClickHouseLogLevel.OFF },
    ...(cfg.caCert ? { tls: { ca_cert: cfg.caCert } } : {}),
  });
}
