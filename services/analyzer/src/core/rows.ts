/** Rows as the ClickHouse tables take them (see packages/clickhouse/migrations/0001_core.sql). */
export interface PullEventRow {
  event_time: string;
  first_time: string;
  received_at: string;
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
  event_time: string;
  received_at: string;
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
  first_failure: string;
  last_failure: string;
  attempts: number;
  backoff_stage: number;
  backoff_seconds: number;
  recovered_at: string | null;
  time_to_recover_ms: number | null;
  image_pull_policy: string;
  has_pull_secrets: number;
  tag_kind: string;
  updated_at: string;
}

/** ClickHouse DateTime64(3) text: `2026-11-24 10:00:00.000`. */
export function chTime(ms: number): string {
  // Slices, not regex replaces: this runs several times per message on the analyzer's hot path.
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
