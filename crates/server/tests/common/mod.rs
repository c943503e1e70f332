//! The real binary as child processes, for the tests of several servers on one database:
//! databases of their own (a SQLite file, or a PostgreSQL database dropped afterwards),
//! servers on free loopback ports, and plain HTTP/1.1 over TCP.
#![allow(dead_code)]

pub mod receiver;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use store::db::testing;

pub const BINARY: &str = env!("CARGO_BIN_EXE_usage-monitor");
/// Where the servers run, as in production: the repository's root, with its Leptos.toml.
pub const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The machine running the tests may be busy: a fresh database's first connection and
/// migrations get more than the usual 2 s.
const ACQUIRE_TIMEOUT: (&str, &str) = ("USAGE_MONITOR_DATABASE_ACQUIRE_TIMEOUT_SECONDS", "30");

/// `usage-monitor ARGS` on the database at `db_url`; its standard output.
pub fn cli(db_url: &str, args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .current_dir(REPOSITORY)
        .env("DATABASE_URL", db_url)
        .env(ACQUIRE_TIMEOUT.0, ACQUIRE_TIMEOUT.1)
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of the test's own: a SQLite file in a temporary folder, or a PostgreSQL
/// database on the server of `TEST_POSTGRES_URL` (default the local one; the store's
/// test helpers name it), dropped when the value is.
pub struct Database {
    pub url: String,
    pub folder: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl Database {
    pub fn new(backend: Backend) -> Database {
        let folder = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Database {
                url: format!("sqlite://{}/usage.db", folder.path().display()),
                folder,
                postgres: None,
            },
            Backend::Postgres => {
                let admin = testing::postgres_admin_url();
                let name = testing::fresh_database_name();
                psql(&admin, &format!("CREATE DATABASE {name}"));
                Database {
                    url: testing::database_url(&name),
                    folder,
                    postgres: Some((admin, name)),
                }
            }
        }
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.folder.path().join(name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql, to make the test's PostgreSQL database");
    assert!(
        output.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The server process; killed if the test ends before it exits.
pub struct Server {
    pub process: Child,
    port: OnceLock<u16>,
    named_port: Mutex<Receiver<u16>>,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        if std::thread::panicking() {
            eprintln!(
                "the log of the server on {:?}:\n{}",
                self.port.get(),
                self.log_text()
            );
        }
    }
}

/// How long a server may take to open its database and listen.
const START_LIMIT: Duration = Duration::from_secs(60);

impl Server {
    /// The port the server listens on, once it has said so.
    pub fn port(&self) -> u16 {
        *self.port.get_or_init(|| {
            self.named_port
                .lock()
                .unwrap()
                .recv_timeout(START_LIMIT)
                .unwrap_or_else(|_| panic!("the server named no port: {}", self.log_text()))
        })
    }

    /// Returns once the server answers.
    pub fn wait_until_up(&mut self) {
        let deadline = Instant::now() + START_LIMIT;
        let port = self.port();
        while get(port, "/healthz").map(|(status, _)| status) != Some(200) {
            let exited = self.process.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                panic!("the server did not start ({exited:?}): {}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `SIGKILL`: the process ends at once, in the middle of whatever it was doing.
    pub fn sigkill(&mut self) {
        self.process.kill().unwrap();
        self.process.wait().unwrap();
    }

    /// `SIGTERM`: the process should finish what it is doing and exit.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The peak of the process's resident memory so far, in KiB.
    pub fn peak_memory_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }
}

/// `usage-monitor create-admin --email EMAIL`, the password on standard input.
pub fn create_admin(db_url: &str, email: &str, password: &str) {
    let mut process = Command::new(BINARY)
        .args(["create-admin", "--email", email])
        .current_dir(REPOSITORY)
        .env("DATABASE_URL", db_url)
        .env(ACQUIRE_TIMEOUT.0, ACQUIRE_TIMEOUT.1)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(process.stdin.take().unwrap(), "{password}").unwrap();
    let output = process.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
}

/// `usage-monitor serve` on a free port with `env`, answering; its log goes to `log`.
pub fn serve(db_url: &str, env: &[(&str, &str)], log: &Path) -> Server {
    let mut server = start(db_url, env, log);
    server.wait_until_up();
    server
}

/// `usage-monitor serve` on a free port with `env`, started (not yet answering).
///
/// The server takes port 0 and names the port it was given: a port probed here and
/// handed over could be taken meanwhile, by a server of a test running beside this one.
pub fn start(db_url: &str, env: &[(&str, &str)], log: &Path) -> Server {
    let mut process = Command::new(BINARY)
        .arg("serve")
        .current_dir(REPOSITORY)
        .env("DATABASE_URL", db_url)
        .env(ACQUIRE_TIMEOUT.0, ACQUIRE_TIMEOUT.1)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let (named, port) = std::sync::mpsc::channel();
    let stdout = BufReader::new(process.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(port) = served_port(&line) {
                let _ = named.send(port);
            }
        }
    });
    Server {
        process,
        port: OnceLock::new(),
        named_port: Mutex::new(port),
        log: log.to_owned(),
    }
}

/// The port in the line `usage-monitor: dashboard at http://127.0.0.1:PORT/…`.
fn served_port(line: &str) -> Option<u16> {
    let address = line.strip_prefix("usage-monitor: dashboard at http://")?;
    let (_, rest) = address.split_once(':')?;
    rest.split('/').next()?.parse().ok()
}

/// `GET path`; `None` when nothing answers.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    response(&mut stream)
}

/// `POST /api/v1/events` with `body`; `None` when the connection broke before an answer.
pub fn post_events(port: u16, token: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    response(&mut stream)
}

/// Reads a whole response (the server closes the connection): its status and body.
pub fn response(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    Some((status, body.to_owned()))
}

pub fn ingest_token(db_url: &str) -> String {
    cli(
        db_url,
        &["create-token", "--name", "platform", "--scope", "ingest"],
    )
    .trim()
    .to_owned()
}

/// `count` generations `{prefix}{i}`, created `minutes_ago` with `status`, as JSON objects.
pub fn generations(prefix: &str, count: usize, status: &str, minutes_ago: i64) -> Vec<String> {
    let at = (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago)).to_rfc3339();
    (0..count)
        .map(|i| {
            format!(
                r#"{{"kind":"generation","id":"{prefix}{i}","user_id":"u{}","provider":"NanoBanana","status":"{status}","credits":2,"cost_usd":"0.039","created_at":"{at}","completed_at":"{at}"}}"#,
                i % 50
            )
        })
        .collect()
}

pub fn array(events: &[String]) -> Vec<u8> {
    format!("[{}]", events.join(",")).into_bytes()
}

/// The figures, from `usage-monitor stats --json`.
pub fn stats(db_url: &str) -> serde_json::Value {
    serde_json::from_str(&cli(db_url, &["stats", "--json"])).unwrap()
}

/// A rebuild of the totals from the raw rows finds nothing to correct: every stored event
/// was counted exactly once.
pub fn assert_totals_exact(db_url: &str) {
    let output = Command::new(BINARY)
        .arg("rebuild-totals")
        .current_dir(REPOSITORY)
        .env("DATABASE_URL", db_url)
        .env(ACQUIRE_TIMEOUT.0, ACQUIRE_TIMEOUT.1)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("they were already exact"), "{said}");
}

/// Runs `sql` (one value per row) on the database, with the test's own connection.
pub fn query_texts(db_url: &str, sql: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(db_url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.iter()
            .map(|row| sqlx::Row::get::<String, _>(row, 0))
            .collect()
    })
}
