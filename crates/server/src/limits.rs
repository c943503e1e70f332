//! Every request body has a bound and a deadline: it is read whole here, before any
//! handler or server function sees it, so that no route collects a body of any size or
//! waits for one forever. Each route's own rules (the ingest's batch, the forms' fields)
//! come after.

use crate::auth::forms::MAX_FORM_BYTES;
use crate::auth::guard::INGEST_PATH;
use crate::ingest_api::MAX_BODY_BYTES as INGEST_MAX_BODY_BYTES;
use app::error::{AppError, ErrorKind};
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The most a server function's arguments may weigh: a filter or a budgets form is well
/// under a kilobyte.
pub const SERVER_FN_MAX_BODY_BYTES: usize = 64 << 10;

/// How long a client may take to send a whole body once its request has begun: a 10 MiB
/// batch takes a second on a slow uplink.
pub const BODY_DEADLINE: Duration = Duration::from_secs(20);

/// The largest body `path` takes.
pub fn max_body_bytes(path: &str) -> usize {
    match path {
        INGEST_PATH => INGEST_MAX_BODY_BYTES,
        "/login" | "/logout" | "/setup" => MAX_FORM_BYTES,
        _ => SERVER_FN_MAX_BODY_BYTES,
    }
}

/// Reads the body whole within its bound and deadline, or answers 413 or 408.
pub async fn bounded_body(request: Request, next: Next) -> Response {
    let limit = max_body_bytes(request.uri().path());
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(BODY_DEADLINE, axum::body::to_bytes(body, limit)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) if is_over_limit(&error) => return too_large(limit),
        Ok(Err(_)) => {
            let reason = "the body could not be read whole";
            return AppError::new(ErrorKind::BadRequest, reason).into_response();
        }
        Err(_) => {
            return AppError::new(
                ErrorKind::TooSlow,
                format!(
                    "the body did not arrive within {} s",
                    BODY_DEADLINE.as_secs()
                ),
            )
            .into_response()
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn is_over_limit(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

fn too_large(limit: usize) -> Response {
    AppError::new(
        ErrorKind::TooLarge,
        format!("the body is over {limit} bytes, this route's limit"),
    )
    .into_response()
}
