//! Two and three real server processes on one database (a SQLite file, a PostgreSQL
//! database) watch the health every second and post to one webhook receiver: healthy data,
//! then failures sent through the API. Each run must give exactly one post, critical (was
//! healthy), and never a false "back to healthy" from figures computed before the change.
#![cfg(feature = "ssr")]

mod common;

use common::{array, generations, post_events, Backend, Database, Server};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RUNS: usize = 20;
/// After the first post, how long the test listens for a second one: well over two checks
/// and the figures' shared age (1 s each).
const LISTEN_AFTER: Duration = Duration::from_millis(3_000);

/// A webhook receiver on a loopback port: every body posted to it, answered 200.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook/secret", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let keep = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                if let Some(body) = request_body(&mut stream) {
                    keep.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Receiver { url, bodies }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

/// The body of one HTTP request, by its `Content-Length`.
fn request_body(stream: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..read]);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse().ok())?;
        if bytes.len() >= end + 4 + length {
            return Some(bytes[end + 4..end + 4 + length].to_vec());
        }
    }
}

/// Waits until `done` holds, at most `limit`; else fails with the servers' logs.
fn wait_for(limit: Duration, what: &str, logs: &[PathBuf], mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            let logs: Vec<_> = logs
                .iter()
                .map(|log| std::fs::read_to_string(log).unwrap_or_default())
                .collect();
            panic!("{what} did not happen in {limit:?}; the servers' logs: {logs:#?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn recorded_health(db_url: &str) -> Option<String> {
    common::query_texts(
        db_url,
        "SELECT status FROM alert_state WHERE name = 'health'",
    )
    .pop()
}

/// One run on a fresh database: the posts the receiver got.
fn run(backend: Backend, servers: usize) -> Vec<Value> {
    let database = Database::new(backend);
    let token = common::ingest_token(&database.url);
    let receiver = Receiver::start();
    let env = [
        ("USAGE_MONITOR_ALERT_WEBHOOKS", receiver.url.as_str()),
        ("USAGE_MONITOR_ALERT_CHECK_SECONDS", "1"),
    ];
    let logs: Vec<_> = (0..servers)
        .map(|i| database.log(&format!("{i}.log")))
        .collect();
    let mut servers: Vec<_> = logs
        .iter()
        .map(|log| common::start(&database.url, &env, log))
        .collect();
    servers.iter_mut().for_each(Server::wait_until_up);
    let send = |port: u16, events: &[String]| {
        let (status, body) = post_events(port, &token, &array(events)).unwrap();
        assert_eq!(status, 200, "{body}");
    };
    send(servers[0].port, &generations("ok", 40, "succeeded", 30));
    wait_for(Duration::from_secs(10), "a healthy record", &logs, || {
        recorded_health(&database.url).as_deref() == Some("healthy")
    });
    send(
        servers[servers.len() - 1].port,
        &generations("bad", 40, "failed", 20),
    );
    wait_for(Duration::from_secs(10), "a post", &logs, || {
        !receiver.bodies().is_empty()
    });
    std::thread::sleep(LISTEN_AFTER);
    let bodies = receiver.bodies();
    drop(servers);
    bodies
}

fn runs(backend: Backend, servers: usize) {
    let started = Instant::now();
    for number in 0..RUNS {
        let bodies = run(backend, servers);
        let changes: Vec<_> = bodies
            .iter()
            .map(|b| (b["previous"].clone(), b["status"].clone()))
            .collect();
        assert_eq!(
            changes,
            [(Value::from("healthy"), Value::from("critical"))],
            "{backend:?}, {servers} servers, run {number}: {bodies:#?}"
        );
        assert_eq!(bodies[0]["failureLast24h"], 40);
        assert_eq!(bodies[0]["tasksLast24h"], 80);
    }
    eprintln!(
        "{backend:?}, {servers} servers: {RUNS} runs, one post each, in {:?}",
        started.elapsed()
    );
}

#[test]
fn two_servers_on_one_sqlite_file_post_each_change_once() {
    runs(Backend::Sqlite, 2);
}

#[test]
fn three_servers_on_one_sqlite_file_post_each_change_once() {
    runs(Backend::Sqlite, 3);
}

#[test]
fn two_servers_on_one_postgres_database_post_each_change_once() {
    runs(Backend::Postgres, 2);
}

#[test]
fn three_servers_on_one_postgres_database_post_each_change_once() {
    runs(Backend::Postgres, 3);
}
