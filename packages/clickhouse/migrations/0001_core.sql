-- pullwatch core schema. Placeholders, filled in by `pullwatch migrate`:
--   {db}            database name (default pullwatch)
--   {on_cluster}    empty on one server; `ON CLUSTER name` for a ClickHouse cluster
--   {MergeTree}, {ReplacingMergeTree(v)}, {AggregatingMergeTree}: plain engines on one server,
--                   Replicated* engines on a cluster (see docs/clickhouse-cluster.md)
--   {ttl_days}      retention in days (default 90)
-- All times are UTC. Event time (when kubelet saw it) drives analytics, never ingest time.

CREATE DATABASE IF NOT EXISTS {db} {on_cluster};

-- Everything the analyzer received, as received: for ad-hoc SQL and re-processing.
CREATE TABLE IF NOT EXISTS {db}.raw_events {on_cluster}
(
    event_time        DateTime64(3, 'UTC'),
    received_at       DateTime64(3, 'UTC'),
    cluster           LowCardinality(String),
    source            LowCardinality(String),
    kind              LowCardinality(String),      -- event | pod-waiting
    namespace         LowCardinality(String),
    object_kind       LowCardinality(String),
    object_name       String,
    reason            LowCardinality(String),
    type              LowCardinality(String),
    message           String CODEC(ZSTD(3)),
    event_uid         String,
    event_count       UInt32,
    resource_version  String,
    identity          String,
    payload           String CODEC(ZSTD(3)),       -- the envelope as JSON
    kafka_partition   UInt32,
    kafka_offset      UInt64
)
ENGINE = {MergeTree}
PARTITION BY toYYYYMM(event_time)
ORDER BY (cluster, namespace, object_name, event_time)
TTL toDateTime(event_time) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- The analyzer's classified observations: one row per event observation, `occurrences` being the
-- number of new pull attempts it adds (the growth of the Event's count; 0 for a repeat). The
-- analyzer writes one block per Kafka batch here; materialized views fan it out below.
CREATE TABLE IF NOT EXISTS {db}.pull_events {on_cluster}
(
    event_time        DateTime64(3, 'UTC'),        -- last occurrence in this observation
    first_time        DateTime64(3, 'UTC'),        -- first occurrence in this observation
    received_at       DateTime64(3, 'UTC'),
    cluster           LowCardinality(String),
    namespace         LowCardinality(String),
    pod               String,
    container         String,
    node              LowCardinality(String),
    outcome           LowCardinality(String),      -- failure | success | present | state
    event_kind        LowCardinality(String),      -- failed_pull, inspect_failed, never_pull, pulled, already_present, status, backoff, pulling, waiting
    occurrences       UInt32,
    image             String,
    registry          LowCardinality(String),
    provider          LowCardinality(String),
    repository        String,
    tag               String,
    digest            String,
    tag_kind          LowCardinality(String),      -- latest | missing | pinned | digest | invalid
    cause             LowCardinality(String),
    subcause          LowCardinality(String),
    attributed        UInt8,                       -- cause taken from the Pod's last concrete cause (no_cause message)
    retryable         UInt8,
    hint              String,
    message           String CODEC(ZSTD(3)),
    pull_duration_ms  UInt32,
    image_size_bytes  UInt64,
    image_pull_policy LowCardinality(String),
    has_pull_secrets  Int8,                        -- 1 yes, 0 no, -1 unknown
    event_uid         String,
    event_count       UInt32,
    identity          String,
    kafka_partition   UInt32,
    kafka_offset      UInt64
)
ENGINE = {MergeTree}
PARTITION BY toYYYYMM(event_time)
ORDER BY (cluster, namespace, pod, event_time)
TTL toDateTime(event_time) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- Failed pull attempts (occurrence batches), ordered for per-registry and per-cause scans.
CREATE TABLE IF NOT EXISTS {db}.pull_failures {on_cluster}
(
    event_time        DateTime64(3, 'UTC'),
    first_time        DateTime64(3, 'UTC'),
    cluster           LowCardinality(String),
    namespace         LowCardinality(String),
    pod               String,
    container         String,
    node              LowCardinality(String),
    event_kind        LowCardinality(String),
    occurrences       UInt32,
    image             String,
    registry          LowCardinality(String),
    provider          LowCardinality(String),
    repository        String,
    tag               String,
    tag_kind          LowCardinality(String),
    cause             LowCardinality(String),
    subcause          LowCardinality(String),
    attributed        UInt8,
    retryable         UInt8,
    hint              String,
    message           String CODEC(ZSTD(3)),
    image_pull_policy LowCardinality(String),
    has_pull_secrets  Int8,
    event_uid         String,
    event_count       UInt32
)
ENGINE = {MergeTree}
PARTITION BY toYYYYMM(event_time)
ORDER BY (registry, cause, cluster, event_time)
TTL toDateTime(event_time) + INTERVAL {ttl_days} DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.pull_failures_mv {on_cluster} TO {db}.pull_failures AS
SELECT event_time, first_time, cluster, namespace, pod, container, node, event_kind, occurrences, image,
       registry, provider, repository, tag, tag_kind, cause, subcause, attributed, retryable, hint, message,
       image_pull_policy, has_pull_secrets, event_uid, event_count
FROM {db}.pull_events
WHERE outcome = 'failure' AND occurrences > 0;

-- Successful registry pulls (`Successfully pulled image`), the denominator of failure rates.
CREATE TABLE IF NOT EXISTS {db}.pull_successes {on_cluster}
(
    event_time        DateTime64(3, 'UTC'),
    cluster           LowCardinality(String),
    namespace         LowCardinality(String),
    pod               String,
    container         String,
    node              LowCardinality(String),
    occurrences       UInt32,
    image             String,
    registry          LowCardinality(String),
    provider          LowCardinality(String),
    repository        String,
    tag               String,
    tag_kind          LowCardinality(String),
    pull_duration_ms  UInt32,
    image_size_bytes  UInt64,
    image_pull_policy LowCardinality(String),
    has_pull_secrets  Int8
)
ENGINE = {MergeTree}
PARTITION BY toYYYYMM(event_time)
ORDER BY (registry, cluster, event_time)
TTL toDateTime(event_time) + INTERVAL {ttl_days} DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.pull_successes_mv {on_cluster} TO {db}.pull_successes AS
SELECT event_time, cluster, namespace, pod, container, node, occurrences, image, registry, provider, repository,
       tag, tag_kind, pull_duration_ms, image_size_bytes, image_pull_policy, has_pull_secrets
FROM {db}.pull_events
WHERE outcome = 'success' AND occurrences > 0;

-- Per-minute aggregates that the query API reads (failure rates, trends, by cause).
-- Successes have cause = ''. Read with sum(failures), sum(successes), uniqCombinedMerge(pods).
CREATE TABLE IF NOT EXISTS {db}.pull_stats_1m {on_cluster}
(
    minute            DateTime('UTC'),
    registry          LowCardinality(String),
    provider          LowCardinality(String),
    cluster           LowCardinality(String),
    namespace         LowCardinality(String),
    cause             LowCardinality(String),
    failures          SimpleAggregateFunction(sum, UInt64),
    successes         SimpleAggregateFunction(sum, UInt64),
    pods              AggregateFunction(uniqCombined, String),
    images            AggregateFunction(uniqCombined, String)
)
ENGINE = {AggregatingMergeTree}
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, registry, cluster, namespace, cause, provider)
TTL minute + INTERVAL {ttl_days} DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.pull_stats_1m_mv {on_cluster} TO {db}.pull_stats_1m AS
SELECT toStartOfMinute(event_time) AS minute, registry, provider, cluster, namespace,
       if(outcome = 'failure', cause, '') AS cause,
       sumIf(toUInt64(occurrences), outcome = 'failure') AS failures,
       sumIf(toUInt64(occurrences), outcome = 'success') AS successes,
       uniqCombinedState(concat(cluster, '/', namespace, '/', pod)) AS pods,
       uniqCombinedState(image) AS images
FROM {db}.pull_events
WHERE outcome IN ('failure', 'success') AND occurrences > 0
GROUP BY minute, registry, provider, cluster, namespace, cause;

-- Each Pod/container/image's pull state, latest row wins (read with FINAL or argMax).
CREATE TABLE IF NOT EXISTS {db}.pod_pull_state {on_cluster}
(
    cluster            LowCardinality(String),
    namespace          LowCardinality(String),
    pod                String,
    container          String,
    image              String,
    node               LowCardinality(String),
    registry           LowCardinality(String),
    provider           LowCardinality(String),
    status             LowCardinality(String),     -- failing | stuck | recovered
    cause              LowCardinality(String),
    subcause           LowCardinality(String),
    hint               String,
    message            String CODEC(ZSTD(3)),
    first_failure      DateTime64(3, 'UTC'),
    last_failure       DateTime64(3, 'UTC'),
    attempts           UInt32,
    backoff_stage      UInt8,                     -- kubelet back-off step: 0 → 5 s, 1 → 10 s … capped at 300 s
    backoff_seconds    UInt32,
    recovered_at       Nullable(DateTime64(3, 'UTC')),
    time_to_recover_ms Nullable(UInt64),
    image_pull_policy  LowCardinality(String),
    has_pull_secrets   Int8,
    tag_kind           LowCardinality(String),
    updated_at         DateTime64(3, 'UTC')        -- event time of the newest observation
)
ENGINE = {ReplacingMergeTree(updated_at)}
ORDER BY (cluster, namespace, pod, container, image)
TTL toDateTime(updated_at) + INTERVAL {ttl_days} DAY;

-- Incidents across the fleet, recomputed from pull_failures; the same incident id always gets
-- the same row, so several analyzers computing it at once write identical rows.
CREATE TABLE IF NOT EXISTS {db}.incidents {on_cluster}
(
    id                 String,
    registry           LowCardinality(String),
    cause              LowCardinality(String),
    scope              LowCardinality(String),     -- fleet | cluster | image
    clusters           Array(String),
    images             Array(String),
    failures           UInt64,
    start              DateTime64(3, 'UTC'),
    last_seen          DateTime64(3, 'UTC'),
    end                Nullable(DateTime64(3, 'UTC')),
    status             LowCardinality(String),     -- open | resolved
    updated_at         DateTime64(3, 'UTC')
)
ENGINE = {ReplacingMergeTree(updated_at)}
ORDER BY id
TTL toDateTime(last_seen) + INTERVAL {ttl_days} DAY;
