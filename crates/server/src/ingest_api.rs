//! `POST /api/v1/events`: the platform sends its events over HTTP, with an `ingest`
//! token (checked by the guard before the body is read). One event or an array of them,
//! validated by the same code as `usage-monitor import`, stored in one transaction.

use crate::auth::guard::TokenName;
use app::error::{AppError, ErrorKind};
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use model::event::{parse_event, Event};
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserializer, Serialize};
use serde_json::value::RawValue;
use store::ingest::{store_parsed, Reason};

/// The largest body accepted; a bigger batch is refused with 413, to be split.
pub const MAX_BODY_BYTES: usize = 10 << 20;
/// The most events one request may carry; a larger batch is refused whole with 413, to be
/// split, before any of it is parsed.
pub const MAX_BATCH_EVENTS: usize = 10_000;

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
    #[serde(serialize_with = "shared_text")]
    pub reason: Reason,
}

/// A shared reason as a JSON string (serde writes `Arc<str>` only with its `rc` feature).
fn shared_text<S: serde::Serializer>(text: &Reason, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

pub async fn post_events(
    State(state): State<AppState>,
    Extension(TokenName(token)): Extension<TokenName>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IngestReport>, Response> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(AppError::new(
            ErrorKind::UnsupportedMediaType,
            "send the events as Content-Type: application/json",
        )
        .into_response());
    }
    // On the blocking pool: a batch at the limit keeps a core busy for a while, and the
    // runtime's threads have connections and signals to serve meanwhile.
    let events = tokio::task::spawn_blocking(move || parse_batch(&body))
        .await
        .map_err(|stopped| {
            tracing::error!(error = %stopped, "parsing an ingest batch failed");
            AppError::new(ErrorKind::Failed, "the batch could not be read").into_response()
        })?
        .map_err(BatchError::into_response)?;
    let parsed: Vec<Result<&Event, Reason>> = events
        .iter()
        .map(|e| e.as_ref().map_err(Reason::clone))
        .collect();
    let report = store_parsed(&state.db, &parsed).await.map_err(|error| {
        tracing::error!(%error, "an ingest batch was not stored");
        AppError::new(
            ErrorKind::Unavailable,
            "database unavailable; nothing of this batch was stored, send it again",
        )
        .into_response()
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

/// Why a body is not a batch of events.
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error("the body is not valid UTF-8 (at byte {0})")]
    NotUtf8(usize),
    // serde_json's message ends with the position: "... at line 2 column 8".
    #[error("the body is not valid JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("a batch holds at most {MAX_BATCH_EVENTS} events; send these in smaller batches")]
    TooMany,
}

impl BatchError {
    fn into_response(self) -> Response {
        let kind = match self {
            BatchError::TooMany => ErrorKind::TooLarge,
            BatchError::NotUtf8(_) | BatchError::NotJson(_) => ErrorKind::BadRequest,
        };
        AppError::new(kind, self.to_string()).into_response()
    }
}

/// The body's events, or why each cannot be one.
fn parse_batch(body: &[u8]) -> Result<Vec<Result<Event, Reason>>, BatchError> {
    let items = split_batch(body)?;
    Ok(items
        .iter()
        .map(|item| parse_event(item.get()).map_err(|invalid| Reason::from(invalid.0)))
        .collect())
}

/// The body's events as raw JSON texts: an array of them, or one. Items are counted as the
/// array is read, and reading stops at the first one past [`MAX_BATCH_EVENTS`], so that a
/// body of millions of tiny items costs no more than a batch at the limit.
fn split_batch(body: &[u8]) -> Result<Vec<&RawValue>, BatchError> {
    let text = std::str::from_utf8(body).map_err(|e| BatchError::NotUtf8(e.valid_up_to()))?;
    if !text.trim_start().starts_with('[') {
        return serde_json::from_str::<&RawValue>(text)
            .map(|one| vec![one])
            .map_err(BatchError::NotJson);
    }
    let mut items = Vec::new();
    let mut too_many = false;
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = reader
        .deserialize_seq(Items {
            items: &mut items,
            too_many: &mut too_many,
        })
        .and_then(|()| reader.end());
    match read {
        Ok(()) => Ok(items),
        Err(_) if too_many => Err(BatchError::TooMany),
        Err(error) => Err(BatchError::NotJson(error)),
    }
}

/// Reads an array's items into `items`, at most [`MAX_BATCH_EVENTS`] of them.
struct Items<'s, 'a> {
    items: &'s mut Vec<&'a RawValue>,
    too_many: &'s mut bool,
}

impl<'de> Visitor<'de> for Items<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if self.items.len() == MAX_BATCH_EVENTS {
                *self.too_many = true;
                return Err(A::Error::custom(BatchError::TooMany));
            }
            self.items.push(item);
        }
        Ok(())
    }
}

/// `[item,item,…]`, `bytes` long or a little less: the batches the limits are tested and
/// measured with.
pub fn repeated_array(item: &str, bytes: usize) -> Vec<u8> {
    let items = (bytes - 2) / (item.len() + 1);
    let mut body = Vec::with_capacity(bytes);
    body.push(b'[');
    for n in 0..items {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.as_bytes());
    }
    body.push(b']');
    body
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
        assert!(error.to_string().contains("at line 2 column 7"), "{error}");
        assert!(split_batch(b"\xff")
            .unwrap_err()
            .to_string()
            .contains("UTF-8"));
    }
}
