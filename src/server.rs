//! The HTTP server: the Leptos app, its server functions, the JSON API and static files,
//! all behind the access guard and the security headers.

use crate::alerts::delivery::RetrySchedule;
use crate::app::{shell, App};
use crate::auth::guard::{guard, HEALTH_PATH, INGEST_PATH, READY_PATH, STATS_PATH};
use crate::auth::hashing::HashingGate;
use crate::auth::headers::{provide_request_nonce, StrictTransport};
use crate::auth::routes::SetupLink;
use crate::auth::throttle::{LoginThrottle, ThrottlePolicy};
use crate::config::Settings;
use crate::db::Db;
use crate::log::TopUsers;
use crate::stats::shared::{Shared, Unavailable};
use crate::stats::{DashboardStats, DateRange, RangeQuery};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRef, Query, Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use chrono::{DateTime, Utc};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tower_http::services::ServeDir;

/// What every handler and server function can reach (server functions through context).
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    pub throttle: Arc<LoginThrottle>,
    pub hashing: Arc<HashingGate>,
    pub setup: Arc<SetupLink>,
    pub stats: Arc<Shared<DashboardStats>>,
    pub top_users: Arc<Shared<TopUsers>>,
    /// Whether the database answered `/readyz`'s probe.
    pub ready: Arc<Shared<bool>>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: Db, settings: Settings) -> AppState {
        AppState {
            leptos_options,
            db,
            throttle: Arc::new(LoginThrottle::new(ThrottlePolicy::with_lockout(
                settings.access.login_lockout,
            ))),
            hashing: Arc::new(HashingGate::new(
                settings.access.login_hash_concurrency,
                settings.access.login_hash_queue,
            )),
            stats: Arc::new(Shared::new(settings.stats_max_age)),
            top_users: Arc::new(Shared::new(crate::log::TOP_USERS_MAX_AGE)),
            ready: Arc::new(Shared::new(READY_MAX_AGE)),
            settings: Arc::new(settings),
            setup: Arc::default(),
        }
    }
}

impl AppState {
    /// The dashboard's figures.
    pub async fn figures(&self, range: Option<&DateRange>) -> Result<DashboardStats, Unavailable> {
        let (db, report) = (&self.db, &self.settings.report);
        shared_unless_ranged(&self.stats, range, || {
            crate::stats::query::load(db, report, chrono::Utc::now(), range)
        })
        .await
    }

    /// The guide's figures, and when their computation ended (for the alerts, which must
    /// know how old the shared figures are).
    pub async fn figures_finished(&self) -> Result<(DashboardStats, DateTime<Utc>), Unavailable> {
        let (db, report) = (&self.db, &self.settings.report);
        self.stats
            .get_finished(|| crate::stats::query::load(db, report, chrono::Utc::now(), None))
            .await
    }

    /// The top users by cost.
    pub async fn top_users(&self, range: Option<&DateRange>) -> Result<TopUsers, Unavailable> {
        let (db, report) = (&self.db, &self.settings.report);
        shared_unless_ranged(&self.top_users, range, || {
            crate::log::query::top_users(db, report, chrono::Utc::now(), range)
        })
        .await
    }
}

/// The guide's view through `shared`, which many pages ask for at once; a chosen range
/// (an admin asks for one at a time) computed for the request.
async fn shared_unless_ranged<T: Clone, Fut>(
    shared: &Shared<T>,
    range: Option<&DateRange>,
    compute: impl FnOnce() -> Fut,
) -> Result<T, Unavailable>
where
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    match range {
        None => shared.get(compute).await,
        Some(_) => compute().await.map_err(Arc::new),
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/admin/credits") }))
        .route(
            "/admin",
            get(|| async { Redirect::temporary("/admin/credits") }),
        )
        .route(HEALTH_PATH, get(|| async { "ok" }))
        .route(READY_PATH, get(ready))
        .route(STATS_PATH, get(credit_stats))
        .route(
            &format!("{}{{file}}", crate::export::EXPORT_PREFIX),
            get(crate::export::export),
        )
        .route(
            INGEST_PATH,
            post(crate::ingest::api::post_events)
                .layer(DefaultBodyLimit::max(crate::ingest::api::MAX_BODY_BYTES)),
        )
        .merge(crate::auth::routes::routes())
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
        .layer(middleware::map_response(unreadable_server_fn_requests))
        .layer(middleware::from_fn(impossible_paths))
        .layer(crate::server_cache::compression())
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        // Outside the guard, so that its refusals and redirects get the headers too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::server_cache::cache_control,
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
) -> Result<Json<DashboardStats>, ApiError> {
    let Query(range) =
        range.map_err(|rejection| ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()))?;
    let range = DateRange::from_query(&range)
        .map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, error.to_string()))?;
    let stats = state.figures(range.as_ref()).await;
    Ok(Json(stats.map_err(|error| ApiError::unavailable(&error))?))
}

/// How long `/readyz` waits for the database's answer: probes come often and want one soon.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// How old an answer `/readyz` may give: load balancers and orchestrators probe every
/// server often, and the database need not be asked by each probe.
const READY_MAX_AGE: Duration = Duration::from_secs(1);

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

/// Leptos answers a server function request whose arguments it cannot read with 500, as if
/// the server had failed; the mistake is the client's, so it becomes a 400.
async fn unreadable_server_fn_requests(response: Response) -> Response {
    use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // An error's text is short; one too long to read stays a 500.
    let Ok(text) = axum::body::to_bytes(body, 64 << 10).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    if text.starts_with(b"Args|") || text.starts_with(b"Deserialization|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(text))
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

/// Serves until Ctrl-C or SIGTERM; then stops accepting connections and finishes the
/// requests in flight, for at most the shutdown grace period.
pub async fn serve(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let leptos_options = crate::config::leptos_options()?;
    let db = Db::connect(&settings.database_url, settings.database_timeouts).await?;
    let addr = leptos_options.site_addr;
    let grace = settings.shutdown_grace;
    let state = AppState::new(leptos_options, db.clone(), settings);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(
        "serving the dashboard at http://{addr}/admin/credits (time zone {}, database {})",
        state.settings.report.time_zone,
        redact(&state.settings.database_url)
    );
    println!("usage-monitor: dashboard at http://{addr}/admin/credits");
    if crate::auth::accounts::admin_count(&state.db).await? == 0 {
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
        let sender = crate::alerts::delivery::Sender::new(RetrySchedule::STANDARD)
            .map_err(|e| format!("cannot make the HTTP client for alerts: {e}"))?;
        tracing::info!(
            webhooks = ?state.settings.alerts.redacted_webhooks(),
            every = ?state.settings.alerts.check_every,
            "alerts: watching the health"
        );
        Some(tokio::spawn(crate::alerts::watcher::watch(
            state.clone(),
            sender,
            stopping.clone(),
        )))
    };
    let serving = axum::serve(
        listener,
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
            let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move { axum::serve(listener, app).await });
            TestServer { url, state }
        }
    }
}

#[cfg(test)]
mod page_scripts_tests;
#[cfg(test)]
mod reliability_tests;

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/usage"),
            "postgres://app:***@db:5432/usage"
        );
        assert_eq!(
            super::redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            super::redact("sqlite://data/usage-monitor.db"),
            "sqlite://data/usage-monitor.db"
        );
    }
}
