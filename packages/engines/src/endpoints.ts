import { describeCluster } from '@pullwatch/kafka';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { EnginesConfig } from './config.ts';
import type { EngineEndpoints, EnginesStatus } from './types.ts';
import { LocalCluster } from './local-cluster.ts';
import { LocalEngines } from './local-engines.ts';

/**
 * Where services connect. `local` engines answer on their configured ports; `external` ones come
 * from the environment. (`containers` exist only inside the process that started them, which passes
 * their endpoints on as `external`.)
 */
export function resolveEndpoints(cfg: EnginesConfig): EngineEndpoints {
  if (cfg.mode === 'local')
    return cfg.topology === 'cluster' ? new LocalCluster(cfg).endpoints() : new LocalEngines(cfg).endpoints();
  if (!cfg.kafka.brokers?.length || !cfg.clickhouse.url) {
    throw new Error(`PULLWATCH_ENGINES=${cfg.mode}: set PULLWATCH_KAFKA_BROKERS and PULLWATCH_CLICKHOUSE_URL`);
  }
  return {
    kafka: { brokers: cfg.kafka.brokers, security: cfg.kafka.security },
    clickhouse: {
      url: cfg.clickhouse.url,
      user: cfg.clickhouse.user,
      password: cfg.clickhouse.password,
      ...(cfg.clickhouse.caCert ? { caCert: cfg.clickhouse.caCert } : {}),
    },
  };
}

/** Reachability of engines we do not manage (external): the same checks as the local ready probes. */
export async function probeEndpoints(mode: string, e: EngineEndpoints): Promise<EnginesStatus> {
  const kafkaUp = async () => {
    try {
      return (await describeCluster(e.kafka.brokers, 3000, e.kafka.security)).brokers > 0;
    } catch {
      return false;
    }
  };
  const clickhouseUp = async () => {
    const client = createClient({
      url: e.clickhouse.url,
      username: e.clickhouse.user,
      password: e.clickhouse.password,
      request_timeout: 3000,
      log: { level: ClickHouseLogLevel.OFF },
      ...(e.clickhouse.caCert ? { tls: { ca_cert: e.clickhouse.caCert } } : {}),
    });
    try {
      const rows = await (await client.query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow' })).json<{
        ok: number;
      }>();
      return rows[0]?.ok === 1;
    } catch {
      return false;
    } finally {
      await client.close();
    }
  };
  const [k, c] = await Promise.all([kafkaUp(), clickhouseUp()]);
  return { mode, kafka: { up: k, brokers: e.kafka.brokers }, clickhouse: { up: c, url: e.clickhouse.url } };
}
