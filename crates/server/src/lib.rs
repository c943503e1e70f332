//! The HTTP server: the Leptos app, its server functions, the JSON API and static files,
//! all behind the access guard and the security headers.

// Tests read best as one story each, however long.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod alert_watcher;
pub mod auth;
pub mod cli;
pub mod compression;
pub mod connection;
pub mod export;
pub mod ingest_api;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod progress;

use app::config::Settings;
use app::delivery::sender::RetrySchedule;
use app::error::{AppError, ErrorKind};
use app::state::AppState;
use app::{shell, App};
use auth::guard::{guard, HEALTH_PATH, INGEST_PATH, READY_PATH, STATS_PATH};
use auth::headers::{provide_request_nonce, StrictTransport};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use leptos_axum::{generate_route_list, LeptosRoutes};
use model::dashboard::{DashboardStats, DateRange, RangeQuery};
use model::paths::{ADMIN_AREA, DASHBOARD_PATH};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use store::db::Db;
use tower_http::services::ServeDir;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/", get(|| async { Redirect::temporary(DASHBOARD_PATH) }))
        .route(
            ADMIN_AREA,
            get(|| async { Redirect::temporary(DASHBOARD_PATH) }),
        )
        .route(HEALTH_PATH, get(|| async { "ok" }))
        .route(READY_PATH, get(ready))
        .route(STATS_PATH, get(credit_stats))
        .route(metrics::METRICS_PATH, get(metrics::metrics))
        .route(
            &format!("{}{{file}}", crate::export::EXPORT_PREFIX),
            get(crate::export::export),
        )
        .route(
            INGEST_PATH,
            post(crate::ingest_api::post_events)
                .layer(DefaultBodyLimit::max(crate::ingest_api::MAX_BODY_BYTES)),
        )
        .merge(crate::auth::forms::routes())
        .route_service(
            &leptos_axum::site_pkg_dir_service_route_path(&options),
            leptos_axum::site_pkg_dir_service(&options),
        )
        .leptos_routes_with_context(&state, routes, provide_request_nonce, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback_service(
            ServeDir::new(&*state.leptos_options.site_root)
                .append_index_html_on_directories(false)
                .call_fallback_on_method_not_allowed(true)
                .fallback(not_found_page(&state).into_service()),
        )
        .layer(middleware::from_fn(limits::bounded_body))
        .layer(middleware::from_fn(impossible_paths))
        .layer(crate::compression::compression())
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        // Outside the guard, so that its refusals and redirects get the headers too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::compression::cache_control,
        ))
        .layer(middleware::from_fn_with_state(
            StrictTransport(state.settings.access.is_https()),
            crate::auth::headers::security_headers,
        ))
        .with_state(state)
}

/// The not-found page, for requests that are neither a route nor a file of the site's root.
///
/// Not leptos_axum's `file_and_error_handler`: it answers a file inside whatever reactive
/// owner its thread ran last and applies that owner's response options, so that a file
/// fetched while a page rendered could carry away the page's headers and status.
fn not_found_page(
    state: &AppState,
) -> impl Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static
{
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        {
            let state = state.clone();
            move || {
                leptos::prelude::provide_context(state.clone());
                provide_request_nonce();
            }
        },
        move || shell(options.clone()),
    );
    move |request| {
        let response = render(request);
        Box::pin(async move {
            let mut response = response.await;
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::NOT_FOUND;
            }
            response
        })
    }
}

/// `GET /api/admin/credit-stats[?range=…|?from=…&to=…]`: the same [`DashboardStats`] as the
/// page, as JSON.
async fn credit_stats(
    State(state): State<AppState>,
    range: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Json<DashboardStats>, AppError> {
    let Query(range) =
        range.map_err(|rejection| AppError::new(ErrorKind::BadRequest, rejection.body_text()))?;
    let range = DateRange::from_query(&range)
        .map_err(|error| AppError::new(ErrorKind::BadRequest, error.to_string()))?;
    let stats = state.figures(range.as_ref()).await;
    Ok(Json(stats.map_err(|error| AppError::unavailable(&error))?))
}

/// How long `/readyz` waits for the database's answer: probes come often and want one soon.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /readyz`: 200 when the database answered within the last second, else 503; nothing
/// more, to anyone.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let db = &state.db;
    match state
        .ready
        .get(|| async { Ok(database_answers(db).await) })
        .await
    {
        Ok(true) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}

/// Asks the database for `SELECT 1`, at most [`READY_TIMEOUT`].
async fn database_answers(db: &Db) -> bool {
    let probe = sqlx::query("SELECT 1").execute(&db.pool);
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            false
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within {READY_TIMEOUT:?}");
            false
        }
    }
}

/// No file or route has a path segment longer than a file name can be (255 bytes); the
/// file services would answer such a request with 500 ("file name too long").
async fn impossible_paths(request: axum::extract::Request, next: middleware::Next) -> Response {
    if request
        .uri()
        .path()
        .split('/')
        .any(|segment| segment.len() > 255)
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// Serves until Ctrl-C or SIGTERM; then stops accepting connections and finishes the
/// requests in flight, for at most the shutdown grace period.
pub async fn serve(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let leptos_options = app::config::leptos_options()?;
    let db = store::open::open(&settings.database_url, settings.database_timeouts).await?;
    let addr = leptos_options.site_addr;
    let grace = settings.shutdown_grace;
    let state = AppState::new(leptos_options, db.clone(), settings);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // Port 0 asks for any free port: the lines below name the one given.
    let addr = listener.local_addr()?;
    let listener = connection::Listener::new(listener, state.settings.connection_idle);
    tracing::info!(
        "serving the dashboard at http://{addr}{DASHBOARD_PATH} (time zone {}, database {})",
        state.settings.report.time_zone,
        redact(&state.settings.database_url)
    );
    println!("usage-monitor: dashboard at http://{addr}{DASHBOARD_PATH}");
    if store::auth::accounts::admin_count(&state.db).await? == 0 {
        // As Jupyter does: a one-time link, printed only here, creates the first admin.
        let token = state.setup.open();
        let base = state
            .settings
            .access
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        println!(
            "usage-monitor: no admin yet. Create the first one at {}/setup?token={token}",
            base.trim_end_matches('/')
        );
    }
    let (signalled, mut stopping) = tokio::sync::watch::channel(false);
    let watcher = if state.settings.alerts.webhooks.is_empty() {
        None
    } else {
        let sender = app::delivery::sender::Sender::new(RetrySchedule::STANDARD)
            .map_err(|e| format!("cannot make the HTTP client for alerts: {e}"))?;
        tracing::info!(
            webhooks = ?state.settings.alerts.redacted_webhooks(),
            every = ?state.settings.alerts.check_every,
            "alerts: watching the health"
        );
        Some(tokio::spawn(crate::alert_watcher::watch(
            state.clone(),
            sender,
            stopping.clone(),
        )))
    };
    let serving = axum::serve(
        listener.serving(),
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections; finishing the requests in flight");
        let _ = signalled.send(true);
    });
    // A client that never finishes its request must not keep the server up forever.
    let grace_over = async {
        let _ = stopping.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = serving => served?,
        () = grace_over => {
            // Their transactions end with the process, rolled back whole.
            tracing::warn!("requests still open {grace:?} after the signal are cut off");
            return Ok(());
        }
    }
    if let Some(watcher) = watcher {
        // Stopped with the server: it only logs how the messages under way ended.
        let _ = watcher.await;
    }
    db.close().await;
    tracing::info!("shut down");
    Ok(())
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// A real server on a free loopback port, for tests over HTTP.
#[cfg(test)]
pub mod testing {
    use super::*;
    use leptos::config::LeptosOptions;

    pub struct TestServer {
        pub url: String,
        pub state: AppState,
    }

    impl TestServer {
        pub async fn start(db: Db, settings: Settings) -> TestServer {
            let options = LeptosOptions::builder()
                .output_name("usage-monitor")
                .build();
            let state = AppState::new(options, db, settings);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let idle = state.settings.connection_idle;
            let listener = connection::Listener::new(listener, idle).serving();
            let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move { axum::serve(listener, app).await });
            TestServer { url, state }
        }
    }
}

#[cfg(test)]
mod tests;
