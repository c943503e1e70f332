//! `POST /api/v1/events`: the platform sends its events over HTTP, with an `ingest`
//! token (checked by the guard before the body is read). One event or an array of them,
//! validated by the same code as `usage-monitor import`, stored in one transaction.

use crate::error::{AppError, ErrorKind};
use crate::model::event::{parse_event, Event};
use crate::server::auth::guard::TokenName;
use crate::state::AppState;
use crate::store::ingest::store_parsed;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::value::RawValue;

/// The largest body accepted; a bigger batch is refused with 413, to be split.
pub const MAX_BODY_BYTES: usize = 10 << 20;

#[derive(Debug, Serialize)]
pub struct IngestReport {
    /// Events that created or changed something.
    pub accepted: u64,
    /// Valid events that changed nothing: repeats of what is stored.
    pub duplicates: u64,
    pub rejected: Vec<RejectedEvent>,
}

#[derive(Debug, Serialize)]
pub struct RejectedEvent {
    /// Position in the array (0 for a single event).
    pub index: usize,
    pub reason: String,
}

pub async fn post_events(
    State(state): State<AppState>,
    Extension(TokenName(token)): Extension<TokenName>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IngestReport>, AppError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(AppError::new(
            ErrorKind::UnsupportedMediaType,
            "send the events as Content-Type: application/json",
        ));
    }
    let items =
        split_batch(&body).map_err(|message| AppError::new(ErrorKind::BadRequest, message))?;
    let events: Vec<Result<Event, String>> = items
        .iter()
        .map(|item| parse_event(item.get()).map_err(|invalid| invalid.0))
        .collect();
    let parsed: Vec<Result<&Event, String>> = events
        .iter()
        .map(|e| e.as_ref().map_err(Clone::clone))
        .collect();
    let report = store_parsed(&state.db, &parsed).await.map_err(|error| {
        tracing::error!(%error, "an ingest batch was not stored");
        AppError::new(
            ErrorKind::Unavailable,
            "database unavailable; nothing of this batch was stored, send it again",
        )
    })?;
    tracing::info!(
        token = %token,
        accepted = report.stored,
        duplicates = report.unchanged,
        rejected = report.rejected.len(),
        "events ingested"
    );
    Ok(Json(IngestReport {
        accepted: report.stored,
        duplicates: report.unchanged,
        rejected: report
            .rejected
            .into_iter()
            .map(|r| RejectedEvent {
                index: r.line as usize - 1,
                reason: r.reason,
            })
            .collect(),
    }))
}

/// The body's events as raw JSON texts: an array of them, or one.
fn split_batch(body: &[u8]) -> Result<Vec<&RawValue>, String> {
    let text = std::str::from_utf8(body)
        .map_err(|e| format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to()))?;
    // serde_json's message ends with the position: "... at line 2 column 8".
    let bad_json = |e: serde_json::Error| format!("the body is not valid JSON: {e}");
    if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<&RawValue>>(text).map_err(bad_json)
    } else {
        serde_json::from_str::<&RawValue>(text)
            .map(|one| vec![one])
            .map_err(bad_json)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod parsing_tests {
    use super::split_batch;

    #[test]
    fn a_body_is_one_event_or_an_array_and_bad_json_says_where() {
        assert_eq!(split_batch(br#"{"kind":"user"}"#).unwrap().len(), 1);
        assert_eq!(
            split_batch(br#" [{"kind":"user"}, 5, "x"] "#)
                .unwrap()
                .len(),
            3
        );
        assert_eq!(split_batch(b"[]").unwrap().len(), 0);
        let error = split_batch(b"[{\"kind\":\n \"user\"").unwrap_err();
        assert!(error.contains("at line 2 column 7"), "{error}");
        assert!(split_batch(b"\xff").unwrap_err().contains("UTF-8"));
    }
}
