//! A user's tier change moves the totals of all their generations from the old tier to the
//! new one (`generation_totals` counts each generation under the tier its user has now).
//! The database sums the moved users' generations per quarter hour and provider itself and
//! adds the sums to the totals, taken from the old tier and given to the new: nothing but
//! the statement crosses to the program, however many generations a user has. The other
//! totals are not kept by tier, but balances, which move with the user's row.

use super::ADD_TO_GENERATION_TOTALS;
use crate::db::bulk::id_lists_after;
use model::dashboard::Tier;
use sqlx::{AnyConnection, Row};

/// The most generations one statement moves: a longer history moves in parts, each its own
/// statement in the same transaction, so that none nears PostgreSQL's statement timeout
/// however many generations a user has.
#[cfg(not(test))]
const GENERATIONS_PER_STATEMENT: i64 = 100_000;
/// Small in the tests, so that every test of a tier change moves histories in parts too.
#[cfg(test)]
const GENERATIONS_PER_STATEMENT: i64 = 5;

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
/// their new one (`(user, old, new)`), in the caller's write transaction: users together
/// while their generations add up to [`GENERATIONS_PER_STATEMENT`], a longer history in
/// parts of that many.
pub async fn move_users(
    conn: &mut AnyConnection,
    moved: &[(&str, Tier, Tier)],
) -> Result<(), sqlx::Error> {
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
            let tiers = (from, to);
            let counts = generation_counts(conn, &users).await?;
            let (few, many): (Vec<_>, Vec<_>) = counts
                .into_iter()
                .partition(|(_, count)| *count <= GENERATIONS_PER_STATEMENT);
            for group in groups_within_a_statement(&few) {
                move_part(conn, tiers, &group, (i64::MIN, i64::MAX)).await?;
            }
            for (user, _) in &many {
                move_in_parts(conn, tiers, user).await?;
            }
        }
    }
    Ok(())
}

/// How many generations each of `users` has stored (none: not listed).
async fn generation_counts(
    conn: &mut AnyConnection,
    users: &[&str],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut counts = Vec::new();
    for list in id_lists_after(conn, users, 0) {
        let sql = format!(
            "SELECT user_id, COUNT(*) AS generations FROM generations
             WHERE user_id IN {} GROUP BY user_id",
            list.sql
        );
        for row in list.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
            counts.push((row.try_get("user_id")?, row.try_get("generations")?));
        }
    }
    Ok(counts)
}

/// Users in groups whose generations add up to at most [`GENERATIONS_PER_STATEMENT`].
fn groups_within_a_statement(counts: &[(String, i64)]) -> Vec<Vec<&str>> {
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut room = 0;
    for (user, count) in counts {
        if groups.is_empty() || *count > room {
            groups.push(Vec::new());
            room = GENERATIONS_PER_STATEMENT;
        }
        room -= count;
        groups.last_mut().expect("a group").push(user);
    }
    groups
}

/// Moves `user`'s generations in parts of creation times `(after, up to]`, each ending at the
/// time of the part's [`GENERATIONS_PER_STATEMENT`]th generation (with its ties).
async fn move_in_parts(
    conn: &mut AnyConnection,
    tiers: (Tier, Tier),
    user: &str,
) -> Result<(), sqlx::Error> {
    let mut after = i64::MIN;
    loop {
        let end: Option<i64> = sqlx::query_scalar(
            "SELECT created_at FROM generations WHERE user_id = $1 AND created_at > $2
             ORDER BY created_at LIMIT 1 OFFSET $3",
        )
        .bind(user)
        .bind(after)
        .bind(GENERATIONS_PER_STATEMENT - 1)
        .fetch_optional(&mut *conn)
        .await?;
        let up_to = end.unwrap_or(i64::MAX);
        move_part(conn, tiers, &[user], (after, up_to)).await?;
        match end {
            Some(end) => after = end,
            None => return Ok(()),
        }
    }
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
