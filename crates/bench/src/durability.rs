//! `usage-monitor-bench --durability`: SQLite's `synchronous = FULL` (what the server's
//! writes use) against `NORMAL` (what the command-line import uses), on the same machine in
//! one run: the import of a file, and the ingest API's shape of writes (one transaction per
//! batch of [`API_BATCH`] events, one batch after another).

use super::{median, write_events, BenchArgs};
use chrono::Utc;
use model::event::{parse_event, Event};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use store::db::{Db, DbTimeouts, Durability};
use store::ingest::{import_lines, store_events};
use tokio::io::BufReader;

/// Events per ingest request, as a platform might send them.
const API_BATCH: usize = 100;
/// Each measurement is repeated, FULL and NORMAL in turn, and the median kept.
const ROUNDS: usize = 3;

type Error = Box<dyn std::error::Error>;

/// Events per second of each kind of write, under each durability.
struct Rates {
    durability: Durability,
    import: f64,
    api: f64,
}

pub async fn run(args: &BenchArgs) -> Result<(), Error> {
    std::fs::create_dir_all(&args.sqlite_dir)?;
    let rows = args.rows.first().copied().unwrap_or(100_000);
    let file = args.sqlite_dir.join(format!("durability-{rows}.jsonl"));
    let out = tokio::fs::File::create(&file).await?;
    let events = write_events(rows, Utc::now(), tokio::io::BufWriter::new(out)).await?;
    let text = std::fs::read_to_string(&file)?;
    let parsed: Vec<Event> = text
        .lines()
        .map(|line| parse_event(line).map_err(|e| e.0))
        .collect::<Result<_, _>>()?;
    let database = args.sqlite_dir.join("durability.db");
    let modes = [Durability::PowerLoss, Durability::ProcessCrash];
    let mut times = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    let outcome = async {
        for _ in 0..ROUNDS {
            for (durability, (import, api)) in modes.iter().zip(&mut times) {
                import.push(timed_import(&database, *durability, &file, events).await?);
                api.push(timed_batches(&database, *durability, &parsed).await?);
            }
        }
        Ok::<_, Error>(())
    }
    .await;
    remove(&database);
    std::fs::remove_file(&file)?;
    outcome?;
    let rates: Vec<Rates> = modes
        .iter()
        .zip(&times)
        .map(|(durability, (import, api))| Rates {
            durability: *durability,
            import: events as f64 / median(import).as_secs_f64(),
            api: parsed.len() as f64 / median(api).as_secs_f64(),
        })
        .collect();
    println!("{}", table(&rates, events));
    Ok(())
}

async fn fresh(database: &Path, durability: Durability) -> Result<Db, Error> {
    remove(database);
    let url = format!("sqlite://{}", database.display());
    Ok(Db::connect_with(&url, DbTimeouts::DEFAULT.unlimited_statements(), durability).await?)
}

fn remove(database: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

async fn timed_import(
    database: &Path,
    durability: Durability,
    file: &Path,
    events: u64,
) -> Result<Duration, Error> {
    let db = fresh(database, durability).await?;
    let started = Instant::now();
    let input = BufReader::with_capacity(1 << 20, tokio::fs::File::open(file).await?);
    let report = import_lines(&db, input, false).await?;
    let took = started.elapsed();
    db.close().await;
    if report.stored != events {
        return Err(format!("{events} events imported, {} stored", report.stored).into());
    }
    Ok(took)
}

async fn timed_batches(
    database: &Path,
    durability: Durability,
    events: &[Event],
) -> Result<Duration, Error> {
    let db = fresh(database, durability).await?;
    let started = Instant::now();
    let mut stored = 0;
    for batch in events.chunks(API_BATCH) {
        stored += store_events(&db, batch).await?.stored;
    }
    let took = started.elapsed();
    db.close().await;
    if stored != events.len() as u64 {
        return Err(format!("{} events sent, {stored} stored", events.len()).into());
    }
    Ok(took)
}

fn table(rates: &[Rates], events: u64) -> String {
    let mut table = format!(
        "| SQLite `synchronous` | import of {events} events | ingest in batches of {API_BATCH} |\n| --- | --- | --- |\n"
    );
    for rate in rates {
        let name = match rate.durability {
            Durability::PowerLoss => "FULL (the server)",
            Durability::ProcessCrash => "NORMAL (`import`)",
        };
        table.push_str(&format!(
            "| {name} | {:.0} events/s | {:.0} events/s |\n",
            rate.import, rate.api
        ));
    }
    table
}
