//! The log's export, read a page at a time by the log's own key (newest first, ties by id):
//! each page is one short read on a connection of the pool, which goes back to the pool
//! before the page is handed on. Nothing is held between pages, so a download that is
//! slow or stalled keeps no connection, no transaction and (on SQLite) no snapshot that
//! would stop the WAL from being checkpointed.
//!
//! Each page sees the database as of its own read: a row written meanwhile above the
//! export's place (newer) is not in it, and no row is sent twice or out of order.

use super::{cursor_after, first_rows};
use crate::db::Db;
use crate::report::ReportSettings;
use chrono::{DateTime, Utc};
use model::log::{LogFilter, LogRow};

/// Rows an export reads at a time: one short statement (milliseconds) per page, and at
/// most this many rows of an export in memory.
pub const EXPORT_PAGE_ROWS: usize = 1_000;

/// Where an export of the log is: the filter, its place in the log's order, and the time
/// its ranges are taken at.
pub struct ExportPages {
    filter: LogFilter,
    now: DateTime<Utc>,
    page_rows: usize,
    ended: bool,
}

impl ExportPages {
    /// The rows that pass `filter` as of `now` (from its `before` on, if it has one), in
    /// pages of [`EXPORT_PAGE_ROWS`].
    pub fn new(filter: LogFilter, now: DateTime<Utc>) -> ExportPages {
        ExportPages::with_page_rows(filter, now, EXPORT_PAGE_ROWS)
    }

    /// The same in pages of `page_rows` (at least one).
    pub fn with_page_rows(filter: LogFilter, now: DateTime<Utc>, page_rows: usize) -> Self {
        ExportPages {
            filter,
            now,
            page_rows: page_rows.max(1),
            ended: false,
        }
    }

    /// The next page, newest first; `None` once every row has been read.
    pub async fn next(
        &mut self,
        db: &Db,
        settings: &ReportSettings,
    ) -> Result<Option<Vec<LogRow>>, sqlx::Error> {
        if self.ended {
            return Ok(None);
        }
        let rows = first_rows(db, settings, self.now, &self.filter, self.page_rows).await?;
        // A short page is the last: no read just to learn that nothing follows.
        self.ended = rows.len() < self.page_rows;
        match rows.last() {
            Some(last) => self.filter.before = Some(cursor_after(last)),
            None => return Ok(None),
        }
        Ok(Some(rows))
    }
}
