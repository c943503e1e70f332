-- The login throttle (README, Security, rules 1, 4 and 6), shared by every server on the
-- database. One row per account, per account at an address, and per address; `key` names
-- which (accounts by the SHA-256 of their email, so that no typed text is stored). Times
-- are integer microseconds since the Unix epoch (UTC), as elsewhere.
--
-- `attempts` counts the attempts of the current window that were let through: those still
-- being checked and those that failed (a success, or an attempt never checked, gives its
-- own back). A row whose `expires_at` has passed counts as empty; servers delete such rows.
-- `not_before` paces an account: until then its attempts are refused.
CREATE TABLE login_attempts (
    key        TEXT PRIMARY KEY NOT NULL,
    attempts   BIGINT NOT NULL CHECK (attempts >= 0),
    not_before BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX login_attempts_expires_at ON login_attempts (expires_at);
