//! `usage-monitor-bench --memory`: this process's peak resident memory (VmHWM) before and
//! after six parallel ingest bodies of 10 MiB (three of 5 million tiny items, three of
//! about 800,000 small objects) sent to a server in this process, and after an import of
//! the first `--rows` count of lines of 100 KB each (`--rows 200000` for 20 GB), made as
//! they are read. The bodies the client holds (60 MiB) count in the first figure.

use super::BenchArgs;
use app::config::Settings;
use app::state::AppState;
use server::ingest_api::{repeated_array, MAX_BODY_BYTES};
use server::router;
use std::net::SocketAddr;
use store::auth::token::{self, Scope};
use store::db::{Db, Durability};
use store::ingest::import_lines;
use tokio::io::{AsyncWriteExt, BufReader};

type Error = Box<dyn std::error::Error>;

/// Parallel ingest bodies, and the size of an imported line's unknown field.
const BODIES: usize = 6;
const FIELD_BYTES: usize = 100_000;

/// The peak of this process's resident memory so far, in MiB.
fn peak_mib() -> Result<u64, Error> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    Ok(kib / 1024)
}

pub async fn run(args: &BenchArgs, settings: &Settings) -> Result<(), Error> {
    std::fs::create_dir_all(&args.sqlite_dir)?;
    let file = args.sqlite_dir.join("memory.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let url = format!("sqlite://{}", file.display());
    let timeouts = settings.database_timeouts.unlimited_statements();
    let db = Db::connect_with(&url, timeouts, Durability::ProcessCrash).await?;
    let outcome = async {
        ingest(&db, settings).await?;
        let lines = args.rows.first().copied().unwrap_or_default();
        import(&db, lines).await
    }
    .await;
    db.close().await;
    let _ = std::fs::remove_file(&file);
    outcome
}

async fn ingest(db: &Db, settings: &Settings) -> Result<(), Error> {
    let state = AppState::new(app::config::leptos_options()?, db.clone(), settings.clone());
    let sender = token::create(db, "bench-memory", Scope::Ingest).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/events", listener.local_addr()?);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let bodies: Vec<Vec<u8>> = (0..BODIES)
        .map(|n| match n % 2 {
            0 => repeated_array("0", MAX_BODY_BYTES),
            _ => repeated_array(r#"{"kind":"u"}"#, MAX_BODY_BYTES),
        })
        .collect();
    let before = peak_mib()?;
    let client = reqwest::Client::new();
    let answers = futures_util::future::join_all(bodies.into_iter().map(|body| {
        client
            .post(&url)
            .bearer_auth(&sender)
            .header("content-type", "application/json")
            .body(body)
            .send()
    }))
    .await;
    let after = peak_mib()?;
    server.abort();
    let statuses: Vec<u16> = answers
        .into_iter()
        .map(|answer| answer.map(|a| a.status().as_u16()))
        .collect::<Result<_, _>>()?;
    println!(
        "{BODIES} parallel bodies of {} MiB: answers {statuses:?}; peak {before} MiB before, \
         {after} MiB after ({} MiB more)",
        MAX_BODY_BYTES >> 20,
        after.saturating_sub(before)
    );
    Ok(())
}

async fn import(db: &Db, lines: u64) -> Result<(), Error> {
    let (mut write, read) = tokio::io::duplex(1 << 20);
    let writer = tokio::spawn(async move {
        let field = "x".repeat(FIELD_BYTES);
        for n in 0..lines {
            let line = format!(
                "{{\"kind\":\"user\",\"id\":\"m{n}\",\"tier\":\"free\",\"credits\":1,\"prompt\":\"{field}\"}}\n"
            );
            write.write_all(line.as_bytes()).await?;
        }
        write.shutdown().await
    });
    let before = peak_mib()?;
    let started = std::time::Instant::now();
    let report = import_lines(db, BufReader::new(read), false).await?;
    writer.await??;
    let after = peak_mib()?;
    println!(
        "import of {lines} lines of {} KB ({} stored) in {:.1} s: peak {before} MiB before, \
         {after} MiB after",
        FIELD_BYTES / 1000,
        report.stored,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
