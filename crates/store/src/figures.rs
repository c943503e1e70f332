//! Computes [`DashboardStats`] with SQL aggregates on the database host: only totals and
//! the ten newest failures travel back, never the rows themselves.
//!
//! The dashboard reads the running totals (`crate::totals`): a window's whole UTC days and
//! 15-minute buckets from the totals tables, and each partial day or quarter at its edges
//! from the cheaper side: the part inside the window, or the bucket's total less the part
//! outside. Time after `now` holds no rows, so the day and the quarter that `now` falls in
//! cost one bucket each; a rolling window's first day costs at most half a day of
//! quarters, and its first quarter at most seven and a half minutes of raw rows, however
//! many generations there are. The same figures straight from the raw rows
//! ([`Source::RawRows`]) are the reference that tests and the benchmark compare against.
//!
//! Each figure is a file here: the windows it reads, its SQL over the totals and over the
//! raw rows, and how its rows make its fields of [`DashboardStats`]. [`statement`] joins
//! every figure's parts into one statement and hands each row back to the figure that
//! asked for it; [`parts`] splits a window into buckets and raw edges.

mod active_users;
mod budgets;
mod counts;
mod error_groups;
mod failures;
mod generations;
pub mod latency;
mod margin;
mod projection;
mod providers;
mod reconciliation;
mod refunds;
mod statement;
mod tiers;
mod trend;

use crate::db::Db;
use crate::parts::Source;
use crate::report::{in_zone, ReportSettings};
pub(crate) use budgets::decode_levels;
use chrono::{DateTime, SubsecRound, Utc};
use model::dashboard::*;
use model::range::DateRange;
use model::windows::Windows;
use statement::{Ask, Row};

/// When a figure writes its fields: most from their own rows alone, a few from what the
/// others wrote too (the providers' percentiles, the month's projection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Finish {
    FromOwnRows,
    AfterTheOthers,
}

/// One figure of the dashboard: the parts of the statement it reads, and how their rows
/// make its fields of [`DashboardStats`].
trait Figure: Send {
    /// Adds the parts it reads to the statement.
    fn ask(&self, ask: &mut Ask<'_>);
    /// Adds up one row of its parts.
    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error>;
    /// Whether [`Figure::finish`] reads fields other figures write.
    fn finishes(&self) -> Finish {
        Finish::FromOwnRows
    }
    /// Writes its fields, and only those.
    fn finish(self: Box<Self>, stats: &mut DashboardStats);
    /// Its type's name, for the benchmark.
    fn name(&self) -> &'static str {
        let path = std::any::type_name::<Self>();
        path.rsplit("::").next().unwrap_or(path)
    }
}

/// What every figure is computed for: the windows as of `now`, and the settings.
struct Report<'a> {
    now: DateTime<Utc>,
    windows: Windows,
    settings: &'a ReportSettings,
}

/// Every figure, in the order their parts join the statement (any order gives the same
/// figures: those that read others' fields finish after the others, [`Finish`]).
fn figures(report: &Report) -> Vec<Box<dyn Figure>> {
    vec![
        Box::new(generations::Generations::new(report)),
        Box::new(refunds::Refunds::new(report)),
        Box::new(active_users::ActiveUsers::new(report)),
        Box::new(providers::Providers::new(report)),
        Box::new(latency::Latency::new(report)),
        Box::new(tiers::Balances::default()),
        Box::new(tiers::Consumed::new(report)),
        Box::new(reconciliation::OverdueFailures::new(report)),
        Box::new(reconciliation::OverRefunds::new(report)),
        Box::new(trend::TrendBars::new(report)),
        Box::new(failures::RecentFailures::new(report)),
        Box::new(error_groups::ErrorGroups::new(report)),
        Box::new(projection::Projection::new(report)),
        Box::new(margin::MarginFigure::new(report)),
        Box::new(budgets::BudgetFigures::new(report)),
    ]
}

/// The dashboard's figures as of `now` over the default windows or a `chosen` range, from
/// the running totals.
pub async fn load(
    db: &Db,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    chosen: Option<&DateRange>,
) -> Result<DashboardStats, sqlx::Error> {
    load_from(db, Source::Totals, settings, now, chosen).await
}

/// The dashboard's figures as of `now` over the default windows or a `chosen` range,
/// computed from `source`.
pub async fn load_from(
    db: &Db,
    source: Source,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    chosen: Option<&DateRange>,
) -> Result<DashboardStats, sqlx::Error> {
    // Times are stored to the microsecond; `now` need not be finer.
    let now = now.trunc_subsecs(6);
    let report = Report {
        now,
        windows: Windows::chosen(now, settings.time_zone, chosen),
        settings,
    };
    let mut figures = figures(&report);
    statement::run(db, source, &mut figures).await?;
    Ok(finished(figures, blank(&report, chosen)))
}

/// `stats` with every figure's fields written, those that read others' fields last.
fn finished(mut figures: Vec<Box<dyn Figure>>, mut stats: DashboardStats) -> DashboardStats {
    figures.sort_by_key(|figure| figure.finishes());
    for figure in figures {
        figure.finish(&mut stats);
    }
    stats
}

/// Each figure's name and how long its statement took alone, as of `now` over the default
/// windows or a `chosen` range: the benchmark's breakdown of [`load`].
pub async fn time_each(
    db: &Db,
    source: Source,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    chosen: Option<&DateRange>,
) -> Result<Vec<(&'static str, std::time::Duration)>, sqlx::Error> {
    let now = now.trunc_subsecs(6);
    let report = Report {
        now,
        windows: Windows::chosen(now, settings.time_zone, chosen),
        settings,
    };
    let mut times = Vec::new();
    for figure in figures(&report) {
        let name = figure.name();
        let started = std::time::Instant::now();
        statement::run(db, source, &mut [figure]).await?;
        times.push((name, started.elapsed()));
    }
    Ok(times)
}

/// The dashboard before any figure writes its fields.
fn blank(report: &Report, chosen: Option<&DateRange>) -> DashboardStats {
    let zone = report.settings.time_zone;
    let generated_at = in_zone(report.now, zone);
    DashboardStats {
        generated_at,
        time_zone: zone.name().to_owned(),
        range: chosen.map(|range| report.windows.today.named(range, zone)),
        today_stats: TodayStats::default(),
        month_stats: MonthStats::default(),
        success_rate: None,
        refunds_last_7_days: 0,
        user_stats: UserStats::default(),
        providers: Vec::new(),
        recent_failures: Vec::new(),
        error_groups: Vec::new(),
        reconciliation: Reconciliation::default(),
        system_health: SystemHealth {
            status: HealthStatus::Idle,
            tasks_last_24h: 0,
            failure_last_24h: 0,
            failure_rate: None,
        },
        trend: Trend {
            step: TrendStep::Day,
            bars: Vec::new(),
            end: generated_at,
        },
        margin: None,
        credit_values_unset: Vec::new(),
        budgets: Default::default(),
    }
}

#[cfg(test)]
mod tests;
