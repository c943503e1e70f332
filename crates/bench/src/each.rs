//! The breakdown of the figures: each figure's statement alone, and a `/metrics` scrape's
//! reads and text, so that a slow panel shows by name.

use super::{median, ms};
use chrono::Utc;
use model::dashboard::group_thousands;
use model::range::DateRange;
use server::metrics::exposition;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use store::all_time;
use store::db::Db;
use store::figures;
use store::parts::Source;
use store::report::ReportSettings;

/// What a `/metrics` scrape adds to the shared figures.
const METRICS: &str = "/metrics (all-time totals and text)";

/// A name and its median time.
pub type Timed = (String, Duration);

/// Median time of each figure alone, over the default windows and then over the longest
/// range, then of a `/metrics` scrape's own work.
pub async fn time_each(
    db: &Db,
    settings: &ReportSettings,
    samples: usize,
    longest: &DateRange,
) -> Result<Vec<Timed>, Box<dyn std::error::Error>> {
    let mut times = Vec::new();
    for (over, chosen) in [("", None), (", 400 days", Some(longest))] {
        let mut each_time: Vec<(String, Vec<Duration>)> = Vec::new();
        for sample in 0..samples + 1 {
            let each = figures::time_each(db, Source::Totals, settings, Utc::now(), chosen).await?;
            if sample == 0 {
                each_time = each
                    .iter()
                    .map(|(name, _)| (format!("{name}{over}"), Vec::new()))
                    .collect();
                continue;
            }
            for ((_, samples), (_, time)) in each_time.iter_mut().zip(each) {
                samples.push(time);
            }
        }
        times.extend(each_time);
    }
    let stats = figures::load(db, settings, Utc::now(), None).await?;
    let mut scrapes = Vec::new();
    for sample in 0..samples + 1 {
        let started = Instant::now();
        let all_time = all_time::load(db, Source::Totals).await?;
        let text = exposition(&stats, &all_time, Utc::now())?;
        if sample > 0 {
            scrapes.push(started.elapsed());
        }
        std::hint::black_box(text);
    }
    times.push((METRICS.to_owned(), scrapes));
    Ok(times
        .into_iter()
        .map(|(name, samples)| (name, median(&samples)))
        .collect())
}

/// One row per figure, one column per backend and size.
pub fn table(runs: &[(&str, u64, &[Timed])]) -> String {
    let columns: Vec<_> = runs
        .iter()
        .map(|(backend, rows, _)| (*backend, *rows))
        .collect();
    let Some((_, _, first)) = runs.first() else {
        return String::new();
    };
    let rows = first.iter().enumerate().map(|(row, (name, _))| {
        let cells = runs
            .iter()
            .map(|(_, _, times)| times.get(row).map_or(String::new(), |(_, t)| ms(*t)));
        (name.to_string(), cells.collect())
    });
    grid(
        "Each figure's statement alone, and a `/metrics` scrape, median:",
        "figure",
        &columns,
        rows,
    )
}

/// A Markdown table after its title: one column per backend and size, a row per name.
pub fn grid(
    title: &str,
    what: &str,
    columns: &[(&str, u64)],
    rows: impl Iterator<Item = (String, Vec<String>)>,
) -> String {
    let mut out = format!("\n{title}\n\n| {what} |");
    for (backend, size) in columns {
        let _ = write!(out, " {backend} {} |", group_thousands(*size));
    }
    out.push_str("\n| --- |");
    out.push_str(&" ---: |".repeat(columns.len()));
    out.push('\n');
    for (name, cells) in rows {
        let _ = write!(out, "| {name} |");
        for cell in cells {
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}
