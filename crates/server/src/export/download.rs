//! `generations.csv`: the log as CSV, of any size, without holding the database.
//!
//! A task reads the log a page at a time ([`ExportPages`]: each page one short read on a
//! pooled connection, given back before the page is sent), turns each page into chunks of
//! CSV and hands them to the body through a channel of [`CHUNKS_AHEAD`] chunks, so a slow
//! download slows the reading. Besides, each download takes one of the server's
//! [`ExportLimits::at_once`] slots (one more is answered `503`), and a download whose client
//! takes nothing for [`ExportLimits::send_deadline`] is dropped: its task ends and its slot
//! is free again. A download that does not reach its end (a database failure, a drop) ends
//! its body with an error, so the client sees it fail instead of looking complete.

use super::{attachment, chunk, generation_record, CHUNK_BYTES, GENERATION_COLUMNS};
use app::config::ExportLimits;
use app::error::{AppError, ErrorKind};
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::response::Response;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use model::log::LogFilter;
use std::time::Duration;
use store::log::export::ExportPages;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

/// Chunks of CSV made ahead of a download.
const CHUNKS_AHEAD: usize = 2;

/// What the body is handed.
enum Piece {
    Chunk(Bytes),
    /// Every row was sent.
    End,
}

/// Why a download stopped before its end.
enum Stopped {
    /// Its client took nothing for the send deadline.
    Stalled,
    /// Its client went away.
    Gone,
    Database(sqlx::Error),
    Csv(csv::Error),
}

/// The download of the log's rows that pass `filter` as of `now`, or `503` when as many
/// as may run at once already do.
pub(super) fn download(
    state: AppState,
    now: DateTime<Utc>,
    filter: LogFilter,
) -> Result<Response, AppError> {
    let limits = state.settings.exports;
    let slot = (state.exports.clone().try_acquire_owned()).map_err(|_| busy(limits))?;
    let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(produce(state, now, filter, slot, sender));
    let body = futures_util::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        match receiver.recv().await {
            Some(Piece::Chunk(bytes)) => Some((Ok(bytes), Some(receiver))),
            Some(Piece::End) => None,
            None => {
                let failure = std::io::Error::other("the export stopped before its end");
                Some((Err(failure), None))
            }
        }
    });
    // Fused: the compression layer polls once more after the end.
    Ok(attachment(
        "generations",
        now,
        Body::from_stream(body.fuse()),
    ))
}

fn busy(limits: ExportLimits) -> AppError {
    AppError::new(
        ErrorKind::Unavailable,
        format!(
            "as many downloads of the log as may run at once ({}) are running; \
             try again when one has ended",
            limits.at_once
        ),
    )
}

/// Sends the rows, then the end; the slot is given back before the end is sent, so that
/// a client that has read the whole download may start the next at once.
async fn produce(
    state: AppState,
    now: DateTime<Utc>,
    filter: LogFilter,
    slot: OwnedSemaphorePermit,
    sender: mpsc::Sender<Piece>,
) {
    let deadline = state.settings.exports.send_deadline;
    let sent = send_rows(&state, ExportPages::new(filter, now), &sender, deadline).await;
    drop(slot);
    let ended = match sent {
        Ok(()) => send(&sender, Piece::End, deadline).await,
        stopped => stopped,
    };
    match ended {
        Ok(()) | Err(Stopped::Gone) => {}
        Err(Stopped::Stalled) => {
            tracing::warn!(
                ?deadline,
                "a download of the log was dropped: its client took nothing"
            );
        }
        Err(Stopped::Database(error)) => {
            tracing::error!(%error, "the export stopped: the database failed");
        }
        Err(Stopped::Csv(error)) => {
            tracing::error!(%error, "the export stopped: writing CSV failed")
        }
    }
}

/// The header and every page's rows as chunks of CSV of about [`CHUNK_BYTES`].
async fn send_rows(
    state: &AppState,
    mut pages: ExportPages,
    sender: &mpsc::Sender<Piece>,
    deadline: Duration,
) -> Result<(), Stopped> {
    let mut pending = chunk(&[GENERATION_COLUMNS.map(String::from)]).map_err(Stopped::Csv)?;
    let (db, report) = (&state.db, &state.settings.report);
    while let Some(rows) = pages.next(db, report).await.map_err(Stopped::Database)? {
        for records in rows.chunks(ROWS_PER_PIECE) {
            let records: Vec<_> = records.iter().map(generation_record).collect();
            pending.extend(chunk(&records).map_err(Stopped::Csv)?);
            if pending.len() >= CHUNK_BYTES {
                let bytes = Bytes::from(std::mem::take(&mut pending));
                send(sender, Piece::Chunk(bytes), deadline).await?;
            }
        }
    }
    if !pending.is_empty() {
        send(sender, Piece::Chunk(Bytes::from(pending)), deadline).await?;
    }
    Ok(())
}

/// Rows turned into CSV at a time: a chunk is sent once it reaches [`CHUNK_BYTES`].
const ROWS_PER_PIECE: usize = 100;

/// Hands `piece` to the body, waiting at most `deadline` for room.
async fn send(
    sender: &mpsc::Sender<Piece>,
    piece: Piece,
    deadline: Duration,
) -> Result<(), Stopped> {
    match tokio::time::timeout(deadline, sender.send(piece)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Stopped::Gone),
        Err(_) => Err(Stopped::Stalled),
    }
}
