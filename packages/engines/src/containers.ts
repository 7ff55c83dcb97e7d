import type { EnginesConfig } from './config.ts';
import type { EngineEndpoints, Progress } from './types.ts';

export const KAFKA_IMAGE = 'apache/kafka:4.1.1';
export const CLICKHOUSE_IMAGE = 'clickhouse/clickhouse-server:25.8';

export interface RunningContainers {
  endpoints: EngineEndpoints;
  stop(): Promise<void>;
}

/**
 * The official images through testcontainers, for machines with a Docker engine. They live as long
 * as the process that started them (testcontainers' reaper removes them when it exits).
 */
export async function startContainers(cfg: EnginesConfig, progress: Progress): Promise<RunningContainers> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafkaPort = cfg.kafka.port;
  progress(`containers: starting ${KAFKA_IMAGE} and ${CLICKHOUSE_IMAGE}`);
  // Kafka advertises the address clients must dial, so the host port is fixed to the container's.
  const kafka = new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: kafkaPort, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${kafkaPort},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_MESSAGE_MAX_BYTES: '16777216',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const clickhouse = new GenericContainer(CLICKHOUSE_IMAGE)
    .withExposedPorts(8123)
    .withEnvironment({
      CLICKHOUSE_USER: cfg.clickhouse.user,
      CLICKHOUSE_PASSWORD: cfg.clickhouse.password,
      CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: '1',
    })
    .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
    .start();
  const [k, c] = await Promise.all([kafka, clickhouse]);
  return {
    endpoints: {
      kafka: { brokers: [`127.0.0.1:${kafkaPort}`] },
      clickhouse: {
        url: `http://${c.getHost()}:${c.getMappedPort(8123)}`,
        user: cfg.clickhouse.user,
        password: cfg.clickhouse.password,
      },
    },
    async stop() {
      await Promise.all([k.stop(), c.stop()]);
    },
  };
}
