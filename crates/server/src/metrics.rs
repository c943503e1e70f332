//! `GET /metrics`: the figures in Prometheus's text format, for a session or a `read` token.
//!
//! Counters sum everything ever recorded (from the whole-day totals), so that PromQL's
//! `increase()` and `rate()` work over any range; gauges are the dashboard's own figures as
//! of now, shared with the pages. A scrape reads the same few hundred totals rows as the
//! dashboard does, never the generations themselves.

use app::error::AppError;
use app::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use model::dashboard::{DashboardStats, HealthStatus};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use store::all_time::{self, AllTime};
use store::parts::Source;

pub const METRICS_PATH: &str = "/metrics";

/// Prometheus's text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every name starts `usage_monitor_`.
const PREFIX: &str = "usage_monitor";

type Labels = Vec<(&'static str, String)>;
type Total = Counter<f64, AtomicU64>;
type Level = Gauge<f64, AtomicU64>;

pub async fn metrics(State(state): State<AppState>) -> Result<Response, AppError> {
    let stats = state
        .figures(None)
        .await
        .map_err(|error| AppError::unavailable(&error))?;
    let all_time = all_time::load(&state.db, Source::Totals)
        .await
        .map_err(AppError::from)?;
    let body = exposition(&stats, &all_time, Utc::now()).map_err(|_| {
        AppError::new(
            app::error::ErrorKind::Failed,
            "the metrics could not be written",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}

/// The text a scrape gets, as of `now`.
pub fn exposition(
    stats: &DashboardStats,
    all_time: &AllTime,
    now: DateTime<Utc>,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix(PREFIX);
    register_all_time(&mut registry, all_time);
    register_now(&mut registry, stats);
    if let Some(newest) = all_time.newest_event {
        let age = (now - newest).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
        gauge(&mut registry, "newest_event_age_seconds",
            "Seconds since the newest generation was created or refund made: how far ingestion lags",
            age.max(0.0));
    }
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry)?;
    Ok(text)
}

/// The counters: generations, cost and refunds ever recorded.
fn register_all_time(registry: &mut Registry, all_time: &AllTime) {
    let generations = Family::<Labels, Total>::default();
    let cost = Family::<Labels, Total>::default();
    let pending = Family::<Labels, Level>::default();
    for provider in &all_time.providers {
        let name = || ("provider", provider.name.clone());
        for (status, count) in [
            ("succeeded", provider.succeeded),
            ("failed", provider.failed),
        ] {
            let labels = vec![name(), ("status", status.to_owned())];
            generations.get_or_create(&labels).inc_by(count as f64);
        }
        cost.get_or_create(&vec![name()])
            .inc_by(provider.cost.micros() as f64 / 1e6);
        pending
            .get_or_create(&vec![name()])
            .set(provider.pending as f64);
    }
    registry.register(
        "generations",
        "Finished generations ever recorded, by provider and status",
        generations,
    );
    registry.register(
        "cost_usd",
        "Provider cost of every generation ever recorded, in US dollars",
        cost,
    );
    registry.register(
        "generations_pending",
        "Generations not finished yet, by provider",
        pending,
    );
    let refunds = Total::default();
    refunds.inc_by(all_time.refunds as f64);
    registry.register("refunds", "Refunds ever recorded", refunds);
}

/// The gauges: the dashboard's figures as of now.
fn register_now(registry: &mut Registry, stats: &DashboardStats) {
    let health = Family::<Labels, Level>::default();
    for status in HealthStatus::ALL {
        let now = if stats.system_health.status == status {
            1.0
        } else {
            0.0
        };
        health
            .get_or_create(&vec![("status", status.as_str().to_owned())])
            .set(now);
    }
    registry.register(
        "health",
        "1 for the health of the last 24 hours (healthy, degraded, critical or idle), 0 for the others",
        health,
    );
    if let Some(percent) = stats.system_health.failure_rate {
        gauge(
            registry,
            "failure_ratio_last_24h",
            "Failed over finished generations of the last 24 hours (0 to 1)",
            percent / 100.0,
        );
    }
    register_budgets(registry, stats);
    gauge(
        registry,
        "cost_today_usd",
        "Provider cost of today's generations (reporting time zone), in US dollars",
        dollars(stats.today_stats.cost),
    );
    gauge(
        registry,
        "cost_this_month_usd",
        "Provider cost of this month's generations (reporting time zone), in US dollars",
        dollars(stats.month_stats.cost),
    );
}

/// Spend against the budgets that are set, and the users over their limit.
fn register_budgets(registry: &mut Registry, stats: &DashboardStats) {
    let budgets = &stats.budgets;
    let spent = Family::<Labels, Level>::default();
    for (name, used) in [("daily", &budgets.daily), ("monthly", &budgets.monthly)] {
        if let Some(used) = used {
            spent
                .get_or_create(&vec![("budget", name.to_owned())])
                .set(used.percent / 100.0);
        }
    }
    registry.register(
        "budget_spent_ratio",
        "Today's (daily) and this month's (monthly) cost over its budget, past 1 when over; only budgets that are set",
        spent,
    );
    if budgets.per_user_limit.is_some() {
        gauge(
            registry,
            "users_over_limit",
            "Users whose cost over the last 24 hours passed the per-user limit",
            budgets.users_over_limit as f64,
        );
    }
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let gauge = Level::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn dollars(money: model::money::Money) -> f64 {
    money.micros() as f64 / 1e6
}

#[cfg(test)]
mod tests;
