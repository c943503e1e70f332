//! `usage-monitor-bench`: loads N synthetic generations into a fresh SQLite file and a fresh
//! PostgreSQL database per N, then times the import, `DashboardStats` from the totals, the
//! same figures by the straightforward SQL over the raw rows, and the dashboard page as
//! served. It prints one Markdown table (docs/benchmarks.md keeps the latest).

mod durability;
mod each;
mod import_profile;
mod memory;
mod panels;
mod stalled;
mod tier_change;

use app::config::Settings;
use app::state::AppState;
use chrono::{DateTime, SecondsFormat, Utc};
use model::money::Money;
use server::router;
use sqlx::{AnyPool, Executor};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use store::buckets::QUARTER;
use store::db::{Db, Durability};
use store::ingest::import_lines;
use store::parts::Source;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

// mimalloc, as in the server: the import's rate depends on the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Loads N synthetic generations into fresh databases and times import and figures.
#[derive(Debug, clap::Parser)]
#[command(name = "usage-monitor-bench", version)]
pub struct BenchArgs {
    /// Generations per run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    rows: Vec<u64>,
    /// Folder for the SQLite files (each is deleted before and after its run).
    #[arg(long, default_value = "/tmp/usage-monitor-bench")]
    sqlite_dir: PathBuf,
    /// PostgreSQL server to create the benchmark databases on (dropped afterwards); "" skips it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Timed `DashboardStats` and page requests per run.
    #[arg(long, default_value_t = 50)]
    samples: usize,
    /// Timed runs of the straightforward SQL per run (slow at millions of rows).
    #[arg(long, default_value_t = 5)]
    raw_samples: usize,
    /// Only compare SQLite's `synchronous = FULL` and `NORMAL` (imports and ingest batches
    /// of the first `--rows`).
    #[arg(long)]
    durability: bool,
    /// Only show where an import of the first `--rows` spends its time: by index (an
    /// import without each) and by kind of statement.
    #[arg(long)]
    import_profile: bool,
    /// Only time a tier change of one user with the first `--rows` generations, and the
    /// sign-ins and ingest batches sent meanwhile.
    #[arg(long)]
    tier_change: bool,
    /// Only time `/readyz`, ingest, `credit-stats` and a login while 12 downloads of the
    /// log (of the first `--rows` generations) stall, and follow SQLite's WAL meanwhile.
    #[arg(long)]
    stalled_downloads: bool,
    /// Only print the peak memory (VmHWM) around six parallel 10 MiB ingest bodies and
    /// around an import of the first `--rows` count of lines of 100 KB each.
    #[arg(long)]
    memory: bool,
}

/// Days of history the generations are spread over, ending at the start of the run.
const DAYS: i64 = 90;
/// Imports of up to this many generations take a fraction of a second, where one run says
/// more about the machine's moment than about the import: they are repeated into fresh
/// databases `SHORT_IMPORT_RUNS` times, and the median rate is reported.
const SHORT_IMPORT_ROWS: u64 = 100_000;
const SHORT_IMPORT_RUNS: usize = 5;

/// Where a benchmark database lives, to be removed afterwards.
#[derive(Clone)]
enum Place {
    Sqlite(PathBuf),
    Postgres { admin: AnyPool, database: String },
}

impl Place {
    async fn connect(&self, settings: &Settings) -> Result<Db, Box<dyn std::error::Error>> {
        let timeouts = settings.database_timeouts.unlimited_statements();
        self.remove().await?;
        let url = match self {
            Place::Sqlite(file) => format!("sqlite://{}", file.display()),
            Place::Postgres { admin, database } => {
                admin
                    .execute(format!("CREATE DATABASE {database}").as_str())
                    .await?;
                let mut url = admin.connect_options().database_url.clone();
                url.set_path(database);
                url.to_string()
            }
        };
        // As `usage-monitor import` connects.
        Ok(Db::connect_with(&url, timeouts, Durability::ProcessCrash).await?)
    }

    async fn remove(&self) -> Result<(), sqlx::Error> {
        match self {
            Place::Sqlite(file) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = file.as_os_str().to_owned();
                    name.push(suffix);
                    let _ = std::fs::remove_file(name);
                }
            }
            Place::Postgres { admin, database } => {
                let drop = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                admin.execute(drop.as_str()).await?;
            }
        }
        Ok(())
    }
}

/// One backend's database for one N, loaded, and kept until every N has been measured.
struct Loaded {
    backend: &'static str,
    rows: u64,
    events_per_second: f64,
    db: Db,
    place: Place,
}

struct Measured {
    backend: &'static str,
    rows: u64,
    events_per_second: f64,
    stats: Vec<Duration>,
    raw: Vec<Duration>,
    page: Vec<Duration>,
    /// Every panel besides the figures.
    panels: Vec<panels::Panel>,
    /// Median time of each figure alone, and of a `/metrics` scrape.
    each: Vec<each::Timed>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = <BenchArgs as clap::Parser>::parse();
    server::logging::init();
    let outcome = async {
        let server = Settings::load()?;
        // Nobody queues behind the benchmark: it may wait longer for its connection.
        let settings = Settings {
            database_timeouts: server.database_timeouts.for_command_line(),
            ..server
        };
        run(args, &settings).await
    };
    match outcome.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("usage-monitor-bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: BenchArgs, settings: &Settings) -> Result<(), Box<dyn std::error::Error>> {
    if args.durability {
        return durability::run(&args).await;
    }
    if args.import_profile {
        return import_profile::run(&args, settings).await;
    }
    if args.tier_change {
        return tier_change::run(&args, settings).await;
    }
    if args.stalled_downloads {
        return stalled::run(&args, settings).await;
    }
    if args.memory {
        return memory::run(&args, settings).await;
    }
    let leptos_options = app::config::leptos_options()?;
    let settings = &with_every_figure(settings);
    std::fs::create_dir_all(&args.sqlite_dir)?;
    sqlx::any::install_default_drivers();
    let admin = if args.postgres.is_empty() {
        None
    } else {
        Some(AnyPool::connect(&args.postgres).await?)
    };
    let mut loaded = Vec::new();
    let outcome = async {
        for &rows in &args.rows {
            load_all(rows, &args, admin.as_ref(), settings, &mut loaded).await?;
        }
        measure_all(&loaded, &args, settings, &leptos_options).await
    }
    .await;
    for database in loaded {
        database.db.close().await;
        database.place.remove().await?;
    }
    println!("{}", table(&outcome?));
    Ok(())
}

/// The settings with credit values and budgets wherever they are unset, so that margin and
/// the users over the per-user limit are computed, as on a platform that uses them.
fn with_every_figure(settings: &Settings) -> Settings {
    let mut settings = settings.clone();
    let report = &mut settings.report;
    let values = &mut report.credit_values;
    for (value, micros) in [
        (&mut values.free, 0),
        (&mut values.plus, 10_000),
        (&mut values.pro, 8_000),
    ] {
        value.get_or_insert(Money::from_micros(micros));
    }
    let budgets = &mut report.budgets;
    budgets.daily.get_or_insert(Money::from_micros(100_000_000));
    budgets
        .monthly
        .get_or_insert(Money::from_micros(3_000_000_000));
    budgets
        .per_user
        .get_or_insert(Money::from_micros(5_000_000));
    settings
}

/// Generates `rows` generations into a file (before any clock starts, so that the import
/// rate is the import's alone) and imports it into each backend.
async fn load_all(
    rows: u64,
    args: &BenchArgs,
    admin: Option<&AnyPool>,
    settings: &Settings,
    loaded: &mut Vec<Loaded>,
) -> Result<(), Box<dyn std::error::Error>> {
    let events_file = args.sqlite_dir.join(format!("events-{rows}.jsonl"));
    let file = tokio::fs::File::create(&events_file).await?;
    let events = write_events(rows, Utc::now(), tokio::io::BufWriter::new(file)).await?;
    let mut places = vec![(
        "SQLite",
        Place::Sqlite(args.sqlite_dir.join(format!("bench-{rows}.db"))),
    )];
    if let Some(admin) = admin {
        let database = format!("usage_monitor_bench_{rows}");
        let admin = admin.clone();
        places.push(("PostgreSQL", Place::Postgres { admin, database }));
    }
    let outcome = async {
        for (backend, place) in places {
            let runs = if rows <= SHORT_IMPORT_ROWS {
                SHORT_IMPORT_RUNS
            } else {
                1
            };
            let mut import_times = Vec::new();
            for run in 0..runs {
                if run > 0 {
                    // Each run imports into a fresh database; the last one is kept.
                    if let Some(previous) = loaded.pop() {
                        previous.db.close().await;
                        previous.place.remove().await?;
                    }
                }
                let db = place.connect(settings).await?;
                // In the list before the import, so that `run` removes it whatever happens.
                loaded.push(Loaded {
                    backend,
                    rows,
                    events_per_second: 0.0,
                    db,
                    place: place.clone(),
                });
                let db = &loaded[loaded.len() - 1].db;
                import_times.push(import(backend, db, &events_file, events).await?);
            }
            let last = loaded.len() - 1;
            // What autovacuum would do on PostgreSQL soon after a load (and would otherwise
            // do during the next N's import); SQLite plans better with statistics too.
            let db = &loaded[last].db;
            let settle = if db.is_sqlite() {
                "ANALYZE"
            } else {
                "VACUUM ANALYZE"
            };
            db.pool.execute(settle).await?;
            loaded[last].events_per_second = events as f64 / median(&import_times).as_secs_f64();
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    std::fs::remove_file(&events_file)?;
    outcome
}

/// Imports the file and returns how long that took.
async fn import(
    backend: &str,
    db: &Db,
    file: &Path,
    events: u64,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let input = BufReader::with_capacity(1 << 20, tokio::fs::File::open(file).await?);
    let report = import_lines(db, input, false).await?;
    let import_time = started.elapsed();
    if !report.rejected.is_empty() || report.stored != events {
        return Err(format!(
            "{backend}: {events} events sent, {} stored, first rejection {:?}",
            report.stored,
            report.rejected.first()
        )
        .into());
    }
    eprintln!(
        "bench: {backend}: {events} events imported in {:.2} s",
        import_time.as_secs_f64()
    );
    Ok(import_time)
}

/// Times every database's figures. `DashboardStats` is sampled in rounds, one load from each
/// database per round, so that the machine's slower and faster moments fall on every N
/// alike and the ratio between Ns compares like with like.
async fn measure_all(
    loaded: &[Loaded],
    args: &BenchArgs,
    settings: &Settings,
    leptos_options: &leptos::config::LeptosOptions,
) -> Result<Vec<Measured>, Box<dyn std::error::Error>> {
    let report_settings = &settings.report;
    // Warm: the first requests fill caches and prepare statements.
    for database in loaded {
        for _ in 0..3 {
            store::figures::load(&database.db, report_settings, Utc::now(), None).await?;
        }
    }
    // A rolling window's edge reads up to 7.5 minutes of raw rows, depending on where in its
    // quarter `now` falls: the samples are spread over the next quarter hour (which holds
    // no rows yet), as a dashboard's refreshes are, so that the result does not depend on
    // the minute the benchmark starts at.
    let start = Utc::now();
    let mut stats = vec![Vec::new(); loaded.len()];
    for sample in 0..args.samples {
        let now =
            start + chrono::Duration::microseconds(QUARTER * sample as i64 / args.samples as i64);
        for (database, times) in loaded.iter().zip(&mut stats) {
            let started = Instant::now();
            let fast = store::figures::load(&database.db, report_settings, now, None).await?;
            times.push(started.elapsed());
            std::hint::black_box(fast);
        }
    }
    let mut results = Vec::new();
    for (database, stats) in loaded.iter().zip(stats) {
        let (backend, db) = (database.backend, &database.db);
        let mut raw = Vec::new();
        for _ in 0..args.raw_samples + 1 {
            let started = Instant::now();
            let slow =
                store::figures::load_from(db, Source::RawRows, report_settings, Utc::now(), None)
                    .await?;
            raw.push(started.elapsed());
            std::hint::black_box(slow);
        }
        raw.remove(0); // the first one warms the cache
        let now = Utc::now();
        if store::figures::load(db, report_settings, now, None).await?
            != store::figures::load_from(db, Source::RawRows, report_settings, now, None).await?
        {
            return Err(format!("{backend}: the totals and the raw rows disagree").into());
        }
        let page = time_page(db, settings, leptos_options, args.samples).await?;
        let users = users_of(database.rows);
        let panels = panels::time_panels(
            db,
            report_settings,
            database.rows,
            users,
            args.samples,
            args.raw_samples,
        )
        .await?;
        let longest = panels::longest_range()?;
        let each = each::time_each(db, report_settings, args.samples, &longest).await?;
        results.push(Measured {
            backend,
            rows: database.rows,
            events_per_second: database.events_per_second,
            stats,
            raw,
            page,
            panels,
            each,
        });
    }
    Ok(results)
}

/// Serves the app on a free local port and times complete responses of the dashboard page,
/// compressed as a browser would ask for it.
async fn time_page(
    db: &Db,
    settings: &Settings,
    leptos_options: &leptos::config::LeptosOptions,
    samples: usize,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    // Each request computes its figures: the time of a page nobody else asked for just before.
    let settings = Settings {
        stats_max_age: Duration::ZERO,
        ..settings.clone()
    };
    let state = AppState::new(leptos_options.clone(), db.clone(), settings.clone());
    // The page is for admins: the requests carry a bench admin's session.
    let admin = "bench@example.com";
    store::auth::accounts::create_admin(db, admin, &store::auth::secret::random_secret(), true)
        .await?;
    let policy = &settings.access.session;
    let session = store::auth::session::create(db, admin, Utc::now(), policy).await?;
    let cookie = format!("{}={session}", policy.cookie_name());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let mut times = Vec::new();
    let mut outcome = Ok(());
    for sample in 0..samples + 3 {
        let started = Instant::now();
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!(
            "GET /admin/credits HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        if !response.starts_with(b"HTTP/1.1 200") {
            let head = String::from_utf8_lossy(&response[..response.len().min(200)]).into_owned();
            outcome = Err(format!("the dashboard page did not answer 200: {head}"));
            break;
        }
        if sample >= 3 {
            times.push(started.elapsed());
        }
    }
    server.abort();
    outcome?;
    Ok(times)
}

const PROVIDERS: [(&str, u32, i64, i64); 5] = [
    // name, share in percent, credits, cost in micro-dollars
    ("NanoBanana", 40, 2, 39_000),
    ("Seedream", 25, 2, 27_000),
    ("FLUX Kontext", 15, 3, 40_000),
    ("GPT Image", 12, 4, 42_000),
    ("WaveSpeed", 8, 1, 12_000),
];

/// How many users make `rows` generations: a long tail, `u0` the heaviest.
fn users_of(rows: u64) -> u64 {
    (rows / 200).max(100)
}

/// Writes the users, then `rows` generations in time order over the `DAYS` before `end`
/// (5 % failing, four in five failures refunded, those of the last minutes and the newest
/// pending) as JSON Lines; returns how many events it wrote.
async fn write_events(
    rows: u64,
    end: DateTime<Utc>,
    mut out: impl tokio::io::AsyncWrite + Unpin,
) -> std::io::Result<u64> {
    let mut rng = fastrand::Rng::with_seed(4);
    let users = users_of(rows);
    let mut text = String::with_capacity(1 << 22);
    let mut events = 0;
    for id in 0..users {
        let tier = ["free", "free", "free", "plus", "pro"][rng.usize(..5)];
        let credits = rng.u32(..500);
        let _ = writeln!(
            text,
            r#"{{"kind":"user","id":"u{id}","tier":"{tier}","credits":{credits}}}"#
        );
        events += 1;
    }
    let end_micros = end.timestamp_micros();
    let span = DAYS * 86_400_000_000;
    let step = span / rows as i64;
    for n in 0..rows {
        let created_at = end_micros - span + n as i64 * step + rng.i64(0..step.max(1));
        // Heavy users make most generations: user ids skewed toward 0.
        let user = (users as f64 * rng.f64().powi(2)) as u64;
        let mut pick = rng.u32(..100);
        let &(provider, _, credits, cost) = PROVIDERS
            .iter()
            .find(|(_, share, _, _)| {
                let hit = pick < *share;
                pick = pick.saturating_sub(*share);
                hit
            })
            .unwrap_or(&PROVIDERS[0]);
        // The newest one pending too: at 10 k rows the last two minutes may hold none.
        let status = if end_micros - created_at < 120_000_000 || n + 1 == rows {
            "pending"
        } else if rng.u32(..100) < 5 {
            "failed"
        } else {
            "succeeded"
        };
        let created = timestamp(created_at);
        let _ = write!(
            text,
            r#"{{"kind":"generation","id":"g{n}","user_id":"u{user}","provider":"{provider}","status":"{status}","credits":{credits},"cost_usd":"0.{cost:06}","created_at":"{created}""#
        );
        if status == "failed" {
            text.push_str(r#","error":"Provider rate limit exceeded (HTTP 429)"}"#);
            text.push('\n');
            if rng.u32(..5) < 4 {
                let at = timestamp(created_at + 60_000_000);
                let _ = writeln!(
                    text,
                    r#"{{"kind":"refund","generation_id":"g{n}","credits":{credits},"at":"{at}"}}"#
                );
                events += 1;
            }
        } else {
            text.push_str("}\n");
        }
        events += 1;
        if text.len() >= 1 << 22 {
            out.write_all(text.as_bytes()).await?;
            text.clear();
        }
    }
    out.write_all(text.as_bytes()).await?;
    out.shutdown().await?;
    Ok(events)
}

fn timestamp(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn median(times: &[Duration]) -> Duration {
    percentile(times, 50)
}

fn percentile(times: &[Duration], percent: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted
        .get((sorted.len().saturating_sub(1) * percent).div_ceil(100))
        .copied()
        .unwrap_or_default()
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

/// The log's pages the benchmark times: a name, and the query from `write_events`' data
/// (`{middle}` is a cursor halfway through the rows, as after paging through half of them;
/// `{typical}` a user halfway down the long tail).
const LOG_PAGES: [(&str, &str); 16] = [
    ("first page", ""),
    ("halfway", "before={middle}"),
    ("succeeded", "status=succeeded"),
    ("pending", "status=pending"),
    ("failed, halfway", "status=failed&before={middle}"),
    ("rarest provider", "provider=WaveSpeed"),
    (
        "rarest provider, halfway",
        "provider=WaveSpeed&before={middle}",
    ),
    ("heaviest user", "user=u0"),
    ("heaviest user, halfway", "user=u0&before={middle}"),
    ("heaviest user, failed", "user=u0&status=failed"),
    ("typical user", "user={typical}"),
    (
        "typical user, commonest provider",
        "user={typical}&provider=NanoBanana",
    ),
    ("failed, not refunded", "problem=unrefunded"),
    ("refunded more than charged (none)", "problem=over-refunded"),
    ("last 30 days, failed", "range=30d&status=failed"),
    (
        "last 30 days, rarest provider, failed",
        "range=30d&provider=WaveSpeed&status=failed",
    ),
];

fn table(results: &[Measured]) -> String {
    let mut out = String::from(
        "| backend | generations | import (events/s) | DashboardStats median | p95 | straightforward SQL median | ratio | page median |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in results {
        let (fast, raw) = (median(&r.stats), median(&r.raw));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.0}× | {} |",
            r.backend,
            model::dashboard::group_thousands(r.rows),
            model::dashboard::group_thousands(r.events_per_second as u64),
            ms(fast),
            ms(percentile(&r.stats, 95)),
            ms(raw),
            raw.as_secs_f64() / fast.as_secs_f64(),
            ms(median(&r.page)),
        );
    }
    let runs: Vec<_> = results
        .iter()
        .map(|r| (r.backend, r.rows, r.panels.as_slice()))
        .collect();
    out.push_str(&panels::table(&runs));
    let runs: Vec<_> = results
        .iter()
        .map(|r| (r.backend, r.rows, r.each.as_slice()))
        .collect();
    out.push_str(&each::table(&runs));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_from_the_sorted_samples() {
        let times: Vec<Duration> = [5, 1, 4, 2, 3].map(Duration::from_millis).to_vec();
        assert_eq!(median(&times), Duration::from_millis(3));
        assert_eq!(percentile(&times, 95), Duration::from_millis(5));
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
