//! The forms' endpoints: `POST /login`, `POST /logout`, and `POST /setup` for the first
//! admin. They are plain HTML form posts, so they work with or without JavaScript; a form
//! that comes back with a problem is the same Leptos page, rendered with the problem.

use super::client_address::client_address;
use super::headers::{provide_request_nonce, RequestNonce};
use app::error::AppError;
use app::shell;
use app::state::hashing::{self, LoginError};
use app::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Form, Router};
use leptos::prelude::provide_context;
use model::access::{safe_next, FormProblem};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use store::auth::accounts::{self, AccountError};
use store::auth::device;
use store::auth::session::{self, AdminSession};
use store::auth::throttle::{GivenBack, Reservation, Verdict};

/// The most a form's body may have: a login or setup form is a few hundred bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/setup", post(setup))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
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

/// Where the request comes from, as far as this server can tell (docs/security.md, rule 5).
fn address_of(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    client_address(peer.ip(), headers, &state.settings.access.trusted_proxies)
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<NextQuery>,
    page: FormPage,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let address = address_of(&state, peer, &headers);
    // Before anything is done with them, logged or counted: sizes only, never the text.
    if let Err(AccountError::Invalid(reason)) =
        accounts::check_form_sizes(&form.email, &[&form.password])
    {
        tracing::warn!(target: "audit", action = "login_refused", reason, %address);
        return render_form(
            &state,
            page,
            FormProblem::Invalid(reason),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let email = accounts::normalize_email(&form.email);
    let secure = state.settings.access.session.secure_cookie;
    let device = device::presented(&headers, secure);
    let reservation = match reserve(&state, &page, &email, address, device).await {
        Ok(reservation) => reservation,
        Err(refusal) => return refusal,
    };
    let checked = hashing::verify_login(&state.db, &state.hashing, &email, &form.password).await;
    let given_back = match checked {
        Ok(true) => Some(GivenBack::RightPassword),
        Ok(false) => None,
        Err(_) => Some(GivenBack::NotChecked),
    };
    if let Some(why) = given_back {
        let now = chrono::Utc::now();
        let throttle = &state.throttle;
        if let Err(error) = throttle.give_back(&state.db, &reservation, why, now).await {
            return AppError::from(error).into_response();
        }
    }
    match checked {
        Ok(true) => {
            let presented = state.settings.access.session.session_id(&headers);
            let next = safe_next(query.next.as_deref());
            sign_in(&state, &email, address, presented, &next).await
        }
        Ok(false) => {
            // Escaped (`?`): the client typed it; a line break must not forge a log line.
            tracing::warn!(target: "audit", action = "login_failed", ?email, %address);
            let problem = FormProblem::InvalidCredentials;
            render_form(&state, page, problem, StatusCode::UNAUTHORIZED).await
        }
        Err(LoginError::Busy(_)) => {
            tracing::warn!(action = "login_busy", ?email, %address, "too many sign-ins at once");
            let problem = FormProblem::Busy {
                retry_after_seconds: seconds(hashing::RETRY_AFTER),
            };
            refuse(&state, page, problem, StatusCode::SERVICE_UNAVAILABLE).await
        }
        Err(LoginError::Database(error)) => AppError::from(error).into_response(),
    }
}

/// Counts the attempt before its password is checked (docs/security.md, rule 1); the
/// answer to send instead when the throttle refuses it.
async fn reserve(
    state: &AppState,
    page: &FormPage,
    email: &str,
    address: IpAddr,
    device: Option<&str>,
) -> Result<Reservation, Response> {
    let now = chrono::Utc::now();
    let throttle = &state.throttle;
    match throttle
        .reserve(&state.db, email, address, device, now)
        .await
    {
        Ok(Verdict::Allow(reservation)) => Ok(reservation),
        Ok(Verdict::Refuse { retry_after }) => {
            let retry_after_seconds = seconds(retry_after);
            let device = device.is_some();
            tracing::warn!(target: "audit", action = "login_throttled", ?email, %address, device, retry_after_seconds);
            let problem = FormProblem::Throttled {
                retry_after_seconds,
            };
            Err(refuse(state, page.clone(), problem, StatusCode::TOO_MANY_REQUESTS).await)
        }
        Err(error) => Err(AppError::from(error).into_response()),
    }
}

/// Whole seconds, rounded up: a client that waits this long is let through.
fn seconds(duration: Duration) -> u64 {
    duration.as_millis().div_ceil(1000).max(1) as u64
}

/// The form with `problem`, under `status`, with `Retry-After`.
async fn refuse(
    state: &AppState,
    page: FormPage,
    problem: FormProblem,
    status: StatusCode,
) -> Response {
    let retry_after = match &problem {
        FormProblem::Throttled {
            retry_after_seconds,
        }
        | FormProblem::Busy {
            retry_after_seconds,
        } => Some(*retry_after_seconds),
        _ => None,
    };
    let mut response = render_form(state, page, problem, status).await;
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Starts a session for `email` and sends the browser on to `next` with its cookie, and a
/// new device cookie (docs/security.md, rule 4). The session the request presented, if
/// any, ends: one browser, one session.
async fn sign_in(
    state: &AppState,
    email: &str,
    address: IpAddr,
    presented: Option<&str>,
    next: &str,
) -> Response {
    let policy = &state.settings.access.session;
    if let Some(old) = presented {
        if let Err(error) = session::end(&state.db, old).await {
            return AppError::from(error).into_response();
        }
    }
    let id = match session::create(&state.db, email, chrono::Utc::now(), policy).await {
        Ok(id) => id,
        Err(error) => return AppError::from(error).into_response(),
    };
    let device = match state.throttle.device_cookie(&state.db, email).await {
        Ok(value) => device::set_cookie(&value, policy.secure_cookie),
        Err(error) => return AppError::from(error).into_response(),
    };
    tracing::info!(target: "audit", action = "login", %email, %address);
    let mut response = Redirect::to(next).into_response();
    for cookie in [policy.set_cookie(&id), device] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
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
            return AppError::from(error).into_response();
        }
    }
    if let Some(Extension(admin)) = admin {
        let address = address_of(&state, peer, &headers);
        tracing::info!(target: "audit", action = "logout", email = %admin.email, %address);
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
    page: FormPage,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    let token = query.token.unwrap_or_default();
    let address = address_of(&state, peer, &headers);
    let problem = |problem, status| render_form(&state, page.clone(), problem, status);
    let sizes = accounts::check_form_sizes(&form.email, &[&form.password, &form.password_confirm]);
    if let Err(AccountError::Invalid(reason)) = sizes {
        return problem(FormProblem::Invalid(reason), StatusCode::BAD_REQUEST).await;
    }
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
        tracing::warn!(target: "audit", action = "setup_refused", %address);
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
    tracing::info!(target: "audit", action = "admin_created", %email, %address, via = "setup link");
    sign_in(&state, &email, address, None, &safe_next(None)).await
}

/// What a form's page is rendered again from: its address, and the nonce the response's
/// policy names (docs/security.md), which its scripts must carry.
#[derive(Clone)]
struct FormPage {
    uri: Uri,
    nonce: Option<RequestNonce>,
}

impl<S: Send + Sync> FromRequestParts<S> for FormPage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(FormPage {
            uri: parts.uri.clone(),
            nonce: parts.extensions.get::<RequestNonce>().cloned(),
        })
    }
}

/// The form's page again, with what went wrong, under the given status.
async fn render_form(
    state: &AppState,
    page: FormPage,
    problem: FormProblem,
    status: StatusCode,
) -> Response {
    let options = state.leptos_options.clone();
    let app_state = state.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            provide_context(app_state.clone());
            provide_context(problem.clone());
            provide_request_nonce();
        },
        move || shell(options.clone()),
    );
    let mut request = Request::get(page.uri)
        .body(Body::empty())
        .unwrap_or_default();
    if let Some(nonce) = page.nonce {
        request.extensions_mut().insert(nonce);
    }
    let mut response = render(request).await.into_response();
    *response.status_mut() = status;
    response
}
