-- Running totals, changed in the same transaction as the rows they sum (src/totals.rs), so
-- that the dashboard reads a few thousand of them instead of millions of generations.
-- `bucket` is the start of a 15-minute slice of UTC time, in microseconds: every IANA zone's
-- midnight (+05:30 and +05:45 included) falls on a bucket edge, so any reporting zone's days
-- and months are whole buckets; windows that are not (the last 24 h) add the rows of their
-- partial buckets from the raw tables.

-- Generations per bucket of created_at and provider.
CREATE TABLE provider_totals (
    bucket      BIGINT NOT NULL,
    provider    TEXT NOT NULL,
    generations BIGINT NOT NULL,
    succeeded   BIGINT NOT NULL,
    failed      BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (bucket, provider)
);

-- Credits charged minus refunded, per bucket of the generation's created_at and the tier its
-- user has now (a tier change moves the user's totals).
CREATE TABLE tier_totals (
    bucket   BIGINT NOT NULL,
    tier     TEXT NOT NULL,
    consumed BIGINT NOT NULL,
    PRIMARY KEY (bucket, tier)
);

-- Refunds per bucket of their own time.
CREATE TABLE refund_totals (
    bucket  BIGINT PRIMARY KEY NOT NULL,
    refunds BIGINT NOT NULL
);

-- Users and balances per tier.
CREATE TABLE balance_totals (
    tier               TEXT PRIMARY KEY NOT NULL,
    users              BIGINT NOT NULL,
    credits            BIGINT NOT NULL,
    users_with_credits BIGINT NOT NULL
);

-- Distinct users of a window: those whose newest generation falls in it (counted per bucket
-- below, and for partial buckets from the index), plus those with a newer generation that
-- also have one in the window (checked one by one: few, unless the window ends in the past).
ALTER TABLE users ADD COLUMN last_generation_at BIGINT;
CREATE INDEX users_last_generation_at ON users (last_generation_at);

-- Users per bucket of their newest generation.
CREATE TABLE activity_totals (
    bucket BIGINT PRIMARY KEY NOT NULL,
    users  BIGINT NOT NULL
);
DROP INDEX generations_user_id;
CREATE INDEX generations_user_id_created_at ON generations (user_id, created_at);

-- fill: the totals from the raw rows; `usage-monitor rebuild-totals` runs the statements below.
INSERT INTO provider_totals (bucket, provider, generations, succeeded, failed, cost_micros)
SELECT created_at - ((created_at % 900000000) + 900000000) % 900000000,
       provider,
       COUNT(*),
       COUNT(*) FILTER (WHERE status = 'succeeded'),
       COUNT(*) FILTER (WHERE status = 'failed'),
       CAST(SUM(cost_micros) AS BIGINT)
FROM generations
GROUP BY 1, 2;

INSERT INTO tier_totals (bucket, tier, consumed)
SELECT g.created_at - ((g.created_at % 900000000) + 900000000) % 900000000,
       u.tier,
       CAST(SUM(g.credits - COALESCE(r.credits, 0)) AS BIGINT)
FROM generations g
JOIN users u ON u.id = g.user_id
LEFT JOIN refunds r ON r.generation_id = g.id
GROUP BY 1, 2;

INSERT INTO refund_totals (bucket, refunds)
SELECT at - ((at % 900000000) + 900000000) % 900000000, COUNT(*)
FROM refunds
GROUP BY 1;

INSERT INTO balance_totals (tier, users, credits, users_with_credits)
SELECT tier, COUNT(*), CAST(SUM(credits) AS BIGINT), COUNT(*) FILTER (WHERE credits > 0)
FROM users
GROUP BY tier;

UPDATE users SET last_generation_at = (
    SELECT MAX(g.created_at) FROM generations g WHERE g.user_id = users.id
);

INSERT INTO activity_totals (bucket, users)
SELECT last_generation_at - ((last_generation_at % 900000000) + 900000000) % 900000000, COUNT(*)
FROM users
WHERE last_generation_at IS NOT NULL
GROUP BY 1;
