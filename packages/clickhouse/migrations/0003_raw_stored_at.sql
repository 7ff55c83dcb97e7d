-- When ClickHouse stored each raw row (server clock): with received_at (the collector's ingest time) it
-- gives the ingest-to-queryable latency of every event, which the benchmark reports as p50/p99.
ALTER TABLE {db}.raw_events {on_cluster} ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3);
