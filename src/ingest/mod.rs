//! Loading events: parsing and checking them (`event`), applying them (`store`), and the
//! JSON Lines import that `usage-monitor import` and `usage-monitor demo` use.

pub mod api;
pub mod event;
pub mod store;

use crate::db::Db;
use event::{parse_event, Event};
use store::{apply, Applied, ApplyError};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// How many lines share one transaction: large enough to be fast, small enough that an
/// interrupted import keeps most of its work.
const LINES_PER_TRANSACTION: usize = 1_000;
/// A longer line is rejected without being parsed.
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Events that created or changed something.
    pub stored: u64,
    /// Valid events that changed nothing (repeats, or a stale `pending`).
    pub unchanged: u64,
    pub rejected: Vec<Rejection>,
    /// False when `--strict` threw everything away because a line was rejected.
    pub committed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number in the input.
    pub line: u64,
    pub reason: String,
}

impl Report {
    fn count(&mut self, applied: Applied) {
        match applied {
            Applied::Stored => self.stored += 1,
            Applied::Unchanged => self.unchanged += 1,
        }
    }

    fn absorb(&mut self, other: Report) {
        self.stored += other.stored;
        self.unchanged += other.unchanged;
        self.rejected.extend(other.rejected);
    }
}

/// Imports JSON Lines. Every valid line is stored and every bad one reported by number;
/// with `strict`, nothing is stored if any line is bad.
pub async fn import_lines<R: AsyncBufRead + Unpin>(
    db: &Db,
    mut input: R,
    strict: bool,
) -> Result<Report, ImportError> {
    let mut report = Report {
        committed: true,
        ..Report::default()
    };
    let mut pending = Report::default();
    let mut tx = db.pool.begin().await?;
    let mut lines_in_tx = 0;
    let mut buffer = Vec::new();
    let mut line_number = 0u64;
    loop {
        buffer.clear();
        if input
            .read_until(b'\n', &mut buffer)
            .await
            .map_err(ImportError::Read)?
            == 0
        {
            break;
        }
        line_number += 1;
        let outcome = match parse_line(&buffer) {
            None => continue,
            Some(Err(reason)) => Err(reason),
            Some(Ok(event)) => match apply(&mut tx, &event).await {
                Ok(applied) => Ok(applied),
                Err(ApplyError::Rejected(reason)) => Err(reason),
                Err(ApplyError::Database(error)) => {
                    return Err(ImportError::Database {
                        line: line_number,
                        stored_before: report.stored,
                        error,
                    })
                }
            },
        };
        match outcome {
            Ok(applied) => pending.count(applied),
            Err(reason) => pending.rejected.push(Rejection {
                line: line_number,
                reason,
            }),
        }
        lines_in_tx += 1;
        if !strict && lines_in_tx == LINES_PER_TRANSACTION {
            tx.commit().await?;
            report.absorb(std::mem::take(&mut pending));
            tx = db.pool.begin().await?;
            lines_in_tx = 0;
        }
    }
    if strict && !pending.rejected.is_empty() {
        tx.rollback().await?;
        report.rejected = pending.rejected;
        report.committed = false;
    } else {
        tx.commit().await?;
        report.absorb(pending);
    }
    Ok(report)
}

/// `None` for a blank line.
fn parse_line(bytes: &[u8]) -> Option<Result<Event, String>> {
    if bytes.len() > MAX_LINE_BYTES {
        return Some(Err(format!("line longer than {MAX_LINE_BYTES} bytes")));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(Err("not valid UTF-8".into()));
    };
    let text = text.trim();
    (!text.is_empty()).then(|| parse_event(text).map_err(|invalid| invalid.0))
}

/// Stores already-checked events in one transaction (the demo data uses it).
pub async fn store_events(db: &Db, events: &[Event]) -> Result<Report, ImportError> {
    let mut report = Report {
        committed: true,
        ..Report::default()
    };
    let mut tx = db.pool.begin().await?;
    for (index, event) in events.iter().enumerate() {
        match apply(&mut tx, event).await {
            Ok(applied) => report.count(applied),
            Err(ApplyError::Rejected(reason)) => report.rejected.push(Rejection {
                line: index as u64 + 1,
                reason,
            }),
            Err(ApplyError::Database(error)) => {
                return Err(ImportError::Database {
                    line: index as u64 + 1,
                    stored_before: 0,
                    error,
                })
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the input: {0}")]
    Read(std::io::Error),
    #[error("database error at line {line} ({stored_before} events were stored before it; importing again is safe): {error}")]
    Database {
        line: u64,
        stored_before: u64,
        error: sqlx::Error,
    },
    #[error("database error: {0}")]
    Transaction(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests;
