/**
 * Rows for the query API's integration tests, inserted straight into the tables with JSONEachRow:
 * every column the routes read, with neutral defaults, at times counted in minutes before a fixed `now`.
 */
export interface FixtureClock {
  /** `minAgo` minutes before now, as ClickHouse DateTime64 text. */
  at(minAgo: number): string;
  /** The same instant as ISO 8601, URL-encoded for a query string. */
  iso(minAgo: number): string;
}

export function fixtureClock(now: Date): FixtureClock {
  const t = (minAgo: number) => new Date(now.getTime() - minAgo * 60_000);
  return {
    at: (minAgo) => t(minAgo).toISOString().replace('T', ' ').replace('Z', ''),
    iso: (minAgo) => encodeURIComponent(t(minAgo).toISOString()),
  };
}

/** The registry of an image reference: the part before the first slash. */
const registryOf = (image: string) => image.split('/')[0]!;

export interface PullEventFixture {
  cluster: string;
  namespace: string;
  pod: string;
  image: string;
  outcome: 'failure' | 'success';
  occurrences: number;
  minAgo: number;
  uid: string;
  cause?: string;
  /** Default: the image's registry. */
  registry?: string;
  /** Default: the image's path without registry and tag. */
  repository?: string;
  team?: string;
  tagKind?: string;
  policy?: string;
}

export function pullEventRow(clock: FixtureClock, o: PullEventFixture) {
  return {
    event_time: clock.at(o.minAgo),
    first_time: clock.at(o.minAgo),
    received_at: clock.at(o.minAgo),
    cluster: o.cluster,
    namespace: o.namespace,
    pod: o.pod,
    container: 'c',
    node: 'n1',
    outcome: o.outcome,
    event_kind: o.outcome === 'failure' ? 'failed_pull' : 'pulled',
    occurrences: o.occurrences,
    image: o.image,
    registry: o.registry ?? registryOf(o.image),
    provider: 'self_hosted',
    repository: o.repository ?? o.image.split('/').slice(1).join('/').split(':')[0]!,
    tag: '1',
    digest: '',
    tag_kind: o.tagKind ?? 'pinned',
    cause: o.cause ?? '',
    subcause: '',
    attributed: 0,
    retryable: 1,
    hint: '',
    message: 'm',
    pull_duration_ms: 0,
    image_size_bytes: 0,
    image_pull_policy: o.policy ?? '',
    has_pull_secrets: -1,
    event_uid: o.uid,
    event_count: o.occurrences,
    kafka_partition: 0,
    kafka_offset: 0,
    team: o.team ?? '',
  };
}

export interface PodStateFixture {
  cluster: string;
  namespace: string;
  pod: string;
  image: string;
  cause: string;
  first: number;
  last: number;
  recovered?: number;
  /** Default: the image's registry. */
  registry?: string;
}

export function podStateRow(clock: FixtureClock, o: PodStateFixture) {
  return {
    cluster: o.cluster,
    namespace: o.namespace,
    pod: o.pod,
    container: 'c',
    image: o.image,
    node: 'n1',
    registry: o.registry ?? registryOf(o.image),
    provider: 'self_hosted',
    status: o.recovered === undefined ? 'stuck' : 'recovered',
    cause: o.cause,
    subcause: '',
    hint: '',
    message: '',
    first_failure: clock.at(o.first),
    last_failure: clock.at(o.last),
    attempts: 3,
    backoff_stage: 2,
    backoff_seconds: 20,
    recovered_at: o.recovered === undefined ? null : clock.at(o.recovered),
    time_to_recover_ms: o.recovered === undefined ? null : (o.first - o.recovered) * 60_000,
    image_pull_policy: '',
    has_pull_secrets: -1,
    tag_kind: 'pinned',
    updated_at: clock.at(o.recovered ?? o.last),
  };
}
