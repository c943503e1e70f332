//! SIGTERM to the real server process (the built binary, on a SQLite file of its own):
//! requests in flight are finished, new connections refused, idle keep-alive connections
//! closed, every batch is stored whole or not at all, and a client that never finishes
//! cannot keep the process up past its grace period.

mod common;

use common::{array, assert_totals_exact, generations, ingest_token, stats, Backend, Database};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// `usage-monitor serve` with a grace period of `grace_seconds`, answering.
fn serve(database: &Database, grace_seconds: u64) -> common::Server {
    let grace = grace_seconds.to_string();
    let env = [("USAGE_MONITOR_SHUTDOWN_GRACE_SECONDS", grace.as_str())];
    common::serve(&database.url, &env, &database.log("serve.log"))
}

/// Waits for the process to exit, at most `limit`.
fn exit_within(server: &mut common::Server, limit: Duration) -> (ExitStatus, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = server.process.try_wait().unwrap() {
            return (status, started.elapsed());
        }
        if started.elapsed() > limit {
            panic!("the server was still running {limit:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A batch of `count` generations (ids `prefix0`, `prefix1`, …) created an hour ago.
fn batch(prefix: &str, count: usize) -> Vec<u8> {
    array(&generations(prefix, count, "succeeded", 60))
}

/// The most events a batch may carry.
const LARGEST: usize = 10_000;

/// `count` batches of [`LARGEST`] generations (ids `{prefix}{n}_{i}`), each sent whole on
/// a connection of its own; their connections, to read the answers from.
fn send_largest_batches(port: u16, token: &str, prefix: &str, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|n| {
            let body = batch(&format!("{prefix}{n}_"), LARGEST);
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.write_all(&request_head(token, body.len())).unwrap();
            stream.write_all(&body).unwrap();
            stream
        })
        .collect()
}

fn request_head(token: &str, body_length: usize) -> Vec<u8> {
    format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {body_length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// A whole response: its status and body.
fn response(stream: &mut TcpStream) -> (u16, String) {
    common::response(stream).expect("an HTTP response")
}

/// Generations stored, by the figures of the last 24 hours; and a rebuild of the totals
/// from the raw rows must find nothing to correct (no batch applied in part).
fn stored_generations(db_url: &str) -> u64 {
    let stored = stats(db_url)["systemHealth"]["tasksLast24h"]
        .as_u64()
        .unwrap();
    assert_totals_exact(db_url);
    stored
}

#[test]
fn sigterm_finishes_the_batches_in_flight_stores_them_whole_and_refuses_new_connections() {
    let database = Database::new(Backend::Sqlite);
    let (db_url, log) = (database.url.clone(), database.log("serve.log"));
    let token = ingest_token(&db_url);
    let mut server = serve(&database, 60);
    let port = server.port();

    // An idle keep-alive connection, one request whose body is half sent, and large
    // batches sent whole and being stored.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answered = Vec::new();
    while !answered.ends_with(b"\r\n\r\nok") {
        let mut chunk = [0; 1024];
        let read = idle.read(&mut chunk).unwrap();
        assert!(read > 0, "the keep-alive connection closed early");
        answered.extend_from_slice(&chunk[..read]);
    }
    let half_sent = batch("a", 2_000);
    let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    a.write_all(&request_head(&token, half_sent.len())).unwrap();
    a.write_all(&half_sent[..half_sent.len() / 2]).unwrap();
    let mut large = send_largest_batches(port, &token, "b", 3);
    std::thread::sleep(Duration::from_millis(500));

    server.sigterm();
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    match TcpStream::connect(("127.0.0.1", port)) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionRefused),
        Ok(_) => panic!("a new connection was accepted after SIGTERM"),
    }

    a.write_all(&half_sent[half_sent.len() / 2..]).unwrap();
    let (status, body) = response(&mut a);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""accepted":2000"#), "{body}");
    for b in &mut large {
        let (status, body) = response(b);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&format!(r#""accepted":{LARGEST}"#)), "{body}");
    }
    let b_answered = signalled.elapsed();

    // Well within its grace period of 60 s: the idle connection did not hold it up.
    let (status, _) = exit_within(&mut server, Duration::from_secs(30));
    let exited = signalled.elapsed();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("shut down"), "{log}");
    eprintln!(
        "SIGTERM: the large batches answered {b_answered:?} after it, the process exited 0 \
         {exited:?} after it"
    );
    assert_eq!(
        idle.read(&mut [0; 16]).unwrap(),
        0,
        "the idle connection was closed"
    );
    assert_eq!(stored_generations(&db_url), 32_000);
}

#[test]
fn a_client_that_never_finishes_cannot_keep_the_server_up_past_its_grace_period() {
    const GRACE_SECONDS: u64 = 2;
    let database = Database::new(Backend::Sqlite);
    let (db_url, log) = (database.url.clone(), database.log("serve.log"));
    let token = ingest_token(&db_url);
    let mut server = serve(&database, GRACE_SECONDS);
    let port = server.port();

    // A request whose body never comes, and large batches that may or may not be stored
    // before the grace period ends: each must be whole or absent, never in part.
    let mut stuck = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stuck.write_all(&request_head(&token, 1_000)).unwrap();
    stuck.write_all(b"[").unwrap();
    let _large = send_largest_batches(port, &token, "c", 4);
    std::thread::sleep(Duration::from_millis(300));

    server.sigterm();
    let (status, exited) = exit_within(&mut server, Duration::from_secs(GRACE_SECONDS + 10));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}: {log}");
    assert!(
        exited >= Duration::from_secs(GRACE_SECONDS) - Duration::from_millis(100),
        "exited after {exited:?}, before the grace period ended"
    );
    assert!(log.contains("cut off"), "{log}");
    let mut rest = Vec::new();
    let _ = stuck.read_to_end(&mut rest);
    let stored = stored_generations(&db_url);
    eprintln!(
        "SIGTERM with a stuck client and a grace period of {GRACE_SECONDS} s: exited 0 after \
         {exited:?}; {stored} generations of the large batches were stored"
    );
    assert!(
        stored <= 4 * LARGEST as u64 && stored.is_multiple_of(LARGEST as u64),
        "{stored} of {} stored: a batch in part",
        4 * LARGEST
    );
}
