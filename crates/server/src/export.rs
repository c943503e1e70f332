//! `GET /api/admin/export/{table}.csv`: every table of the dashboard, and the generations
//! log with its filters, as CSV for the range asked for (`?range=` or `?from=&to=`; the
//! default windows without one). Quoting is the csv crate's. The log is read and sent a
//! page at a time ([`download`]), so 10 M rows never sit in memory and a download holds no
//! database connection while its client reads; the other tables are the dashboard's
//! figures, read whole before they are sent.

mod download;

use app::error::{AppError, ErrorKind};
use app::state::AppState;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use model::dashboard::{DashboardStats, DateRange, Money, RangeQuery, Tier};
use model::log::{LogQuery, LogRow};
use model::margin::credit_value_setting;

pub const EXPORT_PREFIX: &str = "/api/admin/export/";

/// The tables, as `{table}.csv` names them.
pub const TABLES: [&str; 8] = [
    "generations",
    "providers",
    "tiers",
    "failures",
    "top-users",
    "trend",
    "error-groups",
    "margin",
];

/// Bytes sent at a time.
const CHUNK_BYTES: usize = 64 << 10;

pub async fn export(
    State(state): State<AppState>,
    Path(file): Path<String>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let bad = |message: String| AppError::new(ErrorKind::BadRequest, message);
    let table = file
        .strip_suffix(".csv")
        .filter(|table| TABLES.contains(table))
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::NotFound,
                format!(
                    "no table {file:?}; the exports are {}",
                    TABLES.map(|t| format!("{t}.csv")).join(", ")
                ),
            )
        })?;
    let Query(query) = query.map_err(|rejection| bad(rejection.body_text()))?;
    query
        .check_storable()
        .map_err(|error| bad(error.to_string()))?;
    let now = chrono::Utc::now();
    if table == "generations" {
        let filter = query.filter().map_err(|error| bad(error.to_string()))?;
        return download::download(state, now, filter);
    }
    let provider = query.provider.clone();
    let range = DateRange::from_query(&RangeQuery {
        range: query.range,
        from: query.from,
        to: query.to,
    })
    .map_err(|error| bad(error.to_string()))?;
    let csv = match table {
        "top-users" => {
            let top = state
                .top_users(range.as_ref())
                .await
                .map_err(|e| AppError::unavailable(&e))?;
            let mut out = writer(&[
                "user_id",
                "tier",
                "generations",
                "credits_consumed",
                "cost_usd",
            ]);
            for user in &top.users {
                out.write_record([
                    text(&user.id),
                    user.tier.as_str().into(),
                    user.generations.to_string(),
                    user.consumed.to_string(),
                    dollars(user.cost),
                ])
                .map_err(csv_failed)?;
            }
            finish(out)?
        }
        _ => {
            let stats = state
                .figures(range.as_ref())
                .await
                .map_err(|e| AppError::unavailable(&e))?;
            figures_csv(table, &stats, provider.as_deref())?
        }
    };
    Ok(attachment(table, now, Body::from(csv)))
}

/// One of the figures' tables as CSV; the trend's bars are those of `provider` (all
/// providers without one), as the chart draws them.
fn figures_csv(
    table: &str,
    stats: &DashboardStats,
    provider: Option<&str>,
) -> Result<Vec<u8>, AppError> {
    match table {
        "trend" => trend_csv(stats, provider),
        "providers" => providers_csv(stats),
        "tiers" => tiers_csv(stats),
        "error-groups" => error_groups_csv(stats),
        "margin" => margin_csv(stats),
        _ => failures_csv(stats),
    }
}

/// The trend's bars (those of `provider`, or of all providers).
fn trend_csv(stats: &DashboardStats, provider: Option<&str>) -> Result<Vec<u8>, AppError> {
    let mut out = writer(&[
        "start",
        "end",
        "generations",
        "succeeded",
        "failed",
        "pending",
        "cost_usd",
    ]);
    let trend = &stats.trend;
    for (index, c) in trend.counts(provider).iter().enumerate() {
        out.write_record([
            trend.bars[index].start.to_rfc3339(),
            trend.bar_end(index).to_rfc3339(),
            c.generations().to_string(),
            c.succeeded.to_string(),
            c.failed.to_string(),
            c.pending.to_string(),
            dollars(c.cost),
        ])
        .map_err(csv_failed)?;
    }
    finish(out)
}

/// The providers' table.
fn providers_csv(stats: &DashboardStats) -> Result<Vec<u8>, AppError> {
    let mut out = writer(&[
        "provider",
        "calls",
        "succeeded",
        "failed",
        "success_rate_percent",
        "latency_p50_ms",
        "latency_p95_ms",
        "cost_usd",
    ]);
    for p in &stats.providers {
        out.write_record([
            text(&p.name),
            p.total_calls.to_string(),
            p.successful.to_string(),
            p.failed.to_string(),
            rate(p.success_rate),
            rate(p.latency_p50_ms),
            rate(p.latency_p95_ms),
            dollars(p.total_cost),
        ])
        .map_err(csv_failed)?;
    }
    finish(out)
}

/// Users and credits by tier.
fn tiers_csv(stats: &DashboardStats) -> Result<Vec<u8>, AppError> {
    let mut out = writer(&["tier", "users", "total_credits", "credits_consumed"]);
    for tier in [Tier::Pro, Tier::Plus, Tier::Free] {
        let t = stats.user_stats.credits_by_tier.get(tier);
        out.write_record([
            tier.as_str().into(),
            t.count.to_string(),
            t.total_credits.to_string(),
            t.total_consumed.to_string(),
        ])
        .map_err(csv_failed)?;
    }
    finish(out)
}

/// The error groups, newest first.
fn error_groups_csv(stats: &DashboardStats) -> Result<Vec<u8>, AppError> {
    let mut out = writer(&[
        "pattern",
        "failures",
        "providers",
        "first_seen",
        "last_seen",
        "example",
    ]);
    for g in &stats.error_groups {
        out.write_record([
            text(&g.pattern),
            g.count.to_string(),
            text(&g.providers.join(", ")),
            g.first_seen.to_rfc3339(),
            g.last_seen.to_rfc3339(),
            text(&g.example),
        ])
        .map_err(csv_failed)?;
    }
    finish(out)
}

/// Revenue and margin by tier, by provider, and in total; refused, with what to set, while
/// a tier's credit value is unset.
fn margin_csv(stats: &DashboardStats) -> Result<Vec<u8>, AppError> {
    let Some(margin) = &stats.margin else {
        return Err(AppError::new(ErrorKind::BadRequest, margin_unknown(stats)));
    };
    let mut out = writer(&[
        "group",
        "name",
        "credit_value_usd",
        "credits_consumed",
        "revenue_usd",
        "cost_usd",
        "margin_usd",
        "margin_percent",
    ]);
    let lines = margin
        .by_tier
        .iter()
        .map(|t| ("tier", t.tier.as_str(), Some(t.credit_value), &t.figures))
        .chain(
            margin
                .by_provider
                .iter()
                .map(|p| ("provider", p.provider.as_str(), None, &p.figures)),
        )
        .chain([("total", "", None, &margin.total)]);
    for (group, name, value, f) in lines {
        out.write_record([
            group.into(),
            text(name),
            value.map(dollars).unwrap_or_default(),
            f.credits_consumed.to_string(),
            dollars(f.revenue),
            dollars(f.cost),
            dollars(f.margin),
            rate(f.margin_percent),
        ])
        .map_err(csv_failed)?;
    }
    finish(out)
}

/// Why there is no margin: the settings to set, or a sum too large.
fn margin_unknown(stats: &DashboardStats) -> String {
    if stats.credit_values_unset.is_empty() {
        return "revenue would pass the largest sum kept".into();
    }
    let unset: Vec<String> = stats
        .credit_values_unset
        .iter()
        .map(|&tier| {
            let setting = credit_value_setting(tier);
            format!("{} (or {} in [app])", setting.env, setting.key)
        })
        .collect();
    format!(
        "revenue and margin need every tier's credit value, in dollars per credit; not set: {}",
        unset.join(", ")
    )
}

/// The recent failures.
fn failures_csv(stats: &DashboardStats) -> Result<Vec<u8>, AppError> {
    let mut out = writer(&["id", "provider", "created_at", "error"]);
    for f in &stats.recent_failures {
        out.write_record([
            text(&f.id),
            text(&f.provider),
            f.time.to_rfc3339(),
            text(&f.error),
        ])
        .map_err(csv_failed)?;
    }
    finish(out)
}

const GENERATION_COLUMNS: [&str; 11] = [
    "id",
    "user_id",
    "provider",
    "model",
    "status",
    "credits",
    "refunded_credits",
    "cost_usd",
    "created_at",
    "completed_at",
    "error",
];

fn generation_record(row: &LogRow) -> [String; 11] {
    let time = |t: Option<DateTime<FixedOffset>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    [
        text(&row.id),
        text(&row.user_id),
        text(&row.provider),
        row.model.as_deref().map(text).unwrap_or_default(),
        row.status.clone(),
        row.credits.to_string(),
        row.refunded.map(|c| c.to_string()).unwrap_or_default(),
        dollars(row.cost),
        row.created_at.to_rfc3339(),
        time(row.completed_at),
        row.error.as_deref().map(text).unwrap_or_default(),
    ]
}

/// Records as CSV text, without a header.
fn chunk<const N: usize>(records: &[[String; N]]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new().from_writer(Vec::new());
    for record in records {
        out.write_record(record)?;
    }
    out.into_inner().map_err(|error| error.into_error().into())
}

fn writer(header: &[&str]) -> csv::Writer<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = out.write_record(header);
    out
}

fn finish(out: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, AppError> {
    out.into_inner()
        .map_err(|error| csv_failed(error.into_error().into()))
}

fn csv_failed(error: csv::Error) -> AppError {
    tracing::error!(%error, "writing CSV failed");
    AppError::new(ErrorKind::Failed, "writing CSV failed")
}

fn attachment(table: &str, now: DateTime<chrono::Utc>, body: Body) -> Response {
    let disposition = format!(
        "attachment; filename=\"{table}-{}.csv\"",
        now.format("%Y-%m-%dT%H%MZ")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// Exact dollars, six decimals: `0.039000`.
fn dollars(money: Money) -> String {
    let micros = money.micros();
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// A rate or latency; an empty cell when unknown.
fn rate(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return first: provider error texts and ids come from outside) gets a `'` in
/// front, as OWASP advises, so that opening the export runs nothing.
fn text(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
