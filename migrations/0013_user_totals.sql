-- Running totals per user, so that top users over any range, a user's page and each
-- user's cost over the last 24 hours are read from a few rows per user instead of the
-- user's generations (src/store/totals.rs, src/store/top_users.rs). Buckets of one UTC day
-- and of 32 UTC days: a month or 30 days lies in at most two 32-day buckets, which bound
-- each user's cost in it from above, so that the top users are found by reading the
-- buckets' users by cost, highest first, and summing exactly only those that could rank.
CREATE TABLE user_totals (
    user_id     TEXT NOT NULL,
    span        BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    generations BIGINT NOT NULL,
    succeeded   BIGINT NOT NULL,
    failed      BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    -- Credits charged, and refunded to generations of the bucket.
    credits     BIGINT NOT NULL,
    refunded    BIGINT NOT NULL,
    PRIMARY KEY (user_id, span, bucket)
);

-- A bucket's users, costliest last: read backwards for the top users and the users over
-- the per-user limit.
CREATE INDEX user_totals_bucket_cost ON user_totals (span, bucket, cost_micros);

-- A user's generations by time: the log filtered by user pages through it by key, and a
-- user's rows at a window's edges are read from it. It replaces the index on user_id alone.
DROP INDEX generations_user_id;
CREATE INDEX generations_user_id_created_at ON generations (user_id, created_at);

-- A provider's generations by time, for the log filtered by provider: through the index
-- of all generations by time, SQLite sorted all of a provider's rows for each page.
CREATE INDEX generations_provider_created_at ON generations (provider, created_at);

-- The failures of a user, and the generations still pending, newest first: the log
-- filtered by them, and a user page's recent failures, read a page from these partial
-- indexes (only failed or pending rows, a small part of all) whatever the user's other rows.
CREATE INDEX generations_failed_user_created_at ON generations (user_id, created_at)
    WHERE status = 'failed';
CREATE INDEX generations_pending_created_at ON generations (created_at) WHERE status = 'pending';

-- Each generation carries the credits refunded to it (NULL: none), written with its
-- refund, so that the log shows them without a look-up per row and finds failures not
-- refunded, and generations refunded more than they are charged (their credits corrected
-- down after the refund), through partial indexes of their own.
-- Filled below, with the totals.
ALTER TABLE generations ADD COLUMN refunded_credits BIGINT;
CREATE INDEX generations_over_refunded_created_at ON generations (created_at)
    WHERE refunded_credits > credits;

-- Read by nothing any more: users over the limit come from user_totals, and failures by
-- time from the index of failures by time, group and provider.
DROP INDEX generations_created_at_user_cost;
DROP INDEX generations_failed_created_at;

-- fill: the totals from the raw rows; `usage-monitor rebuild-totals` runs the statements below.
UPDATE generations
SET refunded_credits = (SELECT r.credits FROM refunds r WHERE r.generation_id = generations.id)
WHERE refunded_credits IS NOT NULL OR id IN (SELECT generation_id FROM refunds);

INSERT INTO user_totals
    (user_id, span, bucket, generations, succeeded, failed, cost_micros, credits, refunded)
SELECT g.user_id,
       s.span,
       g.created_at - ((g.created_at % s.span) + s.span) % s.span,
       COUNT(*),
       COUNT(*) FILTER (WHERE g.status = 'succeeded'),
       COUNT(*) FILTER (WHERE g.status = 'failed'),
       CAST(SUM(g.cost_micros) AS BIGINT),
       CAST(SUM(g.credits) AS BIGINT),
       CAST(COALESCE(SUM(r.credits), 0) AS BIGINT)
FROM generations g
LEFT JOIN refunds r ON r.generation_id = g.id
CROSS JOIN (SELECT 2764800000000 AS span UNION ALL SELECT 86400000000) s
GROUP BY 1, 2, 3;
