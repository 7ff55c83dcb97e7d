-- On a ClickHouse cluster only (PULLWATCH_CLICKHOUSE_CLUSTER set): a Distributed table `<name>_all`
-- on every node in front of each replicated table. Statements marked {cluster_only} are skipped on a
-- single server, where the tables themselves are the whole fleet. {cluster} is the cluster name.
--
-- Reads that must see the whole fleet (incident correlation, the analyzer's restart state, the query
-- API) go through `_all`. Event rows are written to the local replicated tables of the shard an
-- analyzer is connected to, so a retried insert meets the same shard's deduplication window and the
-- materialized views aggregate locally. Pod states and incidents are written through their `_all`
-- tables, sharded by Pod and by id: each always lands on one shard, where ReplacingMergeTree
-- collapses its versions and concurrent writes (FINAL works per shard).
-- Sharding keys follow the Kafka keys (one Pod), so one Pod's rows stay together.

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.raw_events_all {on_cluster} AS {db}.raw_events
ENGINE = Distributed({cluster}, {db}, raw_events, cityHash64(cluster, namespace, object_name));

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.pull_events_all {on_cluster} AS {db}.pull_events
ENGINE = Distributed({cluster}, {db}, pull_events, cityHash64(cluster, namespace, pod));

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.pull_failures_all {on_cluster} AS {db}.pull_failures
ENGINE = Distributed({cluster}, {db}, pull_failures, cityHash64(cluster, namespace, pod));

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.pull_successes_all {on_cluster} AS {db}.pull_successes
ENGINE = Distributed({cluster}, {db}, pull_successes, cityHash64(cluster, namespace, pod));

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.pull_stats_1m_all {on_cluster} AS {db}.pull_stats_1m
ENGINE = Distributed({cluster}, {db}, pull_stats_1m);

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.pod_pull_state_all {on_cluster} AS {db}.pod_pull_state
ENGINE = Distributed({cluster}, {db}, pod_pull_state, cityHash64(cluster, namespace, pod));

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.incidents_all {on_cluster} AS {db}.incidents
ENGINE = Distributed({cluster}, {db}, incidents, cityHash64(id));
