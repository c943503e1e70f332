-- Sums over all rows that every money figure is a part of: the cost and the credits charged
-- of all generations, and the balances of all users. Each figure sums a part of one of
-- them, so while they fit in a BIGINT no total and no figure can overflow: an event that
-- would take one past 2^63 - 1 is rejected with its reason (src/ingest/store.rs).
CREATE TABLE grand_totals (
    name  TEXT PRIMARY KEY NOT NULL CHECK (name IN ('cost_micros', 'credits_charged', 'balances')),
    total BIGINT NOT NULL CHECK (total >= 0)
);

-- fill: the sums from the raw rows; `usage-monitor rebuild-totals` runs the statements below.
INSERT INTO grand_totals (name, total)
SELECT 'cost_micros', COALESCE(CAST(SUM(cost_micros) AS BIGINT), 0) FROM generations;

INSERT INTO grand_totals (name, total)
SELECT 'credits_charged', COALESCE(CAST(SUM(credits) AS BIGINT), 0) FROM generations;

INSERT INTO grand_totals (name, total)
SELECT 'balances', COALESCE(CAST(SUM(credits) AS BIGINT), 0) FROM users;
