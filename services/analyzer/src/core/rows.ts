import { RowBinaryFormat } from '@pullwatch/clickhouse';

/**
 * Rows as the ClickHouse tables take them (see packages/clickhouse/migrations/0001_core.sql), with
 * times as epoch milliseconds (DateTime64(3) in RowBinary is that integer).
 */
export interface PullEventRow {
  event_time: number;
  first_time: number;
  received_at: number;
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  node: string;
  outcome: 'failure' | 'success' | 'present' | 'state';
  event_kind: string;
  occurrences: number;
  image: string;
  registry: string;
  provider: string;
  repository: string;
  tag: string;
  digest: string;
  tag_kind: string;
  cause: string;
  subcause: string;
  attributed: number;
  retryable: number;
  hint: string;
  message: string;
  pull_duration_ms: number;
  image_size_bytes: number;
  image_pull_policy: string;
  has_pull_secrets: number;
  event_uid: string;
  event_count: number;
  identity: string;
  kafka_partition: number;
  kafka_offset: number;
}

export interface RawEventRow {
  event_time: number;
  received_at: number;
  cluster: string;
  source: string;
  kind: string;
  namespace: string;
  object_kind: string;
  object_name: string;
  reason: string;
  type: string;
  message: string;
  event_uid: string;
  event_count: number;
  resource_version: string;
  identity: string;
  payload: string;
  kafka_partition: number;
  kafka_offset: number;
}

export interface PodStateRow {
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  image: string;
  node: string;
  registry: string;
  provider: string;
  status: 'failing' | 'stuck' | 'recovered';
  cause: string;
  subcause: string;
  hint: string;
  message: string;
  first_failure: number;
  last_failure: number;
  attempts: number;
  backoff_stage: number;
  backoff_seconds: number;
  recovered_at: number | null;
  time_to_recover_ms: number | null;
  image_pull_policy: string;
  has_pull_secrets: number;
  tag_kind: string;
  updated_at: number;
}

/** pull_events in RowBinary; the server checks these names and types against the table. */
export const PULL_EVENT_FORMAT = new RowBinaryFormat<PullEventRow>([
  ['event_time', "DateTime64(3, 'UTC')"],
  ['first_time', "DateTime64(3, 'UTC')"],
  ['received_at', "DateTime64(3, 'UTC')"],
  ['cluster', 'LowCardinality(String)'],
  ['namespace', 'LowCardinality(String)'],
  ['pod', 'String'],
  ['container', 'String'],
  ['node', 'LowCardinality(String)'],
  ['outcome', 'LowCardinality(String)'],
  ['event_kind', 'LowCardinality(String)'],
  ['occurrences', 'UInt32'],
  ['image', 'String'],
  ['registry', 'LowCardinality(String)'],
  ['provider', 'LowCardinality(String)'],
  ['repository', 'String'],
  ['tag', 'String'],
  ['digest', 'String'],
  ['tag_kind', 'LowCardinality(String)'],
  ['cause', 'LowCardinality(String)'],
  ['subcause', 'LowCardinality(String)'],
  ['attributed', 'UInt8'],
  ['retryable', 'UInt8'],
  ['hint', 'String'],
  ['message', 'String'],
  ['pull_duration_ms', 'UInt32'],
  ['image_size_bytes', 'UInt64'],
  ['image_pull_policy', 'LowCardinality(String)'],
  ['has_pull_secrets', 'Int8'],
  ['event_uid', 'String'],
  ['event_count', 'UInt32'],
  ['identity', 'String'],
  ['kafka_partition', 'UInt32'],
  ['kafka_offset', 'UInt64'],
]);

/** raw_events in RowBinary; the server checks these names and types against the table. */
export const RAW_EVENT_FORMAT = new RowBinaryFormat<RawEventRow>([
  ['event_time', "DateTime64(3, 'UTC')"],
  ['received_at', "DateTime64(3, 'UTC')"],
  ['cluster', 'LowCardinality(String)'],
  ['source', 'LowCardinality(String)'],
  ['kind', 'LowCardinality(String)'],
  ['namespace', 'LowCardinality(String)'],
  ['object_kind', 'LowCardinality(String)'],
  ['object_name', 'String'],
  ['reason', 'LowCardinality(String)'],
  ['type', 'LowCardinality(String)'],
  ['message', 'String'],
  ['event_uid', 'String'],
  ['event_count', 'UInt32'],
  ['resource_version', 'String'],
  ['identity', 'String'],
  ['payload', 'String'],
  ['kafka_partition', 'UInt32'],
  ['kafka_offset', 'UInt64'],
]);

/** pod_pull_state in RowBinary; the server checks these names and types against the table. */
export const POD_STATE_FORMAT = new RowBinaryFormat<PodStateRow>([
  ['cluster', 'LowCardinality(String)'],
  ['namespace', 'LowCardinality(String)'],
  ['pod', 'String'],
  ['container', 'String'],
  ['image', 'String'],
  ['node', 'LowCardinality(String)'],
  ['registry', 'LowCardinality(String)'],
  ['provider', 'LowCardinality(String)'],
  ['status', 'LowCardinality(String)'],
  ['cause', 'LowCardinality(String)'],
  ['subcause', 'LowCardinality(String)'],
  ['hint', 'String'],
  ['message', 'String'],
  ['first_failure', "DateTime64(3, 'UTC')"],
  ['last_failure', "DateTime64(3, 'UTC')"],
  ['attempts', 'UInt32'],
  ['backoff_stage', 'UInt8'],
  ['backoff_seconds', 'UInt32'],
  ['recovered_at', "Nullable(DateTime64(3, 'UTC'))"],
  ['time_to_recover_ms', 'Nullable(UInt64)'],
  ['image_pull_policy', 'LowCardinality(String)'],
  ['has_pull_secrets', 'Int8'],
  ['tag_kind', 'LowCardinality(String)'],
  ['updated_at', "DateTime64(3, 'UTC')"],
]);

/** ClickHouse DateTime64(3) text: `2026-11-24 10:00:00.000` (for the JSON-inserted tables). */
export function chTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
