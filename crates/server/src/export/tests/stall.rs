//! Downloads of the log that their clients never read, over real HTTP on both backends:
//! they hold nothing the rest of the server needs.

use super::super::EXPORT_PREFIX;
use crate::auth::guard::{INGEST_PATH, READY_PATH, STATS_PATH};
use crate::testing::TestServer;
use app::config::Settings;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;
use std::time::{Duration, Instant};
use store::auth::accounts::create_admin;
use store::auth::token::{self, Scope};
use store::db::testing::on_each_backend;
use store::db::Db;
use store::ingest::import_lines;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Rows of the log; each of about 1.6 KB, so that a download (16 MB) is far more than the
/// sockets' buffers hold (4 MB at most here) and a client that does not read stalls it.
pub(super) const ROWS: usize = 10_000;
/// More downloads than the read pool has connections (8).
const STALLED: usize = 12;
/// What every other request must be answered within while they stall.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery";

/// `count` failed generations with long error texts, seven to a second before `end`, so
/// that pages end among rows of the same time; ids `s00000`…, the newest first.
pub(super) fn long_rows(end: chrono::DateTime<chrono::Utc>, count: usize) -> String {
    let error = format!("upstream refused: {}", "x".repeat(1_500));
    let mut text = String::new();
    for i in 0..count {
        let at = (end - chrono::TimeDelta::seconds(i as i64 / 7 + 1)).to_rfc3339();
        let event = json!({"kind": "generation", "id": format!("s{i:05}"),
            "user_id": format!("u{}", i % 13), "provider": "Seedream", "status": "failed",
            "credits": 2, "cost_usd": "0.039", "created_at": at, "completed_at": at,
            "error": error});
        text.push_str(&format!("{event}\n"));
    }
    text
}

/// A server over `db` holding [`ROWS`] rows and an admin, with a `read` and an `ingest`
/// token.
pub(crate) async fn loaded_server(db: Db, settings: Settings) -> (TestServer, String, String) {
    let report = import_lines(&db, long_rows(chrono::Utc::now(), ROWS).as_bytes(), false)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    create_admin(&db, EMAIL, PASSWORD, false).await.unwrap();
    let read = token::create(&db, "exports", Scope::Read).await.unwrap();
    let ingest = token::create(&db, "ingest", Scope::Ingest).await.unwrap();
    (TestServer::start(db, settings).await, read, ingest)
}

/// A download of `generations.csv` whose client reads its answer's head and first bytes
/// and then nothing more (its receive buffer kept small, as a stalled client's window
/// is); its status (0 if none came within seconds), and the connection, kept open.
pub(crate) async fn stalled_download(server: &TestServer, token: &str) -> (u16, TcpStream) {
    let address = server.url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let request = format!(
        "GET {EXPORT_PREFIX}generations.csv HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0; 1024];
    // The head, and with a 200 the body's first bytes (its export has begun), or the end.
    let started = async {
        loop {
            let read = stream.read(&mut buffer).await.unwrap_or(0);
            seen.extend_from_slice(&buffer[..read]);
            let head_end = seen.windows(4).position(|w| w == b"\r\n\r\n");
            match head_end {
                _ if read == 0 => break,
                Some(end) if !seen.starts_with(b"HTTP/1.1 200") || seen.len() > end + 4 => break,
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), started).await;
    // 0: no answer yet.
    let status = (seen
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok()))
    .map_or(0, |code| code.parse().unwrap());
    (status, stream)
}

/// What the server answered and how long it took, or that it did not answer in time.
async fn timed(request: reqwest::RequestBuilder) -> Result<(StatusCode, Duration), String> {
    let started = Instant::now();
    match tokio::time::timeout(ANSWER_WITHIN, request.send()).await {
        Ok(Ok(response)) => Ok((response.status(), started.elapsed())),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {ANSWER_WITHIN:?}")),
    }
}

/// Each of the requests the rest of the server must keep answering, and what it answered.
async fn everything_else(
    server: &TestServer,
    read: &str,
    ingest: &str,
) -> Vec<(&'static str, Result<(StatusCode, Duration), String>)> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let at = chrono::Utc::now().to_rfc3339();
    let batch = json!([{"kind": "generation", "id": "fresh", "user_id": "u1",
        "provider": "Seedream", "status": "succeeded", "credits": 1, "cost_usd": "0.01",
        "created_at": at, "completed_at": at}]);
    let url = |path: &str| format!("{}{path}", server.url);
    vec![
        ("readyz", timed(http.get(url(READY_PATH))).await),
        (
            "ingest",
            timed(http.post(url(INGEST_PATH)).bearer_auth(ingest).json(&batch)).await,
        ),
        (
            "credit-stats",
            timed(http.get(url(STATS_PATH)).bearer_auth(read)).await,
        ),
        (
            "login",
            timed(
                http.post(url("/login"))
                    .form(&[("email", EMAIL), ("password", PASSWORD)]),
            )
            .await,
        ),
    ]
}

/// On SQLite, whether a checkpoint can copy every frame of the WAL back into the database
/// (no reader holds an old snapshot), after `events` more generations were written.
async fn wal_checkpoints_whole(db: &Db, events: usize) -> Result<(), String> {
    let end = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    for batch in 0..events / 500 {
        let lines: String = (0..500)
            .map(|i| {
                let at = (end - chrono::TimeDelta::seconds(i)).to_rfc3339();
                let event = json!({"kind": "generation", "id": format!("w{batch}-{i}"),
                    "user_id": "u1", "provider": "Seedream", "status": "succeeded",
                    "credits": 1, "cost_usd": "0.01", "created_at": at, "completed_at": at});
                format!("{event}\n")
            })
            .collect();
        import_lines(db, lines.as_bytes(), false).await.unwrap();
    }
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(db.writer())
        .await
        .unwrap();
    let (log, copied): (i64, i64) = (row.get(1), row.get(2));
    match log == copied {
        true => Ok(()),
        false => Err(format!(
            "the checkpoint copied {copied} of the WAL's {log} pages"
        )),
    }
}

#[tokio::test]
async fn stalled_downloads_leave_the_server_answering_and_the_wal_checkpointed() {
    on_each_backend(|db| async move {
        let (server, read, ingest) = loaded_server(db.clone(), Settings::defaults()).await;
        let mut stalled = Vec::new();
        for _ in 0..STALLED {
            stalled.push(stalled_download(&server, &read).await);
        }
        let mut failures = Vec::new();
        if db.is_sqlite() {
            if let Err(why) = wal_checkpoints_whole(&db, 3_000).await {
                failures.push(format!("WAL: {why}"));
            }
        }
        for (what, answer) in everything_else(&server, &read, &ingest).await {
            let expected = match what {
                "login" => StatusCode::SEE_OTHER,
                _ => StatusCode::OK,
            };
            match answer {
                Ok((status, _)) if status == expected => {}
                Ok((status, took)) => failures.push(format!("{what}: {status} after {took:?}")),
                Err(why) => failures.push(format!("{what}: {why}")),
            }
        }
        let statuses: Vec<u16> = stalled.iter().map(|(status, _)| *status).collect();
        assert!(failures.is_empty(), "{failures:?}; downloads: {statuses:?}");
        drop(stalled);
    })
    .await;
}

/// What a stalled client gets once it reads again: the rest of its connection, to its end.
async fn rest_of(mut stream: TcpStream) -> Vec<u8> {
    let mut rest = Vec::new();
    let reading = stream.read_to_end(&mut rest);
    // A reset (the body failed) ends it as well as a close.
    let _ = tokio::time::timeout(Duration::from_secs(10), reading).await;
    rest
}

#[tokio::test]
async fn a_stalled_download_is_dropped_after_the_deadline_and_frees_its_slot() {
    on_each_backend(|db| async move {
        let mut settings = Settings::defaults();
        settings.exports = app::config::ExportLimits {
            at_once: 1,
            send_deadline: Duration::from_secs(1),
        };
        let (server, read, _) = loaded_server(db, settings).await;
        let started = Instant::now();
        let (status, stalled) = stalled_download(&server, &read).await;
        assert_eq!(status, 200);

        // One more than may run at once: refused, with when to come back.
        let url = format!("{}{EXPORT_PREFIX}generations.csv", server.url);
        let http = reqwest::Client::new();
        let refused = http.get(&url).bearer_auth(&read).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers().contains_key(reqwest::header::RETRY_AFTER));
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["kind"], "unavailable", "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("may run at once (1)"),
            "{body}"
        );

        // The slot comes back once the stalled client has taken nothing for the deadline.
        let slot = tokio::time::timeout(Duration::from_secs(10), server.state.exports.acquire())
            .await
            .expect("the slot is freed")
            .unwrap();
        assert!(started.elapsed() >= Duration::from_secs(1));
        drop(slot);

        // A download read as it comes has every row once, newest first.
        let response = http.get(&url).bearer_auth(&read).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.bytes().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_ref());
        let ids: Vec<String> = (reader.records())
            .map(|record| record.unwrap()[0].to_owned())
            .collect();
        let expected: Vec<String> = {
            // Seven to a second; within a second the larger id first.
            let mut ids: Vec<(usize, String)> =
                (0..ROWS).map(|i| (i / 7, format!("s{i:05}"))).collect();
            ids.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            ids.into_iter().map(|(_, id)| id).collect()
        };
        assert_eq!(ids.len(), ROWS);
        assert!(ids == expected, "every row once, in the log's order");

        // The dropped download ends, short of its last chunk, once its client reads again.
        let rest = rest_of(stalled).await;
        assert!(
            rest.len() < body.len(),
            "{} of {} bytes",
            rest.len(),
            body.len()
        );
        assert!(
            !rest.ends_with(b"\r\n0\r\n\r\n"),
            "the download looks complete"
        );
    })
    .await;
}
