-- Secrets that every server on the database must share, made by the first server that
-- needs one. `device-cookie` is the key that signs the login door's device cookies
-- (README, Security, rule 4), so that a cookie one server gave is trusted by the others.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
