//! `usage-monitor-bench --stalled-downloads`: on a log of the first `--rows` generations
//! (200,000 by default), [`STALLED`] downloads of `generations.csv` are opened and never
//! read; meanwhile `/readyz`, an ingest batch, `credit-stats` and a login are timed over
//! HTTP; on SQLite the WAL's size is followed while [`INGESTED`] events are ingested, and
//! a checkpoint then says whether it could copy the whole WAL back (no reader pins it).

use super::{import, median, ms, write_events, BenchArgs, Place};
use app::config::Settings;
use app::state::AppState;
use chrono::Utc;
use server::auth::guard::{INGEST_PATH, READY_PATH, STATS_PATH};
use server::export::EXPORT_PREFIX;
use server::router;
use sqlx::{AnyPool, Row};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use store::auth::token::{self, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error>;

/// Downloads opened and never read: more than the read pool's 8 connections.
const STALLED: usize = 12;
/// Timed requests of each kind.
const SAMPLES: usize = 5;
/// Events ingested (in batches of [`BATCH`]) while the downloads stall.
const INGESTED: usize = 50_000;
const BATCH: usize = 1_000;
const EMAIL: &str = "bench@example.com";

pub async fn run(args: &BenchArgs, settings: &Settings) -> Result<(), Error> {
    let leptos_options = app::config::leptos_options()?;
    std::fs::create_dir_all(&args.sqlite_dir)?;
    sqlx::any::install_default_drivers();
    let rows = args.rows.first().copied().unwrap_or(200_000);
    let file = args.sqlite_dir.join(format!("stalled-{rows}.jsonl"));
    let out = tokio::fs::File::create(&file).await?;
    let events = write_events(rows, Utc::now(), tokio::io::BufWriter::new(out)).await?;
    let mut places = vec![("SQLite", Place::Sqlite(args.sqlite_dir.join("stalled.db")))];
    if !args.postgres.is_empty() {
        let admin = AnyPool::connect(&args.postgres).await?;
        let database = "usage_monitor_bench_stalled".to_owned();
        places.push(("PostgreSQL", Place::Postgres { admin, database }));
    }
    println!(
        "| backend | request | answers | median | slowest |\n| --- | --- | --- | ---: | ---: |"
    );
    let outcome = async {
        for (backend, place) in &places {
            let db = place.connect(settings).await?;
            import(backend, &db, &file, events).await?;
            let state = AppState::new(leptos_options.clone(), db.clone(), settings.clone());
            let measured = measure(backend, state, place).await;
            db.close().await;
            measured?;
        }
        Ok::<_, Error>(())
    }
    .await;
    for (_, place) in &places {
        place.remove().await?;
    }
    std::fs::remove_file(&file)?;
    outcome
}

/// Serves `state`, stalls the downloads and prints the timed requests' line.
async fn measure(backend: &str, state: AppState, place: &Place) -> Result<(), Error> {
    let db = state.db.clone();
    let password = store::auth::secret::random_secret();
    store::auth::accounts::create_admin(&db, EMAIL, &password, true).await?;
    let read = token::create(&db, "bench-read", Scope::Read).await?;
    let ingest = token::create(&db, "bench-ingest", Scope::Ingest).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        stalled.push(stalled_download(address, &read).await?);
    }
    let accepted = stalled.iter().filter(|(status, _)| status == "200").count();
    println!("| {backend} | {STALLED} stalled downloads | {accepted} × 200, the others 503 | | |");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = |path: &str| format!("http://{address}{path}");
    for what in ["/readyz", "ingest", "credit-stats", "login"] {
        let mut times = Vec::new();
        let mut statuses = Vec::new();
        for sample in 0..SAMPLES {
            let request = match what {
                "/readyz" => http.get(url(READY_PATH)),
                "ingest" => (http.post(url(INGEST_PATH)).bearer_auth(&ingest))
                    .json(&batch(&format!("t{sample}"), 100)),
                "credit-stats" => http.get(url(STATS_PATH)).bearer_auth(&read),
                _ => http
                    .post(url("/login"))
                    .form(&[("email", EMAIL), ("password", password.as_str())]),
            };
            let started = Instant::now();
            let status = request.send().await?.status();
            times.push(started.elapsed());
            statuses.push(status.as_u16());
        }
        statuses.dedup();
        let slowest = times.iter().max().copied().unwrap_or_default();
        let line = format!("{:?}", statuses);
        println!(
            "| {backend} | {what} | {line} | {} | {} |",
            ms(median(&times)),
            ms(slowest)
        );
    }
    if let Place::Sqlite(file) = place {
        wal_while_ingesting(&http, &url(INGEST_PATH), &ingest, file).await?;
        // Whether the stalled downloads keep a snapshot that would stop the WAL's reuse.
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(db.writer())
            .await?;
        let (log, copied): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
        println!(
            "| SQLite | a checkpoint meanwhile | copies {copied} of the WAL's {log} pages | | |"
        );
    }
    drop(stalled);
    server.abort();
    Ok(())
}

/// Ingests [`INGESTED`] events over HTTP and prints the WAL's largest size meanwhile.
async fn wal_while_ingesting(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    database: &std::path::Path,
) -> Result<(), Error> {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let (before, mut largest) = (size(), 0);
    let started = Instant::now();
    for round in 0..INGESTED / BATCH {
        let response = (http.post(url).bearer_auth(token))
            .json(&batch(&format!("w{round}"), BATCH))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("ingest answered {}", response.status()).into());
        }
        largest = largest.max(size());
    }
    println!(
        "| SQLite | WAL while {INGESTED} events are ingested ({:.1} s) | {:.1} MiB before, {:.1} MiB at most | | |",
        started.elapsed().as_secs_f64(),
        before as f64 / (1 << 20) as f64,
        largest as f64 / (1 << 20) as f64
    );
    Ok(())
}

/// `count` fresh generations with ids starting `prefix`.
fn batch(prefix: &str, count: usize) -> serde_json::Value {
    let at = Utc::now().to_rfc3339();
    (0..count)
        .map(|i| {
            serde_json::json!({"kind": "generation", "id": format!("{prefix}-{i}"),
                "user_id": format!("u{}", i % 50), "provider": "Seedream", "status": "succeeded",
                "credits": 1, "cost_usd": "0.01", "created_at": at, "completed_at": at})
        })
        .collect()
}

/// A download whose client reads the head and a little more, then nothing (a small
/// receive buffer, as a stalled client's window is); its status code and connection.
async fn stalled_download(address: SocketAddr, token: &str) -> Result<(String, TcpStream), Error> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let mut stream = socket.connect(address).await?;
    let request = format!(
        "GET {EXPORT_PREFIX}generations.csv HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head)).await;
    let read = read.map_or(0, |read| read.unwrap_or(0));
    let status = String::from_utf8_lossy(head.get(9..12.min(read)).unwrap_or_default());
    Ok((status.into_owned(), stream))
}
