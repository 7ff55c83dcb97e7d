-- The newest failures first (issue 25): /v1/failures lists a time window newest first, ordered by
-- (event_time, event_uid, event_count), but pull_failures is sorted by (registry, cause, cluster,
-- event_time) for per-registry and per-cause scans, so a window cannot skip granules: a day's listing
-- read every row of its monthly partition (2.8 M of 10 M rows over 30 days in the bench).
--
-- A projection holds the same rows sorted by the listing's own order. ClickHouse picks it whenever it
-- reads fewer marks (the listing and the rate-limit hotspots; a registry-and-cause filter keeps the
-- table's own order) and reads it in reverse order, stopping after the page: no query change. The
-- sort key is the listing's whole ORDER BY: with event_time alone the tie-breaker would need every row
-- of the window before the LIMIT. It costs a second copy of the rows (less compressed: in time order,
-- not grouped by registry and cause) and its share of each insert.
--
-- Existing rows: the projection is built in the background (a mutation; the migration does not wait)
-- for this month's and last month's partitions only, which hold the dashboard's windows (a day, 30
-- days): bounded work, whatever the retention. Parts without it are read as before, so older windows
-- stay correct, only slower; they age out with the TTL.
--
-- Distributed `_all` tables need nothing: each shard's query uses its local table's projection.

ALTER TABLE {db}.pull_failures {on_cluster}
    ADD PROJECTION IF NOT EXISTS by_time (SELECT * ORDER BY (event_time, event_uid, event_count));

ALTER TABLE {db}.pull_failures {on_cluster}
    MATERIALIZE PROJECTION by_time IN PARTITION tuple(toYYYYMM(now('UTC')));

ALTER TABLE {db}.pull_failures {on_cluster}
    MATERIALIZE PROJECTION by_time IN PARTITION tuple(toYYYYMM(now('UTC') - INTERVAL 1 MONTH));
