-- The collector cuts an Event's message (or note, or a Pod status report's message) to 8192 characters
-- (MAX_MESSAGE_CHARS of @pullwatch/event-schema) and says so in the envelope (`messageTruncated`): the
-- analyzer keeps that flag here, 1 when the stored message (and payload) holds only the first 8192
-- characters. Rows stored before read 0 (the type's default: nothing was cut then). No DEFAULT clause: the
-- analyzer sends the column (services/analyzer/src/core/table-formats.ts lists only columns without one).
ALTER TABLE {db}.raw_events {on_cluster} ADD COLUMN IF NOT EXISTS message_truncated UInt8;

{cluster_only} ALTER TABLE {db}.raw_events_all {on_cluster} ADD COLUMN IF NOT EXISTS message_truncated UInt8;
