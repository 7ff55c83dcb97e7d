import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type KafkaSecurity, kafkaSecurityConfig } from '@pullwatch/kafka';

/** The repository root: engine files and the default state folder live relative to it. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const port = z.coerce.number().int().min(1).max(65535);

const EnvSchema = z.object({
  PULLWATCH_ENGINES: z.enum(['local', 'containers', 'external']).default('local'),
  PULLWATCH_HOME: z.string().min(1).optional(),
  PULLWATCH_KAFKA_PORT: port.default(19092),
  PULLWATCH_KAFKA_CONTROLLER_PORT: port.default(19093),
  PULLWATCH_CLICKHOUSE_PORT: port.default(18123),
  PULLWATCH_KAFKA_HEAP: z
    .string()
    .regex(/^\d+[mg]$/, 'like 512m or 1g')
    .default('512m'),
  PULLWATCH_TOPOLOGY: z.enum(['single', 'cluster']).default('single'),
  // The cluster topology's ports (local engines): brokers on BASE, BASE+2, BASE+4 (each controller one
  // above its broker), ClickHouse shards' HTTP on BASE, BASE+1 and their native TCP on BASE, BASE+1.
  PULLWATCH_CLUSTER_KAFKA_PORT: port.default(29092),
  PULLWATCH_CLUSTER_CLICKHOUSE_PORT: port.default(29123),
  PULLWATCH_CLUSTER_CLICKHOUSE_TCP_PORT: port.default(29900),
  PULLWATCH_KAFKA_BROKERS: z.string().optional(),
  PULLWATCH_CLICKHOUSE_URL: z.url().optional(),
  PULLWATCH_CLICKHOUSE_USER: z.string().default('default'),
  PULLWATCH_CLICKHOUSE_PASSWORD: z.string().default(''),
  PULLWATCH_CLICKHOUSE_CA_FILE: z.string().trim().min(1).optional(),
  // The PULLWATCH_KAFKA_SSL*/SASL* settings: kafkaSecurityConfig, for callers that connect to Kafka.
  JAVA_HOME: z.string().optional(),
});

export type EngineMode = z.infer<typeof EnvSchema>['PULLWATCH_ENGINES'];
export type Topology = z.infer<typeof EnvSchema>['PULLWATCH_TOPOLOGY'];

/** The ClickHouse cluster name the cluster topology declares in `remote_servers`. */
export const CLUSTER_NAME = 'pullwatch';
export const CLUSTER_BROKERS = 3;
export const CLUSTER_SHARDS = 2;

export interface ClusterPorts {
  kafka: { id: number; port: number; controllerPort: number }[];
  clickhouse: { shard: number; httpPort: number; tcpPort: number }[];
}

export interface EnginesConfig {
  mode: EngineMode;
  /** `single`: one broker, one ClickHouse; `cluster`: 3 brokers and 2 ClickHouse shards (local engines). */
  topology: Topology;
  cluster: ClusterPorts;
  /** Where local engines keep jars, data, logs and pid files. */
  home: string;
  kafka: {
    port: number;
    controllerPort: number;
    heap: string;
    brokers?: string[];
    java: string;
    /** TLS and SASL for external brokers (the local broker is plaintext). */
    security: KafkaSecurity;
  };
  clickhouse: {
    port: number;
    url?: string;
    user: string;
    password: string;
    /** The CA that signed an external ClickHouse's HTTPS certificate (PEM), from PULLWATCH_CLICKHOUSE_CA_FILE. */
    caCert?: Buffer;
  };
}

/** Which engines the caller connects to: the security settings of the other one are not its business. */
export interface EnginesUse {
  /** Parse the Kafka security settings (default true); false: `kafka.security` is plaintext. */
  kafka?: boolean;
  /** Read PULLWATCH_CLICKHOUSE_CA_FILE (default true). */
  clickhouse?: boolean;
}

/**
 * Parses the engine settings from the environment once, with messages that name the variable. A
 * service that does not talk to Kafka (the query API, migrate) passes `{ kafka: false }`: the chart
 * gives every service the shared settings (e.g. PULLWATCH_KAFKA_SASL_MECHANISM) but the credentials
 * only to those that connect.
 */
export function loadEnginesConfig(env: NodeJS.ProcessEnv = process.env, use: EnginesUse = {}): EnginesConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid engine settings: ${issues}`);
  }
  const e = parsed.data;
  const brokers = e.PULLWATCH_KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (e.PULLWATCH_ENGINES === 'external' && (!brokers?.length || !e.PULLWATCH_CLICKHOUSE_URL)) {
    throw new Error(
      'PULLWATCH_ENGINES=external needs PULLWATCH_KAFKA_BROKERS (host:port[,host:port]) and PULLWATCH_CLICKHOUSE_URL',
    );
  }
  // Parsed here too (not only by the Kafka package) so that every command reading the engine settings
  // fails at start, naming the variable, whatever it then connects to.
  const security: KafkaSecurity = use.kafka === false ? {} : kafkaSecurityConfig(env);
  if (e.PULLWATCH_ENGINES === 'local' && (security.tls || security.sasl))
    throw new Error(
      `invalid engine settings: ${security.tls ? 'PULLWATCH_KAFKA_SSL' : 'PULLWATCH_KAFKA_SASL_MECHANISM'} is set ` +
        'but the local Kafka broker is plaintext without SASL; use PULLWATCH_ENGINES=external for a secured cluster',
    );
  let caCert: Buffer | undefined;
  if (e.PULLWATCH_CLICKHOUSE_CA_FILE && use.clickhouse !== false) {
    if (e.PULLWATCH_ENGINES === 'local')
      throw new Error(
        'invalid engine settings: PULLWATCH_CLICKHOUSE_CA_FILE is set but the local ClickHouse serves plain HTTP; ' +
          'use PULLWATCH_ENGINES=external',
      );
    try {
      caCert = readFileSync(e.PULLWATCH_CLICKHOUSE_CA_FILE);
    } catch (err) {
      throw new Error(
        `PULLWATCH_CLICKHOUSE_CA_FILE: cannot read ${e.PULLWATCH_CLICKHOUSE_CA_FILE}: ` +
          `${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return {
    mode: e.PULLWATCH_ENGINES,
    topology: e.PULLWATCH_TOPOLOGY,
    cluster: {
      kafka: Array.from({ length: CLUSTER_BROKERS }, (_, i) => ({
        id: i + 1,
        port: e.PULLWATCH_CLUSTER_KAFKA_PORT + 2 * i,
        controllerPort: e.PULLWATCH_CLUSTER_KAFKA_PORT + 2 * i + 1,
      })),
      clickhouse: Array.from({ length: CLUSTER_SHARDS }, (_, i) => ({
        shard: i + 1,
        httpPort: e.PULLWATCH_CLUSTER_CLICKHOUSE_PORT + i,
        tcpPort: e.PULLWATCH_CLUSTER_CLICKHOUSE_TCP_PORT + i,
      })),
    },
    home: e.PULLWATCH_HOME ? resolve(e.PULLWATCH_HOME) : join(repoRoot, '.pullwatch'),
    kafka: {
      port: e.PULLWATCH_KAFKA_PORT,
      controllerPort: e.PULLWATCH_KAFKA_CONTROLLER_PORT,
      heap: e.PULLWATCH_KAFKA_HEAP,
      java: e.JAVA_HOME ? join(e.JAVA_HOME, 'bin/java') : 'java',
      security,
      ...(brokers ? { brokers } : {}),
    },
    clickhouse: {
      port: e.PULLWATCH_CLICKHOUSE_PORT,
      user: e.PULLWATCH_CLICKHOUSE_USER,
      password: e.PULLWATCH_CLICKHOUSE_PASSWORD,
      ...(caCert ? { caCert } : {}),
      ...(e.PULLWATCH_CLICKHOUSE_URL ? { url: e.PULLWATCH_CLICKHOUSE_URL } : {}),
    },
  };
}
