//! Running totals per user (`migrations/0013_user_totals.sql`): each user's generations,
//! cost and credits per UTC day and per 32 UTC days, kept with the other totals.

use super::{bucket_floor, Contribution, DAY};
use crate::db::bulk::insert_rows;
use model::event::Status;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// 32 UTC days: a month or 30 days lies in at most two of them.
pub const LONG_SPAN: i64 = 32 * DAY;
/// The per-user bucket lengths kept, longest first.
pub const USER_SPANS: [i64; 2] = [LONG_SPAN, DAY];

/// What one user's generations of one bucket add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub generations: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cost_micros: i64,
    /// Credits charged.
    pub credits: i64,
    /// Credits refunded to them.
    pub refunded: i64,
}

/// Changes by user, span and bucket: the order of the table's key, so that writers touch
/// rows in one order.
pub type UserDeltas = BTreeMap<(String, i64, i64), UserCounts>;

/// Adds (`sign` 1) or takes away (`sign` -1) a generation's share of its user's totals.
pub fn add(deltas: &mut UserDeltas, g: &Contribution<'_>, sign: i64) {
    for span in USER_SPANS {
        let key = (g.user_id.to_owned(), span, bucket_floor(g.created_at, span));
        let counts = deltas.entry(key).or_default();
        counts.generations += sign;
        counts.succeeded += sign * i64::from(g.status == Status::Succeeded);
        counts.failed += sign * i64::from(g.status == Status::Failed);
        counts.cost_micros += sign * g.cost_micros;
        counts.credits += sign * g.credits;
        counts.refunded += sign * g.refund.map_or(0, |(credits, _)| credits);
    }
}

/// Adds the changes to the stored totals, skipping keys whose change is nothing.
pub async fn apply(conn: &mut AnyConnection, deltas: UserDeltas) -> Result<(), sqlx::Error> {
    let changed: Vec<_> = deltas
        .into_iter()
        .filter(|(_, c)| *c != UserCounts::default())
        .collect();
    insert_rows(
        conn,
        "user_totals",
        [
            "user_id",
            "span",
            "bucket",
            "generations",
            "succeeded",
            "failed",
            "cost_micros",
            "credits",
            "refunded",
        ],
        "ON CONFLICT (user_id, span, bucket) DO UPDATE SET
             generations = user_totals.generations + excluded.generations,
             succeeded = user_totals.succeeded + excluded.succeeded,
             failed = user_totals.failed + excluded.failed,
             cost_micros = user_totals.cost_micros + excluded.cost_micros,
             credits = user_totals.credits + excluded.credits,
             refunded = user_totals.refunded + excluded.refunded",
        &changed,
        |((user_id, span, bucket), c)| {
            [
                user_id.as_str().into(),
                (*span).into(),
                (*bucket).into(),
                c.generations.into(),
                c.succeeded.into(),
                c.failed.into(),
                c.cost_micros.into(),
                c.credits.into(),
                c.refunded.into(),
            ]
        },
    )
    .await
}

/// Every stored row but those all zero (which mean the same as no row), in key order.
pub async fn read_all(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, i64, i64, UserCounts)>, sqlx::Error> {
    let mut totals = Vec::new();
    for row in sqlx::query(
        "SELECT user_id, span, bucket, generations, succeeded, failed, cost_micros, credits,
                refunded
         FROM user_totals
         WHERE generations <> 0 OR cost_micros <> 0 OR credits <> 0 OR refunded <> 0
         ORDER BY user_id, span, bucket",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let counts = UserCounts {
            generations: row.try_get("generations")?,
            succeeded: row.try_get("succeeded")?,
            failed: row.try_get("failed")?,
            cost_micros: row.try_get("cost_micros")?,
            credits: row.try_get("credits")?,
            refunded: row.try_get("refunded")?,
        };
        totals.push((
            row.try_get("user_id")?,
            row.try_get("span")?,
            row.try_get("bucket")?,
            counts,
        ));
    }
    Ok(totals)
}
