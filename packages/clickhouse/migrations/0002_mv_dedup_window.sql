-- A retried batch insert (same insert_deduplication_token) is dropped by pull_events, but its
-- materialized views still write their blocks into the target tables, which dedup them only with a
-- window of their own. Without it, a retry would double the failure counts.
ALTER TABLE {db}.pull_failures {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.pull_successes {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.pull_stats_1m {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 10000;
