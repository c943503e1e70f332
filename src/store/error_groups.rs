//! Fills in the error group of failures stored without one (before the column existed),
//! and recomputes every failure's group when the totals are rebuilt (after an upgrade that
//! changed the rule). Ingest writes a failure's group with the row; SQL cannot run the
//! rule, so this is done from Rust, a batch per write transaction.

use crate::model::error_group::pattern;
use crate::store::db::Db;
use crate::store::ingest::begin_write;
use sqlx::Row;

/// Failures read and written per transaction: writers wait for one batch, not for all.
const BATCH: i64 = 1000;

/// Fills in the group of every failure that has none; returns how many it filled in. Safe
/// with several servers at once: each writes only groups still missing, and all compute
/// the same.
pub async fn fill_missing(db: &Db) -> Result<u64, sqlx::Error> {
    let mut filled = 0;
    loop {
        let mut tx = begin_write(db).await?;
        let rows = sqlx::query(
            "SELECT id, error FROM generations
             WHERE status = 'failed' AND error_group IS NULL LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let error: Option<String> = row.try_get("error")?;
            sqlx::query(
                "UPDATE generations SET error_group = $1
                 WHERE id = $2 AND status = 'failed' AND error_group IS NULL",
            )
            .bind(pattern(error.as_deref()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
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
        let mut tx = begin_write(db).await?;
        let rows = sqlx::query(
            "SELECT id, error, error_group FROM generations
             WHERE status = 'failed' AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.as_str())
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let error: Option<String> = row.try_get("error")?;
            let stored: Option<String> = row.try_get("error_group")?;
            let group = pattern(error.as_deref());
            if stored.as_deref() != Some(group.as_str()) {
                sqlx::query("UPDATE generations SET error_group = $1 WHERE id = $2")
                    .bind(group)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                changed += 1;
            }
            after = id;
        }
        tx.commit().await?;
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    let mut tx = begin_write(db).await?;
    let cleared = sqlx::query(
        "UPDATE generations SET error_group = NULL
         WHERE status <> 'failed' AND error_group IS NOT NULL",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(changed + cleared.rows_affected())
}
