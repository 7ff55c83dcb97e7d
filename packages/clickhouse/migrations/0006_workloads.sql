-- Workloads and teams (issue 17): each failure and Pod state carries the Pod's controlling workload
-- and its team.
--   workload_kind      Deployment | StatefulSet | DaemonSet | Job | CronJob | ReplicaSet | another
--                      controller's kind | 'DaemonSet|Job' (a name `x-<5 chars>`, which cannot tell them
--                      apart); '' when none is known (a bare Pod, a name without a controller's pattern)
--   workload_name      '' when workload_kind is ''
--   workload_inferred  true when read from the Pod's name (Events without the collector's Pod watch)
--                      rather than its ownerReferences
--   team               the collector's team label on the Pod's Namespace; '' means unknown (never guessed).
--                      LowCardinality(String) rather than Nullable: few distinct values, and '' cannot be
--                      a label value anyway; readers turn '' into null.
-- Rows stored before this migration have '' / false: unknown.

ALTER TABLE {db}.pull_events {on_cluster}
    ADD COLUMN IF NOT EXISTS workload_kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS workload_name String,
    ADD COLUMN IF NOT EXISTS workload_inferred Bool,
    ADD COLUMN IF NOT EXISTS team LowCardinality(String);

ALTER TABLE {db}.pull_failures {on_cluster}
    ADD COLUMN IF NOT EXISTS workload_kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS workload_name String,
    ADD COLUMN IF NOT EXISTS workload_inferred Bool,
    ADD COLUMN IF NOT EXISTS team LowCardinality(String);

ALTER TABLE {db}.pull_failures_mv {on_cluster} MODIFY QUERY
SELECT event_time, first_time, cluster, namespace, pod, container, node, event_kind, occurrences, image,
       registry, provider, repository, tag, tag_kind, cause, subcause, attributed, retryable, hint, message,
       image_pull_policy, has_pull_secrets, event_uid, event_count,
       workload_kind, workload_name, workload_inferred, team
FROM {db}.pull_events
WHERE outcome = 'failure' AND occurrences > 0;

ALTER TABLE {db}.pod_pull_state {on_cluster}
    ADD COLUMN IF NOT EXISTS workload_kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS workload_name String,
    ADD COLUMN IF NOT EXISTS workload_inferred Bool,
    ADD COLUMN IF NOT EXISTS team LowCardinality(String);

{cluster_only} ALTER TABLE {db}.pull_events_all {on_cluster}
    ADD COLUMN IF NOT EXISTS workload_kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS workload_name String,
    ADD COLUMN IF NOT EXISTS workload_inferred Bool,
    ADD COLUMN IF NOT EXISTS team LowCardinality(String);

{cluster_only} ALTER TABLE {db}.pull_failures_all {on_cluster}
    ADD COLUMN IF NOT EXISTS workload_kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS workload_name String,
    ADD COLUMN IF NOT EXISTS workload_inferred Bool,
    ADD COLUMN IF NOT EXISTS team LowCardinality(String);

{cluster_only} ALTER TABLE {db}.pod_pull_state_all {on_cluster}
    ADD COLUMN IF NOT EXISTS workload_kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS workload_name String,
    ADD COLUMN IF NOT EXISTS workload_inferred Bool,
    ADD COLUMN IF NOT EXISTS team LowCardinality(String);
