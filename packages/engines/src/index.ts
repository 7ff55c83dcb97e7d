export {
  loadEnginesConfig,
  repoRoot,
  CLUSTER_NAME,
  type EnginesConfig,
  type EngineMode,
  type EnginesUse,
  type Topology,
} from './config.ts';
export { LocalCluster, type ClusterUpReport } from './local-cluster.ts';
export { LocalEngines, type UpReport } from './local-engines.ts';
export { LocalKafka, type LocalKafkaExtras } from './local-kafka.ts';
export { LocalClickHouse } from './local-clickhouse.ts';
export { startContainers, KAFKA_IMAGE, CLICKHOUSE_IMAGE, type RunningContainers } from './containers.ts';
export { resolveEndpoints, probeEndpoints } from './endpoints.ts';
export type {
  EngineEndpoints,
  EnginesStatus,
  EngineState,
  Progress,
  KafkaNodeStatus,
  ClickHouseNodeStatus,
} from './types.ts';
