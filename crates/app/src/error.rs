//! The one error type clients are answered with: the JSON API, the guard in front of it,
//! and every server function. Its kind is what a client acts on (sign in again, keep the
//! figures and retry, fix the request); its text is for the admin who reads it.
//!
//! On the wire it is `{"error": "…", "kind": "…"}` with the kind's status code, so that the
//! page decodes the guard's refusals and the server functions' failures alike.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, as a client tells failures apart. On the wire, its name
/// ([`ErrorKind::name`]); a name a client does not know reads as [`ErrorKind::Failed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No admin session, or no valid token (401): the page offers to sign in again.
    SignInFirst,
    /// Refused whoever asks, such as a cross-site request (403).
    Forbidden,
    /// The request cannot be answered as asked: a bad range, filter or argument (400).
    BadRequest,
    /// Nothing by that name (404).
    NotFound,
    /// A body in a format the endpoint does not take (415).
    UnsupportedMediaType,
    /// A body or batch over the endpoint's limit (413): split it.
    TooLarge,
    /// A body that stopped arriving before its deadline (408).
    TooSlow,
    /// The database did not answer; the same request may succeed shortly (503).
    Unavailable,
    /// The server failed (500).
    Failed,
    /// The browser got no answer from the server at all.
    Unreachable,
}

impl ErrorKind {
    const ALL: [ErrorKind; 10] = [
        ErrorKind::SignInFirst,
        ErrorKind::Forbidden,
        ErrorKind::BadRequest,
        ErrorKind::NotFound,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::TooLarge,
        ErrorKind::TooSlow,
        ErrorKind::Unavailable,
        ErrorKind::Failed,
        ErrorKind::Unreachable,
    ];

    /// The kind's name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::SignInFirst => "signInFirst",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::BadRequest => "badRequest",
            ErrorKind::NotFound => "notFound",
            ErrorKind::UnsupportedMediaType => "unsupportedMediaType",
            ErrorKind::TooLarge => "tooLarge",
            ErrorKind::TooSlow => "tooSlow",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Failed => "failed",
            ErrorKind::Unreachable => "unreachable",
        }
    }

    /// The HTTP status the kind is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::SignInFirst => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::BadRequest => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::TooLarge => 413,
            ErrorKind::TooSlow => 408,
            ErrorKind::Unavailable | ErrorKind::Unreachable => 503,
            ErrorKind::Failed => 500,
        }
    }
}

// Written by hand rather than derived: the browser decodes every error, and a derived
// visitor for the kinds would weigh on the WebAssembly for no gain.
impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let kind = ErrorKind::ALL.into_iter().find(|kind| kind.name() == name);
        Ok(kind.unwrap_or(ErrorKind::Failed))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub error: String,
    pub kind: ErrorKind,
}

/// What a client is told when the database fails: it may try again, nothing more.
pub const DATABASE_UNAVAILABLE: &str = "database unavailable; try again shortly";

impl AppError {
    pub fn new(kind: ErrorKind, error: impl Into<String>) -> AppError {
        AppError {
            error: error.into(),
            kind,
        }
    }

    pub fn bad_request(reason: impl std::fmt::Display) -> AppError {
        AppError::new(ErrorKind::BadRequest, reason.to_string())
    }

    pub fn sign_in_first() -> AppError {
        AppError::new(ErrorKind::SignInFirst, model::access::session_needed())
    }

    pub fn is_sign_in_first(&self) -> bool {
        self.kind == ErrorKind::SignInFirst
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Failures of the server function machinery: arguments the server cannot read are
    /// the client's mistake (400); no answer at all is the network's; the rest are ours.
    fn from_server_fn_error(value: ServerFnErrorErr) -> AppError {
        // On the server, what cannot be deserialized is the request's arguments; in the
        // browser it would be the server's answer.
        let reading_arguments = cfg!(feature = "ssr");
        let kind = match &value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => ErrorKind::BadRequest,
            ServerFnErrorErr::Deserialization(_) if reading_arguments => ErrorKind::BadRequest,
            ServerFnErrorErr::Request(_) => ErrorKind::Unreachable,
            _ => ErrorKind::Failed,
        };
        AppError::new(kind, value.to_string()).answered()
    }
}

#[cfg(feature = "ssr")]
mod on_the_server {
    use super::*;
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::Json;

    /// How long a client told "unavailable" should wait before it tries again, in seconds.
    const RETRY_UNAVAILABLE_AFTER: &str = "2";

    impl ErrorKind {
        pub fn status_code(self) -> StatusCode {
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }

    impl AppError {
        /// The database failed: the error is logged; the client learns only that it may
        /// try again.
        pub fn unavailable(error: &dyn std::fmt::Display) -> AppError {
            tracing::error!(%error, "database unavailable");
            AppError::new(ErrorKind::Unavailable, DATABASE_UNAVAILABLE)
        }

        /// Inside a server function, gives the response this error's status (server
        /// functions answer 500 to every error otherwise).
        pub fn answered(self) -> AppError {
            if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(self.kind.status_code());
                if self.kind == ErrorKind::Unavailable {
                    response.insert_header(
                        header::RETRY_AFTER,
                        HeaderValue::from_static(RETRY_UNAVAILABLE_AFTER),
                    );
                }
            }
            self
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> AppError {
            AppError::unavailable(&error)
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status = self.kind.status_code();
            let unavailable = self.kind == ErrorKind::Unavailable;
            let mut response = (status, Json(self)).into_response();
            // A 503 is temporary by definition: say when to come back (RFC 9110, 15.6.4).
            if unavailable {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_UNAVAILABLE_AFTER),
                );
            }
            response
        }
    }
}

#[cfg(not(feature = "ssr"))]
impl AppError {
    /// In the browser there is no response to give a status to.
    pub fn answered(self) -> AppError {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_is_the_json_apis() {
        let error = AppError::bad_request("from must be before to");
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "from must be before to", "kind": "badRequest"})
        );
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(back, error);
        for kind in ErrorKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(serde_json::from_value::<ErrorKind>(json).unwrap(), kind);
        }
        let unknown = serde_json::json!({"error": "new", "kind": "somethingNew"});
        let read: AppError = serde_json::from_value(unknown).unwrap();
        assert_eq!(read.kind, ErrorKind::Failed);
    }

    #[test]
    fn unreadable_arguments_are_the_clients_mistake() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::Args("x".into()));
        assert_eq!(error.kind, ErrorKind::BadRequest);
        let error = AppError::from_server_fn_error(ServerFnErrorErr::Request("down".into()));
        assert_eq!(error.kind, ErrorKind::Unreachable);
        let error = AppError::from_server_fn_error(ServerFnErrorErr::ServerError("x".into()));
        assert_eq!(error.kind, ErrorKind::Failed);
    }
}
