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
  /** Default: `minAgo` (a single pull). */
  firstMinAgo?: number;
  /** Default 'c'. */
  container?: string;
  /** Default 'n1'. */
  node?: string;
  /** Default 'self_hosted'. */
  provider?: string;
  /** Default ''. */
  hint?: string;
  /** has_pull_secrets: default -1 (unknown). */
  secrets?: number;
  workload?: Workload;
}

/** A workload as stored: kind, name, and whether it was inferred from the Pod's name. */
export type Workload = [kind: string, name: string, inferred: boolean];

const workloadColumns = (w: Workload | undefined) => ({
  workload_kind: w?.[0] ?? '',
  workload_name: w?.[1] ?? '',
  workload_inferred: w?.[2] ?? false,
});

export function pullEventRow(clock: FixtureClock, o: PullEventFixture) {
  return {
    event_time: clock.at(o.minAgo),
    first_time: clock.at(o.firstMinAgo ?? o.minAgo),
    received_at: clock.at(o.minAgo),
    cluster: o.cluster,
    namespace: o.namespace,
    pod: o.pod,
    container: o.container ?? 'c',
    node: o.node ?? 'n1',
    outcome: o.outcome,
    event_kind: o.outcome === 'failure' ? 'failed_pull' : 'pulled',
    occurrences: o.occurrences,
    image: o.image,
    registry: o.registry ?? registryOf(o.image),
    provider: o.provider ?? 'self_hosted',
    repository: o.repository ?? o.image.split('/').slice(1).join('/').split(':')[0]!,
    tag: '1',
    digest: '',
    tag_kind: o.tagKind ?? 'pinned',
    cause: o.cause ?? '',
    subcause: '',
    attributed: 0,
    retryable: 1,
    hint: o.hint ?? '',
    message: 'm',
    pull_duration_ms: 0,
    image_size_bytes: 0,
    image_pull_policy: o.policy ?? '',
    has_pull_secrets: o.secrets ?? -1,
    event_uid: o.uid,
    event_count: o.occurrences,
    kafka_partition: 0,
    kafka_offset: 0,
    ...workloadColumns(o.workload),
    team: o.team ?? '',
  };
}

/** A pull of `<registry>/acme/web:1` in namespace shop (the route tests' fleet), first seen a minute earlier. */
export type ShopPullFixture = Omit<PullEventFixture, 'namespace' | 'pod' | 'image' | 'registry'> & {
  registry: string;
  /** Default 'web-1'. */
  pod?: string;
  image?: string;
};

export function shopPullRow(clock: FixtureClock, o: ShopPullFixture) {
  return pullEventRow(clock, {
    namespace: 'shop',
    pod: 'web-1',
    container: 'web',
    image: `${o.registry}/acme/web:1`,
    repository: 'acme/web',
    provider: o.registry === 'docker.io' ? 'docker_hub' : 'self_hosted',
    hint: 'h',
    firstMinAgo: o.minAgo + 1,
    ...o,
  });
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
  /** Default 'c'. */
  container?: string;
  /** Default 'self_hosted'. */
  provider?: string;
  /** Default ''. */
  hint?: string;
  /** Default ''. */
  message?: string;
  /** Default 3 pulls, at back-off stage 2 (20 s). */
  attempts?: number;
  backoffStage?: number;
  backoffSeconds?: number;
  team?: string;
  workload?: Workload;
}

export function podStateRow(clock: FixtureClock, o: PodStateFixture) {
  return {
    cluster: o.cluster,
    namespace: o.namespace,
    pod: o.pod,
    container: o.container ?? 'c',
    image: o.image,
    node: 'n1',
    registry: o.registry ?? registryOf(o.image),
    provider: o.provider ?? 'self_hosted',
    status: o.recovered === undefined ? 'stuck' : 'recovered',
    cause: o.cause,
    subcause: '',
    hint: o.hint ?? '',
    message: o.message ?? '',
    first_failure: clock.at(o.first),
    last_failure: clock.at(o.last),
    attempts: o.attempts ?? 3,
    backoff_stage: o.backoffStage ?? 2,
    backoff_seconds: o.backoffSeconds ?? 20,
    recovered_at: o.recovered === undefined ? null : clock.at(o.recovered),
    time_to_recover_ms: o.recovered === undefined ? null : (o.first - o.recovered) * 60_000,
    image_pull_policy: '',
    has_pull_secrets: -1,
    tag_kind: 'pinned',
    updated_at: clock.at(o.recovered ?? o.last),
    ...workloadColumns(o.workload),
    team: o.team ?? '',
  };
}

/** A container of ghcr.io/acme/web:9 in eu/shop, stuck on not_found at back-off stage 6 (300 s). */
export type ShopStuckPodFixture = Pick<
  PodStateFixture,
  'pod' | 'first' | 'last' | 'attempts' | 'hint' | 'team' | 'workload'
>;

export function shopStuckPodRow(clock: FixtureClock, o: ShopStuckPodFixture) {
  return podStateRow(clock, {
    cluster: 'eu',
    namespace: 'shop',
    container: 'web',
    image: 'ghcr.io/acme/web:9',
    provider: 'ghcr',
    cause: 'not_found',
    message: 'm',
    backoffStage: 6,
    backoffSeconds: 300,
    ...o,
  });
}

/** An open incident of one cause on one registry, updated when it was last seen. */
export function openIncidentRow(
  clock: FixtureClock,
  o: {
    id: string;
    registry: string;
    cause: string;
    clusters: string[];
    images: string[];
    failures: number;
    start: number;
    lastSeen: number;
  },
) {
  return {
    id: o.id,
    registry: o.registry,
    cause: o.cause,
    scope: 'cluster',
    clusters: o.clusters,
    images: o.images,
    failures: o.failures,
    start: clock.at(o.start),
    last_seen: clock.at(o.lastSeen),
    end: null,
    status: 'open',
    updated_at: clock.at(o.lastSeen),
  };
}
