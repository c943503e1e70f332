//! A user's tier change moves the totals of all their generations from the old tier to the
//! new one (`generation_totals` counts each generation under the tier its user has now).
//! The database sums the moved users' generations per quarter hour and provider itself and
//! adds the sums to the totals, taken from the old tier and given to the new: nothing but
//! the statement crosses to the program, however many generations a user has. The other
//! totals are not kept by tier, but balances, which move with the user's row.
//!
//! A history of at most [`GENERATIONS_PER_STATEMENT`] generations moves in the batch's
//! transaction. A longer one moves after the batch's commit (`super::pending_moves`), in
//! parts of whole UTC days, each in its own write transaction, so that other writers and
//! sign-ins run between them. The batch records the move in `pending_tier_moves`
//! (`from_tier`, `moved_up_to`), and until its last part deletes it:
//!
//! **The counted tier.** A generation of a user with a pending move counts under
//! `from_tier` if it was created after `moved_up_to`, else under its user's tier now.
//!
//! Everything that decides under which tier a generation's totals go follows it: a batch's
//! deltas (`crate::ingest::store`, from the pending move read with the user's row), the raw
//! rows at a figure's edge (`crate::figures::tiers`, `crate::figures::margin`), and each
//! part, which moves its days and advances `moved_up_to` in one transaction. A batch that
//! changes the tier of a user with a pending move first finishes that move, within the
//! batch's transaction; `rebuild` finishes pending moves before it recomputes (so that it still
//! tells whether the totals were exact); opening the store finishes those a stopped
//! process left. The straightforward SQL (each generation under its user's tier now)
//! equals the figures once no move is pending, which is so whenever an ingest call has
//! answered: it answers after the moves it recorded are done.

use super::ADD_TO_GENERATION_TOTALS;
use crate::buckets::DAY;
use crate::db::bulk::{id_lists_after, is_postgres};
use model::dashboard::Tier;
use sqlx::{AnyConnection, Executor, Row};

/// The most generations one statement moves: a longer history moves in parts, each its own
/// statement in the same transaction, so that none nears PostgreSQL's statement timeout
/// however many generations a user has.
#[cfg(not(test))]
pub(super) const GENERATIONS_PER_STATEMENT: i64 = 100_000;
/// Small in the tests, so that every test of a tier change moves histories in parts too.
#[cfg(test)]
pub(super) const GENERATIONS_PER_STATEMENT: i64 = 5;

/// The generation totals of the generations stored for the users of each list, by span,
/// bucket and provider, taken from tier `$1` and added to tier `$2`. A quarter hour lies in
/// one UTC day, so the days are summed from the quarters rather than from the rows again.
/// Its sums are those of the rebuild (`migrations/0006_reconciliation_totals.sql`), with
/// each generation's refund read from the row itself (`refunded_credits`, written with the
/// refund) instead of a look-up in `refunds` per row.
fn move_statement(users: &str) -> String {
    format!(
        "INSERT INTO generation_totals
             (span, bucket, provider, tier, generations, succeeded, failed, cost_micros, consumed,
              unrefunded, over_refunded)
         SELECT s.span,
                q.bucket - ((q.bucket % s.span) + s.span) % s.span,
                q.provider,
                m.tier,
                CAST(SUM(m.sign * q.generations) AS BIGINT),
                CAST(SUM(m.sign * q.succeeded) AS BIGINT),
                CAST(SUM(m.sign * q.failed) AS BIGINT),
                CAST(SUM(m.sign * q.cost_micros) AS BIGINT),
                CAST(SUM(m.sign * q.consumed) AS BIGINT),
                CAST(SUM(m.sign * q.unrefunded) AS BIGINT),
                CAST(SUM(m.sign * q.over_refunded) AS BIGINT)
         FROM (SELECT g.created_at - ((g.created_at % 900000000) + 900000000) % 900000000
                          AS bucket,
                      g.provider,
                      COUNT(*) AS generations,
                      COUNT(*) FILTER (WHERE g.status = 'succeeded') AS succeeded,
                      COUNT(*) FILTER (WHERE g.status = 'failed') AS failed,
                      SUM(g.cost_micros) AS cost_micros,
                      SUM(g.credits - COALESCE(g.refunded_credits, 0)) AS consumed,
                      COUNT(*) FILTER (WHERE g.status = 'failed' AND g.refunded_credits IS NULL)
                          AS unrefunded,
                      COUNT(*) FILTER (WHERE g.refunded_credits > g.credits) AS over_refunded
               FROM generations g
               WHERE g.user_id IN {users} AND g.created_at > $3 AND g.created_at <= $4
               GROUP BY 1, 2) q
         CROSS JOIN (SELECT 900000000 AS span UNION ALL SELECT 86400000000) s
         CROSS JOIN (SELECT $1 AS tier, -1 AS sign UNION ALL SELECT $2, 1) m
         WHERE true
         GROUP BY 1, 2, 3, 4
         {ADD_TO_GENERATION_TOTALS}"
    )
}

/// Moves the generation totals of each user's stored generations from their old tier to
/// their new one (`(user, old, new)`), in the caller's write transaction, users together
/// while their generations add up to [`GENERATIONS_PER_STATEMENT`]. A longer history is
/// not moved but returned with its tiers, for a move after the commit.
pub async fn move_users<'a>(
    conn: &mut AnyConnection,
    moved: &[(&'a str, Tier, Tier)],
) -> Result<Vec<(&'a str, Tier, Tier)>, sqlx::Error> {
    let mut planned = false;
    let mut long = Vec::new();
    for from in Tier::ALL {
        for to in Tier::ALL {
            let users: Vec<&str> = moved
                .iter()
                .filter(|(_, old, new)| (*old, *new) == (from, to) && old != new)
                .map(|(user, _, _)| *user)
                .collect();
            if users.is_empty() {
                continue;
            }
            if !planned {
                plan_for_large_sums(conn).await?;
                planned = true;
            }
            let histories = generations_by_day(conn, &users, i64::MIN).await?;
            let (few, many): (Vec<_>, Vec<_>) = histories
                .iter()
                .map(|(user, days)| (user.as_str(), days.iter().map(|(_, n)| n).sum(), ()))
                .partition(|(_, count, _)| *count <= GENERATIONS_PER_STATEMENT);
            for group in groups_within_a_statement(&few) {
                move_part(conn, (from, to), &group, (i64::MIN, i64::MAX)).await?;
            }
            for (user, _, ()) in many {
                let user = users.iter().find(|u| **u == user).expect("a moved user");
                long.push((*user, from, to));
            }
        }
    }
    Ok(long)
}

/// Moves the totals of `user`'s generations created after `after` from one tier to the
/// other, in parts of whole UTC days, all in the caller's transaction.
pub(super) async fn move_rest(
    conn: &mut AnyConnection,
    user: &str,
    tiers: (Tier, Tier),
    after: i64,
) -> Result<(), sqlx::Error> {
    plan_for_large_sums(conn).await?;
    let days = generations_by_day(conn, &[user], after).await?;
    let days = days.first().map_or(&[][..], |(_, days)| days);
    for part in parts_of_whole_days(days, after) {
        move_part(conn, tiers, &[user], part).await?;
    }
    Ok(())
}

/// Moves the totals of the first part (whole UTC days, [`GENERATIONS_PER_STATEMENT`] at
/// most) of `user`'s generations created after `after`, in the caller's transaction, and
/// returns the creation time the part ends at (`i64::MAX`: it was the last).
pub(super) async fn move_next_part(
    conn: &mut AnyConnection,
    user: &str,
    tiers: (Tier, Tier),
    after: i64,
) -> Result<i64, sqlx::Error> {
    plan_for_large_sums(conn).await?;
    let days = generations_by_day(conn, &[user], after).await?;
    let days = days.first().map_or(&[][..], |(_, days)| days);
    let part = parts_of_whole_days(days, after)[0];
    move_part(conn, tiers, &[user], part).await?;
    Ok(part.1)
}

/// On PostgreSQL, for the rest of the batch's transaction: no JIT compilation, which costs
/// each move statement tens of milliseconds to save none on sums of this size, and room in
/// memory for their sorts and hash tables instead of temporary files.
async fn plan_for_large_sums(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if is_postgres(conn) {
        conn.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
            .await?;
    }
    Ok(())
}

/// Each of `users`' generations per UTC day after `after` (`(day, generations)` in order),
/// from their day totals (`user_totals`); a user with none is not listed. The days only choose where
/// parts end: totals that drifted make parts of another size, never a wrong move.
async fn generations_by_day(
    conn: &mut AnyConnection,
    users: &[&str],
    after: i64,
) -> Result<Vec<(String, Vec<(i64, i64)>)>, sqlx::Error> {
    let mut histories: Vec<(String, Vec<(i64, i64)>)> = Vec::new();
    for list in id_lists_after(conn, users, 2) {
        // A day after `after` starts after it: parts end at the last instant of a day.
        let sql = format!(
            "SELECT user_id, bucket, generations FROM user_totals
             WHERE span = $1 AND bucket > $2 AND user_id IN {} AND generations <> 0
             ORDER BY user_id, bucket",
            list.sql
        );
        let query = sqlx::query(&sql).bind(DAY).bind(after);
        for row in list.bind(query).fetch_all(&mut *conn).await? {
            let user: String = row.try_get("user_id")?;
            let day = (row.try_get("bucket")?, row.try_get("generations")?);
            match histories.last_mut() {
                Some((last, days)) if *last == user => days.push(day),
                _ => histories.push((user, vec![day])),
            }
        }
    }
    Ok(histories)
}

/// Users (with their generations) in groups whose generations add up to at most
/// [`GENERATIONS_PER_STATEMENT`].
fn groups_within_a_statement<'a, T>(counts: &[(&'a str, i64, T)]) -> Vec<Vec<&'a str>> {
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut room = 0;
    for (user, count, _) in counts {
        if groups.is_empty() || *count > room {
            groups.push(Vec::new());
            room = GENERATIONS_PER_STATEMENT;
        }
        room -= count;
        groups.last_mut().expect("a group").push(user);
    }
    groups
}

/// Creation times `(after, up to]` that cover all time after `start` in parts of whole UTC
/// days, each of at most [`GENERATIONS_PER_STATEMENT`] of `days`' generations (`(day,
/// generations)` in order, all after `start`), a day with more being a part of its own.
fn parts_of_whole_days(days: &[(i64, i64)], start: i64) -> Vec<(i64, i64)> {
    let mut parts = Vec::new();
    let mut after = start;
    let mut in_part = 0;
    for &(day, generations) in days {
        if in_part > 0 && in_part + generations > GENERATIONS_PER_STATEMENT {
            parts.push((after, day - 1));
            after = day - 1;
            in_part = 0;
        }
        in_part += generations;
    }
    parts.push((after, i64::MAX));
    parts
}

/// Moves the generations of `users` created in `(after, up to]` from one tier to the other.
async fn move_part(
    conn: &mut AnyConnection,
    (from, to): (Tier, Tier),
    users: &[&str],
    (after, up_to): (i64, i64),
) -> Result<(), sqlx::Error> {
    for list in id_lists_after(conn, users, 4) {
        let sql = move_statement(&list.sql);
        let query = sqlx::query(&sql)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(after)
            .bind(up_to);
        list.bind(query).execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_whole_days_within_a_statement_and_cover_all_time() {
        // Five at most in the tests.
        let days = [
            (0, 2),
            (DAY, 3),
            (2 * DAY, 1),
            (3 * DAY, 9),
            (5 * DAY, 4),
            (6 * DAY, 1),
        ];
        assert_eq!(
            parts_of_whole_days(&days, i64::MIN),
            [
                (i64::MIN, 2 * DAY - 1),
                (2 * DAY - 1, 3 * DAY - 1),
                (3 * DAY - 1, 5 * DAY - 1),
                (5 * DAY - 1, i64::MAX),
            ]
        );
        assert_eq!(parts_of_whole_days(&[], i64::MIN), [(i64::MIN, i64::MAX)]);
        // Starting after a part already moved.
        assert_eq!(
            parts_of_whole_days(&days[3..], 3 * DAY - 1),
            [(3 * DAY - 1, 5 * DAY - 1), (5 * DAY - 1, i64::MAX)]
        );
    }

    #[test]
    fn users_are_grouped_while_their_generations_fit_one_statement() {
        let counts = [("a", 2, ()), ("b", 3, ()), ("c", 1, ()), ("d", 4, ())];
        assert_eq!(
            groups_within_a_statement(&counts),
            [vec!["a", "b"], vec!["c", "d"]]
        );
    }
}
