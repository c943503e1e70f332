//! Fills in the error group of failures stored without one (before the column existed),
//! and recomputes every failure's group when the totals are rebuilt (after an upgrade that
//! changed the rule). Ingest writes a failure's group with the row; SQL cannot run the
//! rule, so this is done from Rust, a batch per write transaction, which moves each failure
//! it regroups between the groups' running totals.

use crate::db::transaction::begin_write_turn;
use crate::db::Db;
use crate::totals::Deltas;
use model::error_group::pattern;
use sqlx::{AnyConnection, Row};

/// Failures read and written per transaction: writers wait for one batch, not for all.
const BATCH: i64 = 1000;

/// Fills in the group of every failure that has none; returns how many it filled in. Safe
/// with several servers at once: each reads the failures still missing under the write
/// lock, and all compute the same.
pub async fn fill_missing(db: &Db) -> Result<u64, sqlx::Error> {
    let mut filled = 0;
    loop {
        let mut tx = begin_write_turn(db).await?;
        let rows = sqlx::query(
            "SELECT id, provider, created_at, error, error_group FROM generations
             WHERE status = 'failed' AND error_group IS NULL LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut deltas = Deltas::default();
        for row in &rows {
            regroup(&mut tx, row, &mut deltas).await?;
        }
        deltas.apply(&mut tx).await?;
        tx.commit().await?;
        filled += rows.len() as u64;
        if (rows.len() as i64) < BATCH {
            return Ok(filled);
        }
    }
}

/// Recomputes every failure's group and clears the others'; returns how many rows changed.
pub async fn recompute(db: &Db) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    let mut after = String::new();
    loop {
        let mut tx = begin_write_turn(db).await?;
        let rows = sqlx::query(
            "SELECT id, provider, created_at, error, error_group FROM generations
             WHERE status = 'failed' AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.as_str())
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut deltas = Deltas::default();
        for row in &rows {
            changed += u64::from(regroup(&mut tx, row, &mut deltas).await?);
            after = row.try_get("id")?;
        }
        deltas.apply(&mut tx).await?;
        tx.commit().await?;
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    let mut tx = begin_write_turn(db).await?;
    let cleared = sqlx::query(
        "UPDATE generations SET error_group = NULL
         WHERE status <> 'failed' AND error_group IS NOT NULL",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(changed + cleared.rows_affected())
}

/// Writes the group the rule gives a failure's `row` if it is not the stored one, and moves
/// the failure between the groups' totals; says whether it changed.
async fn regroup(
    conn: &mut AnyConnection,
    row: &sqlx::any::AnyRow,
    deltas: &mut Deltas,
) -> Result<bool, sqlx::Error> {
    let error: Option<String> = row.try_get("error")?;
    let stored: Option<String> = row.try_get("error_group")?;
    let group = pattern(error.as_deref());
    if stored.as_deref() == Some(group.as_str()) {
        return Ok(false);
    }
    let provider: String = row.try_get("provider")?;
    let created_at: i64 = row.try_get("created_at")?;
    deltas.regroup(&provider, created_at, stored.as_deref(), &group);
    sqlx::query("UPDATE generations SET error_group = $1 WHERE id = $2")
        .bind(group)
        .bind(row.try_get::<String, _>("id")?)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}
