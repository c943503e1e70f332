//! The forms' endpoints: `POST /login`, `POST /logout`, and `POST /setup` for the first
//! admin. They are plain HTML form posts, so they work with or without JavaScript; a form
//! that comes back with a problem is the same Leptos page, rendered with the problem.

use super::accounts::{self, AccountError};
use super::session::{self, AdminSession};
use super::throttle::Verdict;
use super::{safe_next, FormProblem};
use crate::app::shell;
use crate::server::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Form, Router};
use leptos::prelude::provide_context;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

/// The one-time token of the first-admin link, while there is no admin.
#[derive(Debug, Default)]
pub struct SetupLink(Mutex<Option<String>>);

impl SetupLink {
    /// Opens the link with a new random token and returns the token.
    pub fn open(&self) -> String {
        let token = super::secret::random_secret();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        token
    }

    pub fn accepts(&self, token: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
            .is_some_and(|open| super::secret::same_secret(open, token))
    }

    /// Takes the token if it is the right one: it works once.
    fn redeem(&self, token: &str) -> bool {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if open
            .as_deref()
            .is_some_and(|t| super::secret::same_secret(t, token))
        {
            *open = None;
            true
        } else {
            false
        }
    }

    fn reopen(&self, token: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/setup", post(setup))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<NextQuery>,
    uri: Uri,
    Form(form): Form<LoginForm>,
) -> Response {
    let email = accounts::normalize_email(&form.email);
    let address = peer.ip();
    if let Verdict::Refuse { retry_after } = state.throttle.check(&email, address, Instant::now()) {
        // Rounded up: a client that waits this long is let through.
        let seconds = retry_after.as_millis().div_ceil(1000).max(1) as u64;
        tracing::warn!(target: "audit", action = "login_throttled", ?email, %address, retry_after_seconds = seconds);
        let mut response = render_form(
            &state,
            uri,
            FormProblem::Throttled {
                retry_after_seconds: seconds,
            },
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let verified = match accounts::verify_login(&state.db, &email, &form.password).await {
        Ok(verified) => verified,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if !verified {
        let delay = state.throttle.failed(&email, address, Instant::now());
        // Escaped (`?`): the client typed it; a line break must not forge a log line.
        tracing::warn!(target: "audit", action = "login_failed", ?email, %address);
        tokio::time::sleep(delay).await;
        return render_form(
            &state,
            uri,
            FormProblem::InvalidCredentials,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    state.throttle.succeeded(&email);
    sign_in(&state, &email, address, &safe_next(query.next.as_deref())).await
}

/// Starts a session for `email` and sends the browser on to `next` with its cookie.
async fn sign_in(state: &AppState, email: &str, address: IpAddr, next: &str) -> Response {
    let policy = &state.settings.access.session;
    let id = match session::create(&state.db, email, chrono::Utc::now(), policy).await {
        Ok(id) => id,
        Err(error) => return ApiError::from(error).into_response(),
    };
    tracing::info!(target: "audit", action = "login", %email, %address);
    let mut response = Redirect::to(next).into_response();
    if let Ok(value) = HeaderValue::from_str(&policy.set_cookie(&id)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    admin: Option<Extension<AdminSession>>,
    headers: HeaderMap,
) -> Response {
    let policy = &state.settings.access.session;
    if let Some(id) = policy.session_id(&headers) {
        if let Err(error) = session::end(&state.db, id).await {
            return ApiError::from(error).into_response();
        }
    }
    if let Some(Extension(admin)) = admin {
        tracing::info!(target: "audit", action = "logout", email = %admin.email, address = %peer.ip());
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&policy.clear_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct SetupForm {
    email: String,
    password: String,
    password_confirm: String,
}

async fn setup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<SetupQuery>,
    uri: Uri,
    Form(form): Form<SetupForm>,
) -> Response {
    let token = query.token.unwrap_or_default();
    let problem = |problem, status| render_form(&state, uri.clone(), problem, status);
    if form.password != form.password_confirm {
        return problem(
            FormProblem::Invalid("the two passwords differ".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let checked = accounts::check_email(&accounts::normalize_email(&form.email))
        .and_then(|()| accounts::check_password(&form.password));
    if let Err(AccountError::Invalid(reason)) = checked {
        return problem(FormProblem::Invalid(reason), StatusCode::BAD_REQUEST).await;
    }
    // Redeemed before the admin is created, so two racing submissions cannot both succeed.
    if !state.setup.redeem(&token) {
        tracing::warn!(target: "audit", action = "setup_refused", address = %peer.ip());
        return problem(FormProblem::SetupClosed, StatusCode::FORBIDDEN).await;
    }
    let email = match accounts::create_first_admin(&state.db, &form.email, &form.password).await {
        Ok(email) => email,
        Err(AccountError::Exists(_)) => {
            return problem(FormProblem::SetupClosed, StatusCode::FORBIDDEN).await;
        }
        Err(error) => {
            state.setup.reopen(token);
            tracing::error!(%error, "the first admin could not be created");
            return problem(
                FormProblem::Invalid(format!("the admin could not be created: {error}")),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
        }
    };
    tracing::info!(target: "audit", action = "admin_created", %email, address = %peer.ip(), via = "setup link");
    sign_in(&state, &email, peer.ip(), &safe_next(None)).await
}

/// The form's page again, with what went wrong, under the given status.
async fn render_form(
    state: &AppState,
    uri: Uri,
    problem: FormProblem,
    status: StatusCode,
) -> Response {
    let options = state.leptos_options.clone();
    let app_state = state.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            provide_context(app_state.clone());
            provide_context(problem.clone());
        },
        move || shell(options.clone()),
    );
    let request = Request::get(uri).body(Body::empty()).unwrap_or_default();
    let mut response = render(request).await.into_response();
    *response.status_mut() = status;
    response
}
