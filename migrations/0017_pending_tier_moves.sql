-- A tier change of a user with a long history moves the totals of their generations after
-- the batch that changed the tier has committed, in parts of whole UTC days, each in its own
-- short write transaction (`crates/store/src/totals/pending_moves.rs`). Until the last part,
-- the user's generations created after `moved_up_to` still count under `from_tier` and the
-- others under the user's tier now (`to_tier`); the last part deletes the row.
CREATE TABLE pending_tier_moves (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    from_tier   TEXT NOT NULL CHECK (from_tier IN ('free', 'plus', 'pro')),
    to_tier     TEXT NOT NULL CHECK (to_tier IN ('free', 'plus', 'pro')),
    moved_up_to BIGINT NOT NULL
);
