-- Money is stored exactly, as integer millionths of a dollar; times as integer
-- microseconds since the Unix epoch (UTC), so both backends compare and sum them alike.

CREATE TABLE users (
    id      TEXT PRIMARY KEY NOT NULL,
    tier    TEXT NOT NULL CHECK (tier IN ('free', 'plus', 'pro')),
    credits BIGINT NOT NULL CHECK (credits >= 0),
    email   TEXT
);

CREATE TABLE generations (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    provider     TEXT NOT NULL,
    model        TEXT,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    credits      BIGINT NOT NULL CHECK (credits >= 0),
    cost_micros  BIGINT NOT NULL CHECK (cost_micros >= 0),
    created_at   BIGINT NOT NULL,
    completed_at BIGINT,
    error        TEXT
);

-- Every window is a range of created_at.
CREATE INDEX generations_created_at ON generations (created_at);
-- Recent failures: the newest failed ones, without scanning the successes.
CREATE INDEX generations_failed_created_at ON generations (created_at) WHERE status = 'failed';
CREATE INDEX generations_user_id ON generations (user_id);

CREATE TABLE refunds (
    generation_id TEXT PRIMARY KEY NOT NULL REFERENCES generations (id),
    credits       BIGINT NOT NULL CHECK (credits > 0),
    at            BIGINT NOT NULL
);

CREATE INDEX refunds_at ON refunds (at);
