//! Opening the store for work: connecting and migrating (`db`), then filling in what the
//! migrations leave to the program, the error groups of failures stored before there were
//! groups (`error_groups`), and finishing the tier moves a process stopped in the middle
//! of (`totals::pending_moves`). The server and every command open it so; tests that start from
//! an empty database connect alone.

use crate::db::{Db, DbError, DbTimeouts, Durability};
use crate::error_groups;
use crate::totals::pending_moves;

/// Opens the database at `url`; every commit survives a power loss.
pub async fn open(url: &str, timeouts: DbTimeouts) -> Result<Db, DbError> {
    open_with(url, timeouts, Durability::PowerLoss).await
}

/// [`open`] with commits as durable as `durability` says.
pub async fn open_with(
    url: &str,
    timeouts: DbTimeouts,
    durability: Durability,
) -> Result<Db, DbError> {
    let db = Db::connect_with(url, timeouts, durability).await?;
    error_groups::fill_missing(&db)
        .await
        .map_err(DbError::ErrorGroups)?;
    pending_moves::finish_all(&db)
        .await
        .map_err(DbError::TierMoves)?;
    Ok(db)
}
