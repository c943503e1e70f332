//! The `usage-monitor` command: serve the dashboard (the default), import events, fill a
//! database with demo data, print the figures, and manage admins and API tokens.

use crate::progress::{Done, Reporter, Step, LINE_EVERY};
use app::config::Settings;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use model::range::{DateRange, RangeQuery};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use store::auth::{accounts, token};
use store::db::{Db, Durability};
use store::figures as query;
use store::ingest::{import_lines_telling, ImportError, Report};
use store::totals::RebuildStep;
use tokio::io::{AsyncBufRead, BufReader};

#[derive(Debug, Parser)]
#[command(
    name = "usage-monitor",
    version,
    about = "Usage & Cost Monitoring for an AI generation platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard (the default).
    Serve,
    /// Import events from a JSON Lines file ("-" reads standard input).
    Import {
        file: PathBuf,
        /// Store nothing if any line is bad.
        #[arg(long)]
        strict: bool,
    },
    /// Fill the database with realistic demo data, relative to now.
    Demo {
        /// Do nothing if the database already holds generations.
        #[arg(long)]
        if_empty: bool,
    },
    /// Print the dashboard's figures.
    Stats {
        /// As the JSON of GET /api/admin/credit-stats.
        #[arg(long)]
        json: bool,
        /// The figures as of this instant (RFC 3339) instead of now, e.g. to check a past day.
        #[arg(long, value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
        /// A preset range in place of the default windows: today, 24h, 7d, 30d, this-month
        /// or last-month.
        #[arg(long)]
        range: Option<String>,
        /// A custom range's first day (YYYY-MM-DD) or local time (YYYY-MM-DDTHH:MM), with --to.
        #[arg(long)]
        from: Option<String>,
        /// A custom range's last day (included) or local time (excluded).
        #[arg(long)]
        to: Option<String>,
    },
    /// Create an admin. The password is read from standard input (its first line), or
    /// generated with --generate-password and printed once.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        generate_password: bool,
        /// Set a new password for an existing admin (ending its sessions).
        #[arg(long)]
        replace: bool,
    },
    /// Create an API token and print it (only this once).
    CreateToken {
        #[arg(long)]
        name: String,
        /// ingest: may POST /api/v1/events; read: may GET /api/admin/credit-stats and the CSV
        /// exports (/api/admin/export/).
        #[arg(long, value_parser = ["ingest", "read"])]
        scope: String,
    },
    /// List API tokens (names, scopes and dates; never the tokens).
    ListTokens,
    /// Revoke an API token by name, at once.
    RevokeToken { name: String },
    /// Recompute the running totals from the raw rows (says whether they were exact).
    RebuildTotals,
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init();
    match execute(cli.command.unwrap_or(Command::Serve)).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("usage-monitor: {error}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error>;

async fn execute(command: Command) -> Result<ExitCode, Error> {
    let server = Settings::load()?;
    // Nobody queues behind a command-line job: it may wait longer for its connection.
    let settings = Settings {
        database_timeouts: server.database_timeouts.for_command_line(),
        ..server.clone()
    };
    match command {
        Command::Serve => crate::serve(server).await.map(|()| ExitCode::SUCCESS),
        Command::Import { file, strict } => import(&settings, &file, strict).await,
        Command::Demo { if_empty } => demo(&settings, if_empty).await,
        Command::Stats {
            json,
            now,
            range,
            from,
            to,
        } => print_stats(&settings, json, now, RangeQuery { range, from, to }).await,
        Command::CreateAdmin {
            email,
            generate_password,
            replace,
        } => create_admin(&settings, &email, generate_password, replace).await,
        Command::CreateToken { name, scope } => create_token(&settings, &name, &scope).await,
        Command::ListTokens => list_tokens(&settings).await,
        Command::RevokeToken { name } => revoke_token(&settings, &name).await,
        Command::RebuildTotals => rebuild_totals(&settings).await,
    }
}

/// `import FILE [--strict]`: fails if any line was rejected.
async fn import(settings: &Settings, file: &Path, strict: bool) -> Result<ExitCode, Error> {
    // The file can be imported again: a power loss may cost its last commits.
    let db = store::open::open_with(
        &settings.database_url,
        settings.database_timeouts.unlimited_statements(),
        Durability::ProcessCrash,
    )
    .await?;
    let report = if file.as_os_str() == "-" {
        import_telling(&db, BufReader::new(tokio::io::stdin()), strict, None).await?
    } else {
        let input = tokio::fs::File::open(file)
            .await
            .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
        let size = input.metadata().await.ok().map(|file| file.len());
        import_telling(&db, BufReader::new(input), strict, size).await?
    };
    print_report(&report);
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Imports `input` (of `size` bytes, when known), showing how far it has come on standard
/// error.
async fn import_telling<R: AsyncBufRead + Unpin>(
    db: &Db,
    input: R,
    strict: bool,
    size: Option<u64>,
) -> Result<Report, ImportError> {
    let stderr = std::io::stderr();
    let on_terminal = stderr.is_terminal();
    let mut progress = Reporter::new(stderr, on_terminal, "importing", size, Instant::now());
    let tell = |done: store::ingest::Progress| {
        let done = Done {
            lines: done.lines,
            bytes: done.bytes,
            events: done.events,
            step: None,
        };
        progress.tell(done, Instant::now());
    };
    let report = import_lines_telling(db, input, strict, tell).await;
    progress.finish();
    report
}

/// Runs `job`, telling on standard error every few seconds that it is still `doing` it.
async fn telling_time<T>(doing: &'static str, job: impl std::future::Future<Output = T>) -> T {
    telling(doing, job, Done::default).await
}

/// Runs `job`, telling on standard error every few seconds what `done` says it has done.
async fn telling<T>(
    doing: &'static str,
    job: impl std::future::Future<Output = T>,
    done: impl Fn() -> Done,
) -> T {
    let stderr = std::io::stderr();
    let on_terminal = stderr.is_terminal();
    let started = Instant::now();
    let mut progress = Reporter::new(stderr, on_terminal, doing, None, started);
    let every = match on_terminal {
        true => Duration::from_secs(1),
        false => LINE_EVERY,
    };
    // Ticks counted from the reporter's start, so that each one is due.
    let first = tokio::time::Instant::from_std(started) + every;
    let mut ticks = tokio::time::interval_at(first, every);
    tokio::pin!(job);
    let output = loop {
        tokio::select! {
            output = &mut job => break output,
            tick = ticks.tick() => progress.tell(done(), tick.into_std()),
        }
    };
    progress.finish();
    output
}

/// `demo [--if-empty]`
async fn demo(settings: &Settings, if_empty: bool) -> Result<ExitCode, Error> {
    let db = store::open::open(
        &settings.database_url,
        settings.database_timeouts.unlimited_statements(),
    )
    .await?;
    if if_empty && store::demo::has_generations(&db).await? {
        eprintln!("usage-monitor: the database already has data; no demo data added");
        return Ok(ExitCode::SUCCESS);
    }
    let report = store::demo::fill(&db, Utc::now(), settings.report.time_zone).await?;
    eprintln!("usage-monitor: demo data stored ({} events)", report.stored);
    Ok(ExitCode::SUCCESS)
}

/// `stats [--json] [--now T] [--range R | --from A --to B]`
async fn print_stats(
    settings: &Settings,
    json: bool,
    now: Option<DateTime<Utc>>,
    range: RangeQuery,
) -> Result<ExitCode, Error> {
    let range = DateRange::from_query(&range)?;
    let db = store::open::open(&settings.database_url, settings.database_timeouts).await?;
    let now = now.unwrap_or_else(Utc::now);
    let stats = query::load(&db, &settings.report, now, range.as_ref()).await?;
    if json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        println!("{}", model::format::summary(&stats));
    }
    Ok(ExitCode::SUCCESS)
}

/// `create-token --name N --scope S`: prints the token, only this once.
async fn create_token(settings: &Settings, name: &str, scope: &str) -> Result<ExitCode, Error> {
    let db = store::open::open(&settings.database_url, settings.database_timeouts).await?;
    let scope = token::Scope::parse(scope).ok_or("scope must be ingest or read")?;
    let created = token::create(&db, name, scope).await?;
    tracing::info!(target: "audit", action = "token_created", name = %name.trim(), scope = scope.as_str(), address = "command line");
    println!("{created}");
    eprintln!(
        "usage-monitor: token {:?} ({}) created; it is printed above, only this once",
        name.trim(),
        scope.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// `list-tokens`: names, scopes and dates; never the tokens.
async fn list_tokens(settings: &Settings) -> Result<ExitCode, Error> {
    let db = store::open::open(&settings.database_url, settings.database_timeouts).await?;
    let day = |t: Option<DateTime<Utc>>| {
        t.map_or("-".to_owned(), |t| {
            t.format("%Y-%m-%d %H:%M UTC").to_string()
        })
    };
    println!(
        "NAME                     SCOPE   CREATED               LAST USED             REVOKED"
    );
    for t in token::list(&db).await? {
        println!(
            "{:<24} {:<7} {:<21} {:<21} {}",
            t.name,
            t.scope.as_str(),
            day(Some(t.created_at)),
            day(t.last_used_at),
            day(t.revoked_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `revoke-token NAME`
async fn revoke_token(settings: &Settings, name: &str) -> Result<ExitCode, Error> {
    let db = store::open::open(&settings.database_url, settings.database_timeouts).await?;
    token::revoke(&db, name).await?;
    tracing::info!(target: "audit", action = "token_revoked", %name, address = "command line");
    eprintln!("usage-monitor: token {name:?} revoked");
    Ok(ExitCode::SUCCESS)
}

/// `rebuild-totals`: says whether the totals were exact.
async fn rebuild_totals(settings: &Settings) -> Result<ExitCode, Error> {
    let db = store::open::open(
        &settings.database_url,
        settings.database_timeouts.unlimited_statements(),
    )
    .await?;
    let regrouping = store::error_groups::recompute(&db);
    let regrouped = telling_time("recomputing the error groups", regrouping).await?;
    eprintln!("usage-monitor: error groups recomputed; {regrouped} generations changed");
    let (running, statement) = tokio::sync::watch::channel(None);
    let rebuilding = store::totals::rebuild_telling(&db, |step| {
        running.send_replace(Some(step));
    });
    let done = || Done {
        step: statement.borrow().clone().map(|step: RebuildStep| Step {
            number: step.number,
            of: step.of,
            what: step.what,
        }),
        ..Done::default()
    };
    let rebuilt = telling("rebuilding the totals", rebuilding, done).await?;
    eprintln!(
        "usage-monitor: totals rebuilt from the raw rows; {}",
        if rebuilt.were_exact {
            "they were already exact"
        } else {
            "they had drifted and are now corrected"
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn create_admin(
    settings: &Settings,
    email: &str,
    generate_password: bool,
    replace: bool,
) -> Result<ExitCode, Error> {
    let password = if generate_password {
        store::auth::secret::random_secret()
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let db = store::open::open(&settings.database_url, settings.database_timeouts).await?;
    let email = accounts::create_admin(&db, email, &password, replace).await?;
    tracing::info!(target: "audit", action = if replace { "admin_password_set" } else { "admin_created" }, %email, address = "command line");
    if generate_password {
        println!("{password}");
        eprintln!(
            "usage-monitor: admin {email} created; its password is printed above, only this once"
        );
    } else {
        eprintln!(
            "usage-monitor: admin {email} {}",
            if replace {
                "has a new password"
            } else {
                "created"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 timestamp with an offset ({e})"))
}

fn print_report(report: &Report) {
    for rejection in &report.rejected {
        eprintln!("line {}: {}", rejection.line, rejection.reason);
    }
    if report.committed {
        eprintln!(
            "usage-monitor: {} events stored, {} unchanged, {} lines rejected",
            report.stored,
            report.unchanged,
            report.rejected.len()
        );
    } else {
        eprintln!(
            "usage-monitor: nothing stored (--strict): {} lines rejected",
            report.rejected.len()
        );
    }
}
