-- Budgets (docs/alerts.md, "Budgets"): the budgets admins set on the Alerts page, the log
-- of their changes, and the crossings announced. Money in micro-dollars and times in
-- integer microseconds since the Unix epoch (UTC), as elsewhere.

-- At most one row: the budgets an admin saved. Without it, those of Leptos.toml apply.
-- NULL is off.
CREATE TABLE budget_settings (
    id              BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    daily_micros    BIGINT CHECK (daily_micros > 0),
    monthly_micros  BIGINT CHECK (monthly_micros > 0),
    per_user_micros BIGINT CHECK (per_user_micros > 0),
    -- Percentages, ascending, comma-separated: '80,100'.
    levels          TEXT NOT NULL,
    changed_at      BIGINT NOT NULL,
    changed_by      TEXT NOT NULL
);

-- Who changed the budgets, when, from what to what (as the page describes them).
CREATE TABLE budget_changes (
    id         TEXT PRIMARY KEY NOT NULL,
    changed_at BIGINT NOT NULL,
    admin      TEXT NOT NULL,
    old        TEXT NOT NULL,
    new        TEXT NOT NULL
);

CREATE INDEX budget_changes_changed_at ON budget_changes (changed_at);

-- One row per crossing announced: a budget's level in a period ('daily' and 'monthly'), or
-- a user over the per-user limit on a local day ('user', level 0). Servers claim a
-- crossing by inserting its row; of several servers on one database exactly one inserts
-- it, and only that one sends. `period` is the local day ('2026-03-08') or month ('2026-03').
CREATE TABLE budget_crossings (
    budget        TEXT NOT NULL CHECK (budget IN ('daily', 'monthly', 'user')),
    period        TEXT NOT NULL,
    level         BIGINT NOT NULL,
    user_id       TEXT NOT NULL,
    claimed_at    BIGINT NOT NULL,
    spent_micros  BIGINT NOT NULL,
    budget_micros BIGINT NOT NULL,
    PRIMARY KEY (budget, period, level, user_id)
);

-- Users over the per-user limit: each user's cost over the last 24 hours, read from this
-- index alone (a day of entries, never the rows), whatever the number of generations.
CREATE INDEX generations_created_at_user_cost ON generations (created_at, user_id, cost_micros);

-- The delivery log learns budget alerts: kind 'budget', no health, and what was crossed.
-- Rebuilt, as SQLite cannot change a CHECK in place.
CREATE TABLE alert_deliveries_new (
    id           TEXT PRIMARY KEY NOT NULL,
    created_at   BIGINT NOT NULL,
    attempted_at BIGINT,
    kind         TEXT NOT NULL CHECK (kind IN ('change', 'test', 'budget')),
    previous     TEXT,
    -- The health (NULL for a budget alert).
    status       TEXT,
    webhook      TEXT NOT NULL,
    attempts     BIGINT NOT NULL CHECK (attempts >= 0),
    outcome      TEXT NOT NULL CHECK (outcome IN ('sending', 'delivered', 'failed')),
    http_status  BIGINT,
    error        TEXT,
    -- A budget alert's crossing: 'Daily budget 80%: $4.10 of $5.00'.
    crossed      TEXT
);

INSERT INTO alert_deliveries_new
    (id, created_at, attempted_at, kind, previous, status, webhook, attempts, outcome,
     http_status, error)
SELECT id, created_at, attempted_at, kind, previous, status, webhook, attempts, outcome,
       http_status, error
FROM alert_deliveries;

DROP TABLE alert_deliveries;
ALTER TABLE alert_deliveries_new RENAME TO alert_deliveries;
CREATE INDEX alert_deliveries_created_at ON alert_deliveries (created_at);
