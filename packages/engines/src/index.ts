export { loadEnginesConfig, repoRoot, type EnginesConfig, type EngineMode, type EnginesUse } from './config.ts';
export { LocalEngines, type UpReport } from './local-engines.ts';
export { LocalKafka, type LocalKafkaExtras } from './local-kafka.ts';
export { LocalClickHouse } from './local-clickhouse.ts';
export { startContainers, KAFKA_IMAGE, CLICKHOUSE_IMAGE, type RunningContainers } from './containers.ts';
export { resolveEndpoints, probeEndpoints } from './endpoints.ts';
export type { EngineEndpoints, EnginesStatus, EngineState, Progress } from './types.ts';
