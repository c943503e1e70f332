//! The store's two kinds of write transaction, named for what each takes.

use super::Db;
use sqlx::{Any, Transaction};

/// The PostgreSQL advisory lock that makes writers take turns ("usage-mo" in ASCII).
const WRITE_LOCK: i64 = 0x7573_6167_652d_6d6f;

/// Begins a transaction that writes events or totals. Writers take turns, so that a batch's
/// reads stay true until it commits and totals move by exactly each change: on SQLite the
/// process's writers queue for its one writing connection ([`Db::writer`]), which takes the
/// write lock up front (`BEGIN IMMEDIATE`, so that a writer of another process waits out
/// the busy timeout instead of failing at its first write); PostgreSQL takes a
/// transaction-scoped advisory lock. Readers never wait for either.
pub async fn begin_write_turn(db: &Db) -> Result<Transaction<'static, Any>, sqlx::Error> {
    if db.is_sqlite() {
        return db.writer().begin_with("BEGIN IMMEDIATE").await;
    }
    let mut tx = db.writer().begin().await?;
    // The subquery keeps the function's `void` out of the result, which `Any` cannot decode.
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
        .bind(WRITE_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// A write transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`), so that
/// servers in other processes wait their turn (busy timeout) rather than fail, but no turn
/// on PostgreSQL, where the rows' own locks order its writers: the login throttle's, which
/// must not wait behind an import.
pub async fn begin_row_write(db: &Db) -> Result<Transaction<'static, Any>, sqlx::Error> {
    if db.is_sqlite() {
        db.writer().begin_with("BEGIN IMMEDIATE").await
    } else {
        db.writer().begin().await
    }
}
