//! `usage-monitor-bench --import-profile`: where an import's time goes. The first `--rows` generations
//! are imported into a fresh database of each backend with every index, then once more
//! without each secondary index in turn (the difference in time per event is what keeping
//! that index costs), and once without any: the floor of the rows, keys and totals alone.
//! The import with every index is also broken down by kind of statement
//! (`store::db::profile`); what the statements leave of a batch's time is the work
//! in memory.

use super::each::grid;
use super::{import, write_events, Place};
use app::config::Settings;
use chrono::Utc;
use sqlx::{AnyPool, Executor};
use std::time::Duration;
use store::db::profile::{self, Spent};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The secondary indexes an import writes, each dropped in one run.
const INDEXES: [&str; 10] = [
    "generations_created_at",
    "generations_user_id_created_at",
    "generations_provider_created_at",
    "generations_failed_created_at_group",
    "generations_failed_group_created_at",
    "generations_failed_user_created_at",
    "generations_pending_created_at",
    "user_totals_bucket_cost",
    "users_last_generation_at",
    "refunds_at",
];

/// One import: the indexes left out, its time and its statements' time.
struct Run {
    without: &'static [&'static str],
    took: Duration,
    spent: Spent,
}

pub async fn run(args: &super::BenchArgs, settings: &Settings) -> BenchResult<()> {
    let rows = *args.rows.first().ok_or("no --rows")?;
    std::fs::create_dir_all(&args.sqlite_dir)?;
    sqlx::any::install_default_drivers();
    let events_file = args.sqlite_dir.join(format!("events-{rows}.jsonl"));
    let file = tokio::fs::File::create(&events_file).await?;
    let events = write_events(rows, Utc::now(), tokio::io::BufWriter::new(file)).await?;
    let mut places = vec![("SQLite", Place::Sqlite(args.sqlite_dir.join("profile.db")))];
    if !args.postgres.is_empty() {
        let admin = AnyPool::connect(&args.postgres).await?;
        let database = "usage_monitor_bench_profile".to_owned();
        places.push(("PostgreSQL", Place::Postgres { admin, database }));
    }
    let mut columns = Vec::new();
    let outcome = async {
        for (backend, place) in &places {
            let mut runs = Vec::new();
            let each = INDEXES.iter().map(std::slice::from_ref);
            for without in std::iter::once(&[][..]).chain(each).chain([&INDEXES[..]]) {
                let db = place.connect(settings).await?;
                for index in without {
                    db.pool
                        .execute(format!("DROP INDEX {index}").as_str())
                        .await?;
                }
                profile::start();
                let took = import(backend, &db, &events_file, events).await;
                let spent = profile::take();
                db.close().await;
                place.remove().await?;
                runs.push(Run {
                    without,
                    took: took?,
                    spent,
                });
            }
            columns.push((*backend, runs));
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    std::fs::remove_file(&events_file)?;
    outcome?;
    println!("{}", index_table(&columns, events));
    println!("{}", statement_table(&columns, events));
    Ok(())
}

fn per_event(took: Duration, events: u64) -> f64 {
    took.as_secs_f64() * 1e6 / events as f64
}

/// Events per second with every index, without each and without any, and what the
/// indexes left out cost per event.
fn index_table(columns: &[(&str, Vec<Run>)], events: u64) -> String {
    let sizes: Vec<(&str, u64)> = columns.iter().map(|(b, _)| (*b, events)).collect();
    let runs = columns.first().map_or(0, |(_, runs)| runs.len());
    let rows = (0..runs).map(|row| {
        let name = match columns[0].1[row].without {
            [] => "every index".to_owned(),
            [index] => format!("without {index}"),
            _ => "without any secondary index".to_owned(),
        };
        let cells = columns.iter().map(|(_, runs)| {
            let all = per_event(runs[0].took, events);
            let run = &runs[row];
            let (rate, each) = (
                events as f64 / run.took.as_secs_f64(),
                per_event(run.took, events),
            );
            match run.without {
                [] => format!("{rate:.0}/s, {all:.2} µs an event"),
                [_] => format!("{rate:.0}/s, the index {:+.2} µs an event", all - each),
                _ => format!(
                    "{rate:.0}/s, {each:.2} µs an event; the indexes {:+.2} µs",
                    all - each
                ),
            }
        });
        (name, cells.collect())
    });
    grid(
        "Import with every index, and without each (one run each):",
        "import",
        &sizes,
        rows,
    )
}

/// The import with every index, by kind of statement: µs per event and share of the time.
fn statement_table(columns: &[(&str, Vec<Run>)], events: u64) -> String {
    let sizes: Vec<(&str, u64)> = columns.iter().map(|(b, _)| (*b, events)).collect();
    let mut kinds: Vec<String> = columns
        .iter()
        .flat_map(|(_, runs)| runs[0].spent.keys().cloned())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds.push("import, in all".to_owned());
    let rows = kinds.into_iter().map(|kind| {
        let cells = columns.iter().map(|(_, runs)| {
            let all = &runs[0];
            let (took, count) = match kind.as_str() {
                "import, in all" => (all.took, 1),
                kind => all.spent.get(kind).copied().unwrap_or_default(),
            };
            format!(
                "{:.2} µs ({:.0} %, {count}×)",
                per_event(took, events),
                100.0 * took.as_secs_f64() / all.took.as_secs_f64()
            )
        });
        let cells: Vec<String> = cells.collect();
        (kind, cells)
    });
    grid(
        "Where the import with every index spends its time, per event:",
        "statements",
        &sizes,
        rows,
    )
}
