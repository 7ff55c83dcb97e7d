-- Hourly counts for long windows (a trend over days or weeks): pull_stats_1m holds a row per minute
-- and group, so a month of it is millions of rows; this table holds a row per hour, registry,
-- cluster and cause.
CREATE TABLE IF NOT EXISTS {db}.pull_stats_1h {on_cluster}
(
    hour              DateTime('UTC'),
    registry          LowCardinality(String),
    cluster           LowCardinality(String),
    cause             LowCardinality(String),      -- '' on success rows
    failures          SimpleAggregateFunction(sum, UInt64),
    successes         SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {AggregatingMergeTree}
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, registry, cluster, cause)
TTL hour + INTERVAL {ttl_days} DAY
-- A retried analyzer block must not count twice here either (see 0002).
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.pull_stats_1h_mv {on_cluster} TO {db}.pull_stats_1h AS
SELECT toStartOfHour(event_time) AS hour, registry, cluster,
       if(outcome = 'failure', cause, '') AS cause,
       sumIf(toUInt64(occurrences), outcome = 'failure') AS failures,
       sumIf(toUInt64(occurrences), outcome = 'success') AS successes
FROM {db}.pull_events
WHERE outcome IN ('failure', 'success') AND occurrences > 0
GROUP BY hour, registry, cluster, cause;

-- The view counts only what is inserted after it exists, and a backfill would race with analyzers
-- still writing. So the hourly table is complete from `since` on: for a new database (nothing
-- stored before the view) from the beginning; for an upgraded one from the second hour after this
-- migration (no stored event can be that far in the future). Readers take earlier hours from
-- pull_stats_1m.
CREATE TABLE IF NOT EXISTS {db}.pull_stats_1h_since {on_cluster}
ENGINE = {MergeTree} ORDER BY tuple()
AS SELECT if((SELECT count() FROM {db}.pull_events) = 0, toDateTime(0, 'UTC'), toStartOfHour(now('UTC')) + INTERVAL 2 HOUR) AS since;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.pull_stats_1h_all {on_cluster} AS {db}.pull_stats_1h
ENGINE = Distributed({cluster}, {db}, pull_stats_1h);
