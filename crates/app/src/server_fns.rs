//! The server functions the pages call: each checks the session, reads the request's
//! arguments, and asks the store.

use crate::error::AppError;
use leptos::prelude::*;
use model::alerts::{AlertsPage, Delivery};
use model::budgets::BudgetsPage;
use model::dashboard::{DashboardSettings, DashboardStats};
use model::log::{LogPage, LogQuery, TopUsers, UserPage};
use model::range::RangeQuery;

#[cfg(feature = "ssr")]
use crate::delivery::sender::{RetrySchedule, Sender};
#[cfg(feature = "ssr")]
use crate::error::ErrorKind;
#[cfg(feature = "ssr")]
use crate::state::AppState;
#[cfg(feature = "ssr")]
use model::budgets::BudgetForm;
#[cfg(feature = "ssr")]
use model::range::DateRange;
#[cfg(feature = "ssr")]
use store::auth::session::AdminSession;

/// The signed-in admin, or a 401. The guard has refused requests without a session
/// already; this keeps each server function honest on its own.
#[cfg(feature = "ssr")]
async fn require_admin() -> Result<AdminSession, AppError> {
    let admin = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<AdminSession>().cloned());
    match admin {
        Some(admin) => Ok(admin),
        None => Err(AppError::sign_in_first().answered()),
    }
}

/// A server function's answer when the database did not answer: 503 with `Retry-After`,
/// the cause logged and not shown.
#[cfg(feature = "ssr")]
fn database_did_not_answer(error: impl std::fmt::Display) -> AppError {
    AppError::unavailable(&error).answered()
}

/// A server function's answer to arguments it cannot take: 400 with the reason.
#[cfg(feature = "ssr")]
fn refused(reason: impl std::fmt::Display) -> AppError {
    AppError::bad_request(reason).answered()
}

/// The figures over the default windows, at most `stats-max-age-milliseconds` old
/// (`shared`), or over the `range` asked for.
#[server]
pub async fn get_dashboard_stats(
    #[server(default)] range: RangeQuery,
) -> Result<DashboardStats, AppError> {
    require_admin().await?;
    let range = DateRange::from_query(&range).map_err(refused)?;
    let state = expect_context::<AppState>();
    state
        .figures(range.as_ref())
        .await
        .map_err(database_did_not_answer)
}

/// How the page behaves: how often it refreshes.
#[server]
pub async fn get_dashboard_settings() -> Result<DashboardSettings, AppError> {
    require_admin().await?;
    let state = expect_context::<AppState>();
    Ok(DashboardSettings {
        refresh_seconds: state.settings.refresh_seconds,
    })
}

/// The top users by cost: this month's, or the `range`'s.
#[server]
pub async fn get_top_users(#[server(default)] range: RangeQuery) -> Result<TopUsers, AppError> {
    require_admin().await?;
    let range = DateRange::from_query(&range).map_err(refused)?;
    let state = expect_context::<AppState>();
    state
        .top_users(range.as_ref())
        .await
        .map_err(database_did_not_answer)
}

/// A page of the log.
#[server]
pub async fn get_generations(#[server(default)] query: LogQuery) -> Result<LogPage, AppError> {
    require_admin().await?;
    let filter = query.filter().map_err(refused)?;
    let state = expect_context::<AppState>();
    store::log::page(
        &state.db,
        &state.settings.report,
        chrono::Utc::now(),
        &filter,
        model::log::PAGE_SIZE,
    )
    .await
    .map_err(database_did_not_answer)
}

/// A user's page; `None` for a user the platform never told us about.
#[server]
pub async fn get_user(#[server(default)] id: String) -> Result<Option<UserPage>, AppError> {
    require_admin().await?;
    model::log::storable("id", &id).map_err(refused)?;
    let state = expect_context::<AppState>();
    store::log::user(&state.db, &state.settings.report, &id)
        .await
        .map_err(database_did_not_answer)
}

/// The page's contents.
#[server]
pub async fn get_alerts() -> Result<AlertsPage, AppError> {
    require_admin().await?;
    let state = expect_context::<AppState>();
    let alerts = &state.settings.alerts;
    store::alerts::page(
        &state.db,
        &state.settings.report,
        alerts.redacted_webhooks(),
        alerts.check_every,
        model::alerts::LOG_ROWS,
    )
    .await
    .map_err(database_did_not_answer)
}

/// Sends a test message to every webhook now, with the usual retries, and logs it; returns
/// the deliveries as logged.
#[server]
pub async fn send_test_alert() -> Result<Vec<Delivery>, AppError> {
    let admin = require_admin().await?;
    let state = expect_context::<AppState>();
    let alerts = &state.settings.alerts;
    if alerts.webhooks.is_empty() {
        return Err(refused(model::alerts::NO_WEBHOOKS));
    }
    let health = state
        .figures(None)
        .await
        .map_err(database_did_not_answer)?
        .system_health;
    // A client of its own: the button is pressed rarely, and the state keeps none (the
    // watcher's belongs to its task).
    let sender = Sender::new(RetrySchedule::STANDARD).map_err(|error| {
        tracing::error!(%error, "no HTTP client for alerts");
        let reason = format!("The HTTP client could not be made: {error}");
        AppError::new(ErrorKind::Failed, reason).answered()
    })?;
    tracing::info!(target: "audit", action = "test_alert", admin = %admin.email);
    let ids = crate::delivery::announce::announce_test(
        &state.db,
        alerts,
        &sender,
        &health,
        chrono::Utc::now(),
    )
    .await
    .map_err(database_did_not_answer)?;
    store::alerts::deliveries(&state.db, &state.settings.report, &ids)
        .await
        .map_err(database_did_not_answer)
}

/// The Budgets panel of the Alerts page.
#[server]
pub async fn get_budgets() -> Result<BudgetsPage, AppError> {
    require_admin().await?;
    let state = expect_context::<AppState>();
    store::budgets::page(&state.db, &state.settings.report, chrono::Utc::now())
        .await
        .map_err(database_did_not_answer)
}

/// Saves the budgets typed in the form (empty amounts: off), logged with who changed what.
#[server]
pub async fn save_budgets(
    daily: String,
    monthly: String,
    per_user: String,
    levels: String,
) -> Result<BudgetsPage, AppError> {
    let admin = require_admin().await?;
    let form = BudgetForm {
        daily,
        monthly,
        per_user,
        levels,
    };
    let settings = form.parse().map_err(refused)?;
    let state = expect_context::<AppState>();
    let report = &state.settings.report;
    let now = chrono::Utc::now();
    store::budgets::save(&state.db, &report.budgets, &settings, &admin.email, now)
        .await
        .map_err(database_did_not_answer)?;
    // This server's pages show the new budgets at once; others' within the figures' age.
    state.stats.forget().await;
    tracing::info!(
        target: "audit",
        action = "budgets",
        admin = %admin.email,
        budgets = settings.describe()
    );
    store::budgets::page(&state.db, report, now)
        .await
        .map_err(database_did_not_answer)
}
