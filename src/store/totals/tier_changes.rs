//! A user's tier change moves the totals of all their generations from the old tier to the
//! new one (`generation_totals` counts each generation under the tier its user has now).
//! The database sums the moved users' generations per quarter hour and provider itself and
//! adds the sums to the totals, taken from the old tier and given to the new: nothing but
//! the statement crosses to the program, however many generations a user has. The other
//! totals are not kept by tier, but balances, which move with the user's row.

use crate::model::dashboard::Tier;
use crate::store::db::bulk::id_lists_after;
use sqlx::AnyConnection;

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
               WHERE g.user_id IN {users}
               GROUP BY 1, 2) q
         CROSS JOIN (SELECT 900000000 AS span UNION ALL SELECT 86400000000) s
         CROSS JOIN (SELECT $1 AS tier, -1 AS sign UNION ALL SELECT $2, 1) m
         WHERE true
         GROUP BY 1, 2, 3, 4
         ON CONFLICT (span, bucket, provider, tier) DO UPDATE SET
             generations = generation_totals.generations + excluded.generations,
             succeeded = generation_totals.succeeded + excluded.succeeded,
             failed = generation_totals.failed + excluded.failed,
             cost_micros = generation_totals.cost_micros + excluded.cost_micros,
             consumed = generation_totals.consumed + excluded.consumed,
             unrefunded = generation_totals.unrefunded + excluded.unrefunded,
             over_refunded = generation_totals.over_refunded + excluded.over_refunded"
    )
}

/// Moves the generation totals of each user's stored generations from their old tier to
/// their new one (`(user, old, new)`), in the caller's write transaction: one statement per
/// pair of tiers, whatever the number of users and generations.
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
            for list in id_lists_after(conn, &users, 2) {
                let sql = move_statement(&list.sql);
                let query = sqlx::query(&sql).bind(from.as_str()).bind(to.as_str());
                list.bind(query).execute(&mut *conn).await?;
            }
        }
    }
    Ok(())
}
