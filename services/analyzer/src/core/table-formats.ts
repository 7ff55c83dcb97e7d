import { RowBinaryFormat, type RowOf, type TableColumns } from '@pullwatch/clickhouse';

/**
 * The tables the analyzer writes in RowBinary, each defined once: its columns (names and ClickHouse
 * types, in the order of packages/clickhouse/migrations) give the row type and the insert format. The
 * server checks the names and types of every insert, and row-formats.int.test.ts checks them against
 * the migrated tables. Times are epoch milliseconds (DateTime64(3) in RowBinary is that integer).
 * Adding a stored column: packages/clickhouse/README.md.
 */

export const PULL_EVENT_COLUMNS = [
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
  // identity: an ALIAS since 0007 (cluster/event_uid/event_count), not sent.
  ['kafka_partition', 'UInt32'],
  ['kafka_offset', 'UInt64'],
  // 0013: the topic's ID, so the offsets of a topic created again under the same name are told apart.
  ['kafka_topic_id', 'LowCardinality(String)'],
  ['workload_kind', 'LowCardinality(String)'],
  ['workload_name', 'String'],
  ['workload_inferred', 'Bool'],
  ['team', 'LowCardinality(String)'],
  // 1: the Event's time was outside the window (older than the retention, over an hour ahead): received time.
  ['time_clamped', 'UInt8'],
] as const satisfies TableColumns;

/** A pull_events row; `outcome` narrowed to what the analyzer writes. */
export type PullEventRow = RowOf<typeof PULL_EVENT_COLUMNS> & { outcome: 'failure' | 'success' | 'present' | 'state' };

/** pull_events in RowBinary. */
export const PULL_EVENT_FORMAT = new RowBinaryFormat<PullEventRow>(PULL_EVENT_COLUMNS);

export const RAW_EVENT_COLUMNS = [
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
  // message, event_uid: ALIAS columns since 0007, read from the payload (stored once, there).
  ['event_count', 'UInt32'],
  // resource_version, identity: ALIAS columns of the payload since 0007.
  ['payload', 'String'],
  ['kafka_partition', 'UInt32'],
  ['kafka_offset', 'UInt64'],
  // 0013: the topic's ID, so the offsets of a topic created again under the same name are told apart.
  ['kafka_topic_id', 'LowCardinality(String)'],
  // stored_at: the server's default. 0008: 1 when the collector cut the message (the envelope's messageTruncated).
  ['message_truncated', 'UInt8'],
  // 0009: 1 when the Event's time was outside the window and the received time was stored.
  ['time_clamped', 'UInt8'],
] as const satisfies TableColumns;

export type RawEventRow = RowOf<typeof RAW_EVENT_COLUMNS>;

/**
 * raw_events in RowBinary (stored_at is the server's default). The payload, the envelope as
 * received, is the replay record: the columns that only repeated it are computed from it when read.
 */
export const RAW_EVENT_FORMAT = new RowBinaryFormat<RawEventRow>(RAW_EVENT_COLUMNS);

export const POD_STATE_COLUMNS = [
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
  ['workload_kind', 'LowCardinality(String)'],
  ['workload_name', 'String'],
  ['workload_inferred', 'Bool'],
  ['team', 'LowCardinality(String)'],
] as const satisfies TableColumns;

/** A pod_pull_state row; `status` narrowed to the three states. */
export type PodStateRow = RowOf<typeof POD_STATE_COLUMNS> & { status: 'failing' | 'stuck' | 'recovered' };

/** pod_pull_state in RowBinary. */
export const POD_STATE_FORMAT = new RowBinaryFormat<PodStateRow>(POD_STATE_COLUMNS);

/** ClickHouse DateTime64(3) text: `2026-11-24 10:00:00.000` (for the JSON-inserted tables). */
export function chTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
