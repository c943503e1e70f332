-- Error groups (docs/metrics.md, "Error groups"): each failed generation's error text made
-- comparable by `model::error_group::pattern`, written by ingest with the row; NULL for
-- the others. SQL cannot run the rule, so rows stored before this column are filled in
-- from Rust right after migrating (`store::error_groups::fill_missing`).
ALTER TABLE generations ADD COLUMN error_group TEXT;

-- The groups of a window: its failures' groups and providers, read from the index alone.
CREATE INDEX generations_failed_created_at_group
    ON generations (created_at, error_group, provider) WHERE status = 'failed';

-- One group's failures newest first: the log filtered by group, a page at a time, and a
-- group's newest message; also finds the failures still to be filled in (NULL).
CREATE INDEX generations_failed_group_created_at
    ON generations (error_group, created_at) WHERE status = 'failed';
