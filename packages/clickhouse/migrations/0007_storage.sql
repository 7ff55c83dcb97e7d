-- Write amplification (issue 12; figures in packages/clickhouse/README.md, "What is stored, and why").
--
-- raw_events is the replay record: `payload`, the envelope exactly as received, holds the original
-- object and message once. Its string columns that only repeated the payload (message, event_uid,
-- identity, resource_version: ≈ 86 of its 169 MiB per million events) become ALIAS columns computed
-- from it when read, so old queries keep working and old rows read the same values (every analyzer
-- row has its payload). pull_events.identity was cluster/event_uid/event_count again: an ALIAS too.
--
-- Codecs: times and Kafka offsets are sorted within a table's ORDER BY group, so Delta + ZSTD(1);
-- random or long strings (Event uids, images, repositories) get ZSTD(1) (LZ4 left uids uncompressed);
-- the payload ZSTD(1) instead of ZSTD(3) (the same size within 2 %, less CPU per insert).
-- A codec change applies to new parts and to old ones as they merge: no rewrite now.
--
-- Writers: an analyzer from before this migration still sends the ALIAS columns and its inserts
-- are refused until it is replaced; it commits nothing meanwhile, so the new one re-processes them.

-- (an ALIAS column takes no codec: message's ZSTD(3) goes first)
ALTER TABLE {db}.raw_events {on_cluster} MODIFY COLUMN message REMOVE CODEC;

ALTER TABLE {db}.raw_events {on_cluster}
    MODIFY COLUMN message String ALIAS multiIf(kind = 'pod-waiting', JSONExtractString(payload, 'podWaiting', 'message'), JSONHas(payload, 'event', 'message'), JSONExtractString(payload, 'event', 'message'), JSONExtractString(payload, 'event', 'note')),
    MODIFY COLUMN event_uid String ALIAS if(kind = 'pod-waiting', JSONExtractString(payload, 'podWaiting', 'podUid'), JSONExtractString(payload, 'identity', 'uid')),
    MODIFY COLUMN resource_version String ALIAS JSONExtractString(payload, 'identity', 'resourceVersion'),
    MODIFY COLUMN identity String ALIAS JSONExtractString(payload, 'identity', 'key');

ALTER TABLE {db}.raw_events {on_cluster}
    MODIFY COLUMN event_time CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN received_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN stored_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN object_name CODEC(ZSTD(1)),
    MODIFY COLUMN payload CODEC(ZSTD(1)),
    MODIFY COLUMN kafka_offset CODEC(Delta, ZSTD(1));

ALTER TABLE {db}.pull_events {on_cluster}
    MODIFY COLUMN identity String ALIAS concat(cluster, '/', event_uid, '/', toString(event_count));

ALTER TABLE {db}.pull_events {on_cluster}
    MODIFY COLUMN event_time CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN first_time CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN received_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN image CODEC(ZSTD(1)),
    MODIFY COLUMN repository CODEC(ZSTD(1)),
    MODIFY COLUMN event_uid CODEC(ZSTD(1)),
    MODIFY COLUMN kafka_offset CODEC(Delta, ZSTD(1));

ALTER TABLE {db}.pull_failures {on_cluster}
    MODIFY COLUMN event_time CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN first_time CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN image CODEC(ZSTD(1)),
    MODIFY COLUMN repository CODEC(ZSTD(1)),
    MODIFY COLUMN event_uid CODEC(ZSTD(1));

ALTER TABLE {db}.pull_successes {on_cluster}
    MODIFY COLUMN event_time CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN image CODEC(ZSTD(1)),
    MODIFY COLUMN repository CODEC(ZSTD(1)),
    MODIFY COLUMN image_size_bytes CODEC(ZSTD(1));

ALTER TABLE {db}.pod_pull_state {on_cluster}
    MODIFY COLUMN image CODEC(ZSTD(1)),
    MODIFY COLUMN first_failure CODEC(ZSTD(1)),
    MODIFY COLUMN last_failure CODEC(ZSTD(1)),
    MODIFY COLUMN updated_at CODEC(ZSTD(1));

-- On a cluster the Distributed tables copied the columns (and codecs) when they were created: they
-- are created again from the migrated tables, so they read the same ALIAS columns. They hold no
-- data (event rows are written to the local tables); queries through them fail for that moment.
{cluster_only} DROP TABLE IF EXISTS {db}.raw_events_all {on_cluster} SYNC;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.raw_events_all {on_cluster} AS {db}.raw_events
ENGINE = Distributed({cluster}, {db}, raw_events, cityHash64(cluster, namespace, object_name));

{cluster_only} DROP TABLE IF EXISTS {db}.pull_events_all {on_cluster} SYNC;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.pull_events_all {on_cluster} AS {db}.pull_events
ENGINE = Distributed({cluster}, {db}, pull_events, cityHash64(cluster, namespace, pod));
