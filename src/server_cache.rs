//! What the server tells browsers about compression and caching.
//!
//! Static files come precompressed (brotli and gzip, from `cargo leptos build --release
//! --precompress`; leptos_axum serves the `.br`/`.gz` beside each file), the rest is
//! compressed as it goes out. Nothing is cached silently: static files are revalidated on
//! each use (`no-cache` with their `Last-Modified`, a 304 when unchanged) because their
//! names carry no hash; figures are never stored (`no-store`).

use axum::http::header::{HeaderValue, CACHE_CONTROL, LAST_MODIFIED};
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

/// Adds a `Cache-Control` to responses that have none.
pub async fn cache_control(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(CACHE_CONTROL) {
        let policy = if headers.contains_key(LAST_MODIFIED) {
            "no-cache"
        } else {
            "no-store"
        };
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(response: &Response) -> &str {
        response.headers()[CACHE_CONTROL].to_str().unwrap()
    }

    #[tokio::test]
    async fn files_are_revalidated_figures_never_stored_and_own_policies_kept() {
        let figures = cache_control(Response::new("{}".into())).await;
        assert_eq!(policy(&figures), "no-store");

        let mut file = Response::new("wasm".into());
        file.headers_mut().insert(
            LAST_MODIFIED,
            HeaderValue::from_static("Fri, 27 Nov 2026 22:00:00 GMT"),
        );
        assert_eq!(policy(&cache_control(file).await), "no-cache");

        let mut own = Response::new("".into());
        own.headers_mut().insert(
            CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=5"),
        );
        assert_eq!(policy(&cache_control(own).await), "private, max-age=5");
    }
}
