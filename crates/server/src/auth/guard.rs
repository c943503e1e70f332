//! The one door every request passes (an axum middleware in front of the whole router).
//!
//! It denies by default: apart from the few public paths below, a request needs an admin
//! session (pages, server functions, JSON routes) or an API token of the right scope
//! (the ingest API; a `read` token may also read the figures). So a route or server
//! function added later is protected without anyone remembering to protect it.
//! Before that, requests that can change state must come from this site.

use app::error::{AppError, ErrorKind};
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use store::auth::session;
use store::auth::token::{self, Scope};

/// What a path needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// The login and first-admin forms, the built WebAssembly, styles and icon, and the
    /// health checks (which reveal only "up" and "database reachable").
    Public,
    /// `POST /api/v1/events`: an `ingest` token.
    Ingest,
    /// `GET /api/admin/credit-stats`, the CSV exports and `/metrics`: a session or a
    /// `read` token.
    ReadApi,
    /// Other JSON routes and every server function: a session, else 401.
    Api,
    /// Pages, and anything unknown: a session, else a redirect to the login form.
    Page,
}

pub const INGEST_PATH: &str = "/api/v1/events";
pub const STATS_PATH: &str = "/api/admin/credit-stats";
/// Liveness: the process answers.
pub const HEALTH_PATH: &str = "/healthz";
/// Readiness: the database answers.
pub const READY_PATH: &str = "/readyz";

pub fn door(path: &str) -> Door {
    match path {
        "/login" | "/setup" | "/favicon.svg" | HEALTH_PATH | READY_PATH => Door::Public,
        INGEST_PATH => Door::Ingest,
        STATS_PATH | crate::metrics::METRICS_PATH => Door::ReadApi,
        _ if path.starts_with(crate::export::EXPORT_PREFIX) => Door::ReadApi,
        _ if path.starts_with("/pkg/") => Door::Public,
        _ if path.starts_with("/api/") => Door::Api,
        _ => Door::Page,
    }
}

/// The API token a request was let in with, for handlers and logs.
#[derive(Clone, Debug)]
pub struct TokenName(pub String);

pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !is_safe(request.method()) {
        if let Err(refusal) = same_site(request.headers(), &state) {
            tracing::warn!(target: "audit", action = "cross_site_refused", path = %request.uri().path(), reason = refusal);
            return AppError::new(
                ErrorKind::Forbidden,
                format!("cross-site request refused: {refusal}"),
            )
            .into_response();
        }
    }
    let path = request.uri().path().to_owned();
    let door = door(&path);
    if door == Door::Public && path != "/login" {
        return next.run(request).await;
    }

    let mut admin = None;
    if let Some(id) = state.settings.access.session.session_id(request.headers()) {
        match session::find(
            &state.db,
            id,
            chrono::Utc::now(),
            &state.settings.access.session,
        )
        .await
        {
            Ok(found) => admin = found,
            Err(error) => return AppError::from(error).into_response(),
        }
    }
    if let Some(admin) = &admin {
        request.extensions_mut().insert(admin.clone());
    }

    match door {
        // Signed in already: the login form would only be in the way.
        Door::Public if admin.is_some() && request.method() == Method::GET => {
            let next = query_value(request.uri().query(), "next");
            return Redirect::to(&model::access::safe_next(next.as_deref())).into_response();
        }
        Door::Page if admin.is_none() => {
            let target = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let next = is_safe(request.method()).then_some(target);
            let login = model::access::path_with_query("/login", "next", next);
            return Redirect::to(&login).into_response();
        }
        Door::Api if admin.is_none() => {
            return AppError::new(ErrorKind::SignInFirst, model::access::session_needed())
                .into_response();
        }
        Door::ReadApi if admin.is_none() => {
            match token_for(&state, request.headers(), Scope::Read).await {
                Ok(name) => {
                    request.extensions_mut().insert(name);
                }
                Err(refusal) => return refusal,
            }
        }
        Door::Ingest => match token_for(&state, request.headers(), Scope::Ingest).await {
            Ok(name) => {
                request.extensions_mut().insert(name);
            }
            Err(refusal) => return refusal,
        },
        _ => {}
    }
    next.run(request).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Browsers say where a request comes from (`Sec-Fetch-Site`, else `Origin`); one from
/// another site is refused. Clients that are not browsers send neither and cannot carry
/// an admin's cookie across sites, so they pass.
fn same_site(headers: &HeaderMap, state: &AppState) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err("Sec-Fetch-Site is not same-origin"),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| "unreadable Origin")?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    let matches_host = origin_host.is_some() && origin_host == host;
    let matches_public = state
        .settings
        .access
        .public_origin()
        .is_some_and(|public| public.eq_ignore_ascii_case(origin));
    if matches_host || matches_public {
        Ok(())
    } else {
        Err("Origin is another site")
    }
}

async fn token_for(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<TokenName, Response> {
    let refusal = |message: String| {
        let mut response = AppError::new(ErrorKind::SignInFirst, message).into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        response
    };
    let Some(presented) = token::bearer(headers) else {
        return Err(refusal(format!(
            "send an API token with the {} scope as Authorization: Bearer <token>",
            scope.as_str()
        )));
    };
    match token::authenticate(&state.db, presented, scope).await {
        Ok(Some(name)) => Ok(TokenName(name)),
        Ok(None) => Err(refusal(format!(
            "the API token is unknown, revoked, or lacks the {} scope",
            scope.as_str()
        ))),
        Err(error) => Err(AppError::from(error).into_response()),
    }
}

fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_but_a_few_public_ones_needs_a_session_or_a_token() {
        assert_eq!(door("/login"), Door::Public);
        assert_eq!(door("/pkg/usage-monitor.wasm"), Door::Public);
        assert_eq!(door("/healthz"), Door::Public);
        assert_eq!(door("/readyz"), Door::Public);
        assert_eq!(door("/readyz/"), Door::Page);
        assert_eq!(door("/api/v1/events"), Door::Ingest);
        assert_eq!(door("/api/admin/credit-stats"), Door::ReadApi);
        assert_eq!(door("/metrics"), Door::ReadApi);
        assert_eq!(door("/metrics/"), Door::Page);
        assert_eq!(door("/api/get_dashboard_stats123"), Door::Api);
        assert_eq!(door("/api/admin/anything-new"), Door::Api);
        assert_eq!(door("/admin/credits"), Door::Page);
        assert_eq!(door("/admin/new-page"), Door::Page);
        assert_eq!(door("/"), Door::Page);
        assert_eq!(door("/login/"), Door::Page);
    }
}
