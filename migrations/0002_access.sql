-- Who may see the dashboard and send events. Secrets are never stored: sessions and API
-- tokens by their SHA-256 (they are long random strings), passwords by argon2id.

CREATE TABLE admins (
    email         TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY NOT NULL,
    admin_email  TEXT NOT NULL REFERENCES admins (email) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE INDEX sessions_admin_email ON sessions (admin_email);

CREATE TABLE api_tokens (
    name         TEXT PRIMARY KEY NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('ingest', 'read')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
