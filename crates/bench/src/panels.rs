//! Every panel besides the figures, timed as the pages ask for it: the log's pages per
//! filter, user pages, the top users over short and long ranges, the trends chart over the
//! longest range, and the CSV export's throughput. The straightforward SQL is timed beside
//! a panel where one exists.

use super::{median, ms, LOG_PAGES};
use chrono::Utc;
use model::dashboard::group_thousands;
use model::log::{LogFilter, LogQuery, PAGE_SIZE};
use model::range::{DateRange, RangeQuery, MAX_RANGE_DAYS};
use std::future::Future;
use std::time::{Duration, Instant};
use store::db::Db;
use store::figures;
use store::log;
use store::parts::Source;
use store::report::ReportSettings;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// One panel's median time, and the straightforward SQL's where one exists; or a rate.
pub struct Panel {
    pub name: String,
    pub measure: Measure,
}

pub enum Measure {
    Time {
        median: Duration,
        straightforward: Option<Duration>,
    },
    RowsPerSecond(f64),
}

/// Times `run` `samples` times after one warming run.
async fn timed<T, F, Fut>(samples: usize, mut run: F) -> BenchResult<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = BenchResult<T>>,
{
    let mut times = Vec::new();
    for sample in 0..samples + 1 {
        let started = Instant::now();
        std::hint::black_box(run().await?);
        if sample > 0 {
            times.push(started.elapsed());
        }
    }
    Ok(median(&times))
}

fn time(name: impl Into<String>, median: Duration, straightforward: Option<Duration>) -> Panel {
    let measure = Measure::Time {
        median,
        straightforward,
    };
    Panel {
        name: name.into(),
        measure,
    }
}

/// The longest range a page may choose, ending now.
pub fn longest_range() -> BenchResult<DateRange> {
    let today = Utc::now().date_naive();
    let query = RangeQuery {
        range: None,
        from: Some((today - chrono::Duration::days(MAX_RANGE_DAYS - 1)).to_string()),
        to: Some(today.to_string()),
    };
    Ok(DateRange::from_query(&query)?.ok_or("no range")?)
}

/// Every panel of a database of `rows` generations by `users` users (`u0` the heaviest).
pub async fn time_panels(
    db: &Db,
    settings: &ReportSettings,
    rows: u64,
    users: u64,
    samples: usize,
    raw_samples: usize,
) -> BenchResult<Vec<Panel>> {
    let typical = format!("u{}", users / 2);
    let mut panels = log_pages(db, settings, rows, &typical, samples).await?;
    for (name, user) in [("heaviest user", "u0"), ("typical user", typical.as_str())] {
        let median = timed(samples, || async {
            Ok(log::user(db, settings, user).await?.ok_or("no such user")?)
        })
        .await?;
        panels.push(time(format!("user page, {name}"), median, None));
    }
    let longest = longest_range()?;
    let thirty_days = DateRange::Preset(model::range::Preset::Last30Days);
    for (name, range) in [
        ("this month", None),
        ("last 30 days", Some(thirty_days)),
        ("400 days", Some(longest)),
    ] {
        let median = timed(samples, || async {
            Ok(log::top_users(db, settings, Utc::now(), range.as_ref()).await?)
        })
        .await?;
        panels.push(time(format!("top users, {name}"), median, None));
    }
    let chart = |source| async move {
        Ok(figures::load_from(db, source, settings, Utc::now(), Some(&longest)).await?)
    };
    let median = timed(samples, || chart(Source::Totals)).await?;
    let straightforward = timed(raw_samples, || chart(Source::RawRows)).await?;
    panels.push(time(
        "DashboardStats and trends, 400 days",
        median,
        Some(straightforward),
    ));
    panels.push(export_rate(db, settings).await?);
    Ok(panels)
}

/// Each of [`LOG_PAGES`].
async fn log_pages(
    db: &Db,
    settings: &ReportSettings,
    rows: u64,
    typical: &str,
    samples: usize,
) -> BenchResult<Vec<Panel>> {
    let middle = Utc::now().timestamp_micros() - super::DAYS * 86_400_000_000 / 2;
    let middle = format!("{middle}.g{}", rows / 2);
    let mut panels = Vec::new();
    for (name, query) in LOG_PAGES {
        let query = query.replace("{middle}", &middle);
        let filter = log_filter(&query.replace("{typical}", typical))?;
        let median = timed(samples, || async {
            let page = log::page(db, settings, Utc::now(), &filter, PAGE_SIZE).await?;
            // The data has no generation refunded more than it was charged: that page is
            // timed finding none.
            if page.rows.is_empty() && !name.ends_with("(none)") {
                return Err(format!("the log's {name} is empty").into());
            }
            Ok(page)
        })
        .await?;
        panels.push(time(format!("log, {name}"), median, None));
    }
    Ok(panels)
}

/// A log filter from its URL form.
fn log_filter(text: &str) -> BenchResult<LogFilter> {
    let mut query = LogQuery::default();
    for (name, value) in form_urlencoded::parse(text.as_bytes()) {
        let field = match name.as_ref() {
            "status" => &mut query.status,
            "provider" => &mut query.provider,
            "user" => &mut query.user,
            "problem" => &mut query.problem,
            "range" => &mut query.range,
            "before" => &mut query.before,
            other => return Err(format!("no log filter {other}").into()),
        };
        *field = Some(value.into_owned());
    }
    Ok(query.filter()?)
}

/// Rows per second of the generations export of the last 30 days, read as a download
/// reads them: a page at a time.
async fn export_rate(db: &Db, settings: &ReportSettings) -> BenchResult<Panel> {
    let filter = log_filter("range=30d")?;
    let started = Instant::now();
    let mut pages = log::export::ExportPages::new(filter, Utc::now());
    let mut count = 0u64;
    while let Some(rows) = pages.next(db, settings).await? {
        count += rows.len() as u64;
        std::hint::black_box(rows);
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    Ok(Panel {
        name: format!("CSV export, last 30 days ({} rows)", group_thousands(count)),
        measure: Measure::RowsPerSecond(rate),
    })
}

/// One row per panel, one column per backend and size.
pub fn table(runs: &[(&str, u64, &[Panel])]) -> String {
    let columns: Vec<_> = runs
        .iter()
        .map(|(backend, rows, _)| (*backend, *rows))
        .collect();
    let Some((_, _, first)) = runs.first() else {
        return String::new();
    };
    let rows = first.iter().enumerate().map(|(row, panel)| {
        // The export's name carries its row count, which differs by size.
        let name = panel.name.split(" (").next().unwrap_or(&panel.name);
        let cells = runs
            .iter()
            .map(|(_, _, panels)| panels.get(row).map_or(String::new(), cell));
        (name.to_owned(), cells.collect())
    });
    super::each::grid(
        "Every panel, median (the straightforward SQL's beside it where there is one):",
        "panel",
        &columns,
        rows,
    )
}

fn cell(panel: &Panel) -> String {
    match panel.measure {
        Measure::Time {
            median,
            straightforward: None,
        } => ms(median),
        Measure::Time {
            median,
            straightforward: Some(raw),
        } => format!("{} ({})", ms(median), ms(raw)),
        Measure::RowsPerSecond(rate) => format!("{} rows/s", group_thousands(rate as u64)),
    }
}
