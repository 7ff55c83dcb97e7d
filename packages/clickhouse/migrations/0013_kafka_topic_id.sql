-- The Kafka topic ID (a UUID the broker gives each topic when it is created) of the message a row came
-- from. A topic deleted and created again under the same name starts again at offset 0, while these
-- tables still hold the old topic's offsets: the analyzer, which resumes after the highest offset stored
-- for a partition, would skip the new topic's messages until they passed the old ones. It now reads the
-- highest offset of the current topic ID only (services/analyzer/src/store.ts). Rows stored before read ''
-- (no DEFAULT clause: the analyzer sends the column).
ALTER TABLE {db}.raw_events {on_cluster} ADD COLUMN IF NOT EXISTS kafka_topic_id LowCardinality(String) AFTER kafka_offset;
ALTER TABLE {db}.pull_events {on_cluster} ADD COLUMN IF NOT EXISTS kafka_topic_id LowCardinality(String) AFTER kafka_offset;

{cluster_only} ALTER TABLE {db}.raw_events_all {on_cluster} ADD COLUMN IF NOT EXISTS kafka_topic_id LowCardinality(String) AFTER kafka_offset;
{cluster_only} ALTER TABLE {db}.pull_events_all {on_cluster} ADD COLUMN IF NOT EXISTS kafka_topic_id LowCardinality(String) AFTER kafka_offset;
