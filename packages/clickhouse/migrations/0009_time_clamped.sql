-- Event times outside a sane window (issue 21): an Event older than the retention or more than an hour
-- ahead of the analyzer's clock is stored at its received time instead, with time_clamped = 1, so one
-- insert never spans more monthly partitions than the retention does (a replayed old dump or a node with
-- a wrong clock once made ClickHouse refuse whole batches: max_partitions_per_insert_block). The Event's
-- own time stays in raw_events.payload. Rows stored before this migration read 0.

ALTER TABLE {db}.raw_events {on_cluster} ADD COLUMN IF NOT EXISTS time_clamped UInt8;

ALTER TABLE {db}.pull_events {on_cluster} ADD COLUMN IF NOT EXISTS time_clamped UInt8;

{cluster_only} ALTER TABLE {db}.raw_events_all {on_cluster} ADD COLUMN IF NOT EXISTS time_clamped UInt8;

{cluster_only} ALTER TABLE {db}.pull_events_all {on_cluster} ADD COLUMN IF NOT EXISTS time_clamped UInt8;
