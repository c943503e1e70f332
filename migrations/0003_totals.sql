-- Running totals, changed in the same transaction as the rows they sum (src/totals.rs), so
-- that the dashboard reads a few hundred of them instead of millions of generations.
-- `bucket` is the start of a slice of UTC time, in microseconds, `span` its length: 15
-- minutes, so that every IANA zone's midnight (+05:30 and +05:45 included) falls on a
-- bucket edge, and whole UTC days, which only spare a window's middle from summing 96
-- quarters each. A window reads its whole days, then the quarters around them, then the
-- raw rows of its partial quarters (the last minutes before now).

-- Generations per bucket of created_at and provider.
CREATE TABLE provider_totals (
    span        BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    provider    TEXT NOT NULL,
    generations BIGINT NOT NULL,
    succeeded   BIGINT NOT NULL,
    failed      BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (span, bucket, provider)
);

-- Credits charged minus refunded, per bucket of the generation's created_at and the tier its
-- user has now (a tier change moves the user's totals).
CREATE TABLE tier_totals (
    span     BIGINT NOT NULL,
    bucket   BIGINT NOT NULL,
    tier     TEXT NOT NULL,
    consumed BIGINT NOT NULL,
    PRIMARY KEY (span, bucket, tier)
);

-- Refunds per bucket of their own time.
CREATE TABLE refund_totals (
    span    BIGINT NOT NULL,
    bucket  BIGINT NOT NULL,
    refunds BIGINT NOT NULL,
    PRIMARY KEY (span, bucket)
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
    span   BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    users  BIGINT NOT NULL,
    PRIMARY KEY (span, bucket)
);
DROP INDEX generations_user_id;
CREATE INDEX generations_user_id_created_at ON generations (user_id, created_at);

-- fill: the totals from the raw rows; `usage-monitor rebuild-totals` runs the statements below.
INSERT INTO provider_totals (span, bucket, provider, generations, succeeded, failed, cost_micros)
SELECT s.span,
       g.created_at - ((g.created_at % s.span) + s.span) % s.span,
       g.provider,
       COUNT(*),
       COUNT(*) FILTER (WHERE g.status = 'succeeded'),
       COUNT(*) FILTER (WHERE g.status = 'failed'),
       CAST(SUM(g.cost_micros) AS BIGINT)
FROM generations g
CROSS JOIN (SELECT 900000000 AS span UNION ALL SELECT 86400000000) s
GROUP BY 1, 2, 3;

INSERT INTO tier_totals (span, bucket, tier, consumed)
SELECT s.span,
       g.created_at - ((g.created_at % s.span) + s.span) % s.span,
       u.tier,
       CAST(SUM(g.credits - COALESCE(r.credits, 0)) AS BIGINT)
FROM generations g
JOIN users u ON u.id = g.user_id
LEFT JOIN refunds r ON r.generation_id = g.id
CROSS JOIN (SELECT 900000000 AS span UNION ALL SELECT 86400000000) s
GROUP BY 1, 2, 3;

INSERT INTO refund_totals (span, bucket, refunds)
SELECT s.span, r.at - ((r.at % s.span) + s.span) % s.span, COUNT(*)
FROM refunds r
CROSS JOIN (SELECT 900000000 AS span UNION ALL SELECT 86400000000) s
GROUP BY 1, 2;

INSERT INTO balance_totals (tier, users, credits, users_with_credits)
SELECT tier, COUNT(*), CAST(SUM(credits) AS BIGINT), COUNT(*) FILTER (WHERE credits > 0)
FROM users
GROUP BY tier;

UPDATE users SET last_generation_at = (
    SELECT MAX(g.created_at) FROM generations g WHERE g.user_id = users.id
);

INSERT INTO activity_totals (span, bucket, users)
SELECT s.span, u.last_generation_at - ((u.last_generation_at % s.span) + s.span) % s.span, COUNT(*)
FROM users u
CROSS JOIN (SELECT 900000000 AS span UNION ALL SELECT 86400000000) s
WHERE u.last_generation_at IS NOT NULL
GROUP BY 1, 2;
