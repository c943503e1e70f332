-- Refund reconciliation in the generation totals: per bucket, provider and tier, how many
-- failed generations have no refund, and how many refunds are larger than the credits now
-- charged (a generation's credits corrected after its refund). The dashboard counts both
-- over a window as it counts the rest; the failures of the grace period before now are
-- read from the raw rows at the window's edge.

ALTER TABLE generation_totals ADD COLUMN unrefunded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE generation_totals ADD COLUMN over_refunded BIGINT NOT NULL DEFAULT 0;
DELETE FROM generation_totals;
DELETE FROM refund_totals;
DELETE FROM balance_totals;
DELETE FROM activity_totals;

-- fill: the totals from the raw rows; `usage-monitor rebuild-totals` runs the statements below.
INSERT INTO generation_totals
    (span, bucket, provider, tier, generations, succeeded, failed, cost_micros, consumed,
     unrefunded, over_refunded)
SELECT s.span,
       g.created_at - ((g.created_at % s.span) + s.span) % s.span,
       g.provider,
       u.tier,
       COUNT(*),
       COUNT(*) FILTER (WHERE g.status = 'succeeded'),
       COUNT(*) FILTER (WHERE g.status = 'failed'),
       CAST(SUM(g.cost_micros) AS BIGINT),
       CAST(SUM(g.credits - COALESCE(r.credits, 0)) AS BIGINT),
       COUNT(*) FILTER (WHERE g.status = 'failed' AND r.generation_id IS NULL),
       COUNT(*) FILTER (WHERE r.credits > g.credits)
FROM generations g
JOIN users u ON u.id = g.user_id
LEFT JOIN refunds r ON r.generation_id = g.id
CROSS JOIN (SELECT 900000000 AS span UNION ALL SELECT 86400000000) s
GROUP BY 1, 2, 3, 4;

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
