//! SIGTERM to the real server process (the built binary, on a SQLite file of its own):
//! requests in flight are finished, new connections refused, idle keep-alive connections
//! closed, every batch is stored whole or not at all, and a client that never finishes
//! cannot keep the process up past its grace period.
#![cfg(feature = "ssr")]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_usage-monitor");

/// `usage-monitor ARGS` on the database at `db_url`; its standard output.
fn cli(db_url: &str, args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "usage-monitor {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The server process; killed if the test ends before it exits.
struct Server {
    process: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// `usage-monitor serve` on a free port, answering; its log goes to `log`.
fn serve(db_url: &str, grace_seconds: u64, log: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .unwrap()
        .port();
    let process = Command::new(BINARY)
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", db_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "USAGE_MONITOR_SHUTDOWN_GRACE_SECONDS",
            grace_seconds.to_string(),
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let server = Server { process, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            if response(&mut stream).0 == 200 {
                return server;
            }
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sigterm(server: &Server) {
    let status = Command::new("kill")
        .args(["-TERM", &server.process.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the process to exit, at most `limit`.
fn exit_within(server: &mut Server, limit: Duration) -> (ExitStatus, Duration) {
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

/// A batch of `count` generations (ids `prefix0`, `prefix1`, …) created in the last hour.
fn batch(prefix: &str, count: usize) -> Vec<u8> {
    let at = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let events: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"kind":"generation","id":"{prefix}{i}","user_id":"u{}","provider":"NanoBanana","status":"succeeded","credits":2,"cost_usd":"0.039","created_at":"{at}","completed_at":"{at}"}}"#,
                i % 50
            )
        })
        .collect();
    format!("[{}]", events.join(",")).into_bytes()
}

fn request_head(token: &str, body_length: usize) -> Vec<u8> {
    format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {body_length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Reads a whole response (the server closes the connection): its status and body.
fn response(stream: &mut TcpStream) -> (u16, String) {
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, body.to_owned())
}

/// Generations stored, by the figures of the last 24 hours; and a rebuild of the totals
/// from the raw rows must find nothing to correct (no batch applied in part).
fn stored_generations(db_url: &str) -> u64 {
    let stats: serde_json::Value =
        serde_json::from_str(&cli(db_url, &["stats", "--json"])).unwrap();
    let output = Command::new(BINARY)
        .arg("rebuild-totals")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", db_url)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("they were already exact"), "{said}");
    stats["systemHealth"]["tasksLast24h"].as_u64().unwrap()
}

fn ingest_token(db_url: &str) -> String {
    cli(
        db_url,
        &["create-token", "--name", "platform", "--scope", "ingest"],
    )
    .trim()
    .to_owned()
}

#[test]
fn sigterm_finishes_the_batches_in_flight_stores_them_whole_and_refuses_new_connections() {
    let folder = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/usage.db", folder.path().display());
    let token = ingest_token(&db_url);
    let log = folder.path().join("serve.log");
    let mut server = serve(&db_url, 60, &log);
    let port = server.port;

    // An idle keep-alive connection, one request whose body is half sent, and one large
    // batch sent whole and being stored.
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
    let large = batch("b", 30_000);
    let mut b = TcpStream::connect(("127.0.0.1", port)).unwrap();
    b.write_all(&request_head(&token, large.len())).unwrap();
    b.write_all(&large).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    sigterm(&server);
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
    let (status, body) = response(&mut b);
    let b_answered = signalled.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""accepted":30000"#), "{body}");

    // Well within its grace period of 60 s: the idle connection did not hold it up.
    let (status, _) = exit_within(&mut server, Duration::from_secs(30));
    let exited = signalled.elapsed();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("shut down"), "{log}");
    eprintln!(
        "SIGTERM: the large batch answered {b_answered:?} after it, the process exited 0 \
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
    let folder = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/usage.db", folder.path().display());
    let token = ingest_token(&db_url);
    let log = folder.path().join("serve.log");
    let mut server = serve(&db_url, GRACE_SECONDS, &log);
    let port = server.port;

    // A request whose body never comes, and a large batch that may or may not be stored
    // before the grace period ends: it must be whole or absent, never in part.
    let mut stuck = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stuck.write_all(&request_head(&token, 1_000)).unwrap();
    stuck.write_all(b"[").unwrap();
    let large = batch("c", 40_000);
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(&request_head(&token, large.len())).unwrap();
    c.write_all(&large).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    sigterm(&server);
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
         {exited:?}; the large batch was {}",
        if stored == 0 {
            "rolled back"
        } else {
            "committed"
        }
    );
    assert!(stored == 0 || stored == 40_000, "{stored} of 40000 stored");
}
