-- Hourly counts that can answer a report (issue 25): a 30-day report grouped by registry, cause,
-- cluster, namespace or team read pull_stats_1m, a row per minute and group (6.2 M rows for 10 M
-- failures in the bench) with a uniqCombined state each: seconds of one core per report, so 16 report
-- clients queued for minutes. pull_stats_1h gains what the reports and /v1/registries read from the
-- minutes: the namespace and provider (in the key, after the old columns) and the failing Pods'
-- uniqCombined state, the same state as pull_stats_1m.pods (merged together, they count the same Pods).
--
-- Rows written before this migration have namespace '' and no Pods, so readers use the new columns only
-- from `since` in pull_stats_1h_pods_since (as 0005: from the beginning for a new database, else from the
-- second hour after this migration) and take earlier hours from pull_stats_1m. Sums stay right either way.

ALTER TABLE {db}.pull_stats_1h {on_cluster}
    ADD COLUMN IF NOT EXISTS namespace LowCardinality(String),
    ADD COLUMN IF NOT EXISTS provider LowCardinality(String),
    ADD COLUMN IF NOT EXISTS pods AggregateFunction(uniqCombined, String),
    MODIFY ORDER BY (hour, registry, cluster, cause, namespace, provider);

ALTER TABLE {db}.pull_stats_1h_mv {on_cluster} MODIFY QUERY
SELECT toStartOfHour(event_time) AS hour, registry, cluster,
       if(outcome = 'failure', cause, '') AS cause, namespace, provider,
       sumIf(toUInt64(occurrences), outcome = 'failure') AS failures,
       sumIf(toUInt64(occurrences), outcome = 'success') AS successes,
       uniqCombinedState(concat(cluster, '/', namespace, '/', pod)) AS pods
FROM {db}.pull_events
WHERE outcome IN ('failure', 'success') AND occurrences > 0
GROUP BY hour, registry, cluster, cause, namespace, provider;

CREATE TABLE IF NOT EXISTS {db}.pull_stats_1h_pods_since {on_cluster}
ENGINE = {MergeTree} ORDER BY tuple()
AS SELECT if((SELECT count() FROM {db}.pull_events) = 0, toDateTime(0, 'UTC'), toStartOfHour(now('UTC')) + INTERVAL 2 HOUR) AS since;

{cluster_only} ALTER TABLE {db}.pull_stats_1h_all {on_cluster}
    ADD COLUMN IF NOT EXISTS namespace LowCardinality(String),
    ADD COLUMN IF NOT EXISTS provider LowCardinality(String),
    ADD COLUMN IF NOT EXISTS pods AggregateFunction(uniqCombined, String);
