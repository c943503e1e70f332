//! What the server tells browsers about compression and caching.
//!
//! The built site (`/pkg`) comes precompressed (brotli and gzip, from `cargo leptos build
//! --release --precompress`; the router serves the `.br`/`.gz` beside each file, answering
//! conditional requests), the rest is compressed as it goes out. Nothing is cached
//! silently: a built file whose name carries its content's hash (cargo-leptos `hash-files`)
//! never changes, so browsers keep it for a year; other static files are revalidated on each
//! use (`no-cache` with their `Last-Modified`, a 304 when unchanged); figures are never
//! stored (`no-store`).

use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{HeaderValue, CACHE_CONTROL, LAST_MODIFIED};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Brotli or gzip for dynamic responses, at a level that costs well under a millisecond for
/// the page; responses already encoded (the precompressed files) pass untouched.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .quality(CompressionLevel::Precise(4))
}

/// A year: what browsers may keep a file whose name changes with its content.
const HASHED_FILE: &str = "public, max-age=31536000, immutable";

/// Adds a `Cache-Control` to responses that have none.
pub async fn cache_control(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let options = &state.leptos_options;
    let hashed = options.hash_files
        && request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|path| path.strip_prefix(&*options.site_pkg_dir))
            .is_some_and(|rest| rest.starts_with('/'));
    let mut response = next.run(request).await;
    let policy = policy(&response, hashed);
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(policy));
    response
}

/// The policy for a response; `hashed`: it answers for a built file with hashed names.
fn policy(response: &Response, hashed: bool) -> &'static str {
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if hashed && found {
        HASHED_FILE
    } else if response.headers().contains_key(LAST_MODIFIED) {
        "no-cache"
    } else {
        "no-store"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(status: StatusCode) -> Response {
        let mut file = Response::new("wasm".into());
        *file.status_mut() = status;
        file.headers_mut().insert(
            LAST_MODIFIED,
            HeaderValue::from_static("Fri, 27 Nov 2026 22:00:00 GMT"),
        );
        file
    }

    #[test]
    fn hashed_files_are_kept_a_year_others_revalidated_figures_never_stored() {
        assert_eq!(policy(&file(StatusCode::OK), true), HASHED_FILE);
        assert_eq!(policy(&file(StatusCode::NOT_MODIFIED), true), HASHED_FILE);
        // A name that is not (or no longer) there must not be remembered as missing.
        assert_eq!(policy(&Response::new("".into()), false), "no-store");
        let mut missing = Response::new("".into());
        *missing.status_mut() = StatusCode::NOT_FOUND;
        assert_eq!(policy(&missing, true), "no-store");
        assert_eq!(policy(&file(StatusCode::OK), false), "no-cache");
        assert_eq!(policy(&Response::new("{}".into()), false), "no-store");
    }
}
