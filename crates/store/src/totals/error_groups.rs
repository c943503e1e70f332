//! Running totals of failures per error group (`migrations/0014_error_group_totals.sql`):
//! each group's failures per provider, UTC day and quarter hour, kept with the other totals.

use super::{bucket_floor, SPANS};
use crate::db::bulk::insert_rows;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// The group a failure stored without one counts under until it is filled in.
pub const UNGROUPED: &str = "";

/// Changes by span, bucket, group and provider: the order of the table's key.
pub type GroupDeltas = BTreeMap<(i64, i64, String, String), i64>;

/// Adds (`sign` 1) or takes away (`sign` -1) one failure of `group` from its buckets.
pub fn add(
    deltas: &mut GroupDeltas,
    group: Option<&str>,
    provider: &str,
    created_at: i64,
    sign: i64,
) {
    let group = group.unwrap_or(UNGROUPED);
    for span in SPANS {
        let key = (
            span,
            bucket_floor(created_at, span),
            group.to_owned(),
            provider.to_owned(),
        );
        *deltas.entry(key).or_default() += sign;
    }
}

/// Adds the changes to the stored totals, skipping keys whose change is nothing.
pub async fn apply(conn: &mut AnyConnection, deltas: GroupDeltas) -> Result<(), sqlx::Error> {
    let changed: Vec<_> = deltas.into_iter().filter(|(_, n)| *n != 0).collect();
    insert_rows(
        conn,
        "error_group_totals",
        ["span", "bucket", "error_group", "provider", "failures"],
        "ON CONFLICT (span, bucket, error_group, provider) DO UPDATE SET
             failures = error_group_totals.failures + excluded.failures",
        &changed,
        |((span, bucket, group, provider), failures)| {
            [
                (*span).into(),
                (*bucket).into(),
                group.as_str().into(),
                provider.as_str().into(),
                (*failures).into(),
            ]
        },
    )
    .await
}

/// Every stored row but those at 0 (which mean the same as no row), in key order.
pub async fn read_all(
    conn: &mut AnyConnection,
) -> Result<Vec<(i64, i64, String, String, i64)>, sqlx::Error> {
    let mut totals = Vec::new();
    for row in sqlx::query(
        "SELECT span, bucket, error_group, provider, failures FROM error_group_totals
         WHERE failures <> 0 ORDER BY span, bucket, error_group, provider",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        totals.push((
            row.try_get("span")?,
            row.try_get("bucket")?,
            row.try_get("error_group")?,
            row.try_get("provider")?,
            row.try_get("failures")?,
        ));
    }
    Ok(totals)
}
