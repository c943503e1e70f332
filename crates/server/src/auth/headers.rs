//! Security headers on every response. Each request gets a fresh nonce here, before
//! anything else sees it: Leptos writes it on the inline scripts of the page it renders
//! ([`provide_request_nonce`]), and the response's Content-Security-Policy names it, so that
//! the page's scripts and its policy come from one value and cannot disagree.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

/// The policy: our own scripts and WebAssembly only, inline scripts only with the nonce,
/// never framed.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The nonce of one request, in its extensions.
#[derive(Clone)]
pub struct RequestNonce(Nonce);

/// Leptos context for rendering a page: the nonce [`security_headers`] made for this request
/// (in place of the one Leptos would make, which no policy would name).
pub fn provide_request_nonce() {
    if let Some(nonce) =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<RequestNonce>().cloned())
    {
        provide_context(nonce.0);
    }
}

/// Whether browsers are told to reach this site over https only: when `public-url` is an
/// https address (over plain http the header would be ignored, and wrong).
#[derive(Clone, Copy, Debug)]
pub struct StrictTransport(pub bool);

/// A year, the usual minimum for HSTS; subdomains are left alone, as they may be other sites.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

pub async fn security_headers(
    State(StrictTransport(https)): State<StrictTransport>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    let policy = HeaderValue::from_str(&content_security_policy(&nonce))
        .expect("a nonce is base64, valid in a header");
    request.extensions_mut().insert(RequestNonce(nonce));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}
