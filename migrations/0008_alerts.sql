-- Alerts (README, "Alerts"): the health last announced to the webhooks, and a log of every
-- message sent. Times are integer microseconds since the Unix epoch (UTC), as elsewhere.

-- One row per watched figure (only 'health' so far). Servers claim a change by moving
-- `status` from the value they read to the new one in one conditional UPDATE: of several
-- servers on one database exactly one succeeds, and only it sends.
CREATE TABLE alert_state (
    name       TEXT PRIMARY KEY NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('healthy', 'degraded', 'critical', 'idle')),
    changed_at BIGINT NOT NULL
);

-- One row per message and webhook. Written as 'sending' together with the claim, then
-- finished with the outcome of the last attempt; a row left 'sending' was cut off by a
-- crash (it is not sent again: once per change wins over at least once).
CREATE TABLE alert_deliveries (
    id           TEXT PRIMARY KEY NOT NULL,
    created_at   BIGINT NOT NULL,
    attempted_at BIGINT,
    kind         TEXT NOT NULL CHECK (kind IN ('change', 'test')),
    previous     TEXT,
    status       TEXT NOT NULL,
    -- Scheme and host only: the rest of a webhook URL is a secret.
    webhook      TEXT NOT NULL,
    attempts     BIGINT NOT NULL CHECK (attempts >= 0),
    outcome      TEXT NOT NULL CHECK (outcome IN ('sending', 'delivered', 'failed')),
    http_status  BIGINT,
    error        TEXT
);

CREATE INDEX alert_deliveries_created_at ON alert_deliveries (created_at);
