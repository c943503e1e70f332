//! The errors answered to clients: the JSON API's [`ApiError`], and the server functions'
//! helpers that set the response's status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// What a client is told when the database fails: it may try again, nothing more.
const DATABASE_UNAVAILABLE: &str = "database unavailable; try again shortly";

/// For server functions: the database failed. Logged, and answered `503` with the same
/// words as the JSON API, so that the page knows to keep its figures and retry.
pub fn database_unavailable(error: &dyn std::fmt::Display) -> leptos::prelude::ServerFnError {
    tracing::error!(%error, "database unavailable");
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(StatusCode::SERVICE_UNAVAILABLE);
    }
    leptos::prelude::ServerFnError::ServerError(DATABASE_UNAVAILABLE.into())
}

/// For server functions: the request asked for something that cannot be (a bad range or
/// filter). Answered `400` with the reason, for the admin who asked.
pub fn bad_request(reason: &dyn std::fmt::Display) -> leptos::prelude::ServerFnError {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(StatusCode::BAD_REQUEST);
    }
    leptos::prelude::ServerFnError::Args(reason.to_string())
}

/// A failure of the JSON API (and of the guard in front of it): a status and
/// `{"error": "..."}`.
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError(status, message.into())
    }
}

impl ApiError {
    /// The database failed: the error is logged; the client learns only that it may try again.
    pub fn unavailable(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "database unavailable");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        ApiError::unavailable(&error)
    }
}

/// How long a client told "unavailable" should wait before it tries again, in seconds.
const RETRY_UNAVAILABLE_AFTER: &str = "2";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response();
        // A 503 is temporary by definition: say when to come back (RFC 9110, 15.6.4).
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_UNAVAILABLE_AFTER),
            );
        }
        response
    }
}
