-- A user's generations by time carry what a window's edges sum (cost, credits charged and
-- refunded), so that the raw rows at the edges of a user's window (top users over the last
-- 30 days, the users over the per-user limit) are read from the index alone, without a
-- look-up of each row. The log filtered by user pages through it by key as before.
DROP INDEX generations_user_id_created_at;
CREATE INDEX generations_user_id_created_at
    ON generations (user_id, created_at, cost_micros, credits, refunded_credits);
