-- Running totals of failures per error group and provider, by UTC day and quarter hour,
-- so that the error groups of a window (docs/metrics.md, "Error groups") are counted from
-- a few rows per group instead of one index entry per failure. A failure stored before its
-- group was filled in counts under the group '' until it is (store::error_groups moves it).
CREATE TABLE error_group_totals (
    span        BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    error_group TEXT NOT NULL,
    provider    TEXT NOT NULL,
    failures    BIGINT NOT NULL,
    PRIMARY KEY (span, bucket, error_group, provider)
);

-- fill: the totals from the raw rows; `usage-monitor rebuild-totals` runs the statements below.
INSERT INTO error_group_totals (span, bucket, error_group, provider, failures)
SELECT s.span,
       g.created_at - ((g.created_at % s.span) + s.span) % s.span,
       COALESCE(g.error_group, ''),
       g.provider,
       COUNT(*)
FROM generations g
CROSS JOIN (SELECT 86400000000 AS span UNION ALL SELECT 900000000) s
WHERE g.status = 'failed'
GROUP BY 1, 2, 3, 4;
