//! The login door with real server processes (the built binary): three servers on one
//! PostgreSQL database and on one SQLite file are one door (sessions, logout, throttle),
//! and 400 parallel logins stay within a memory bound (README, Security, rules 1, 2, 3, 6
//! and 7).
#![cfg(feature = "ssr")]

use reqwest::header;
use reqwest::{Client, StatusCode};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_usage-monitor");
const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";
const STATS: &str = "/api/admin/credit-stats";
/// A filter that would silence the audit trail if `RUST_LOG` could.
const HOSTILE_RUST_LOG: &str = "warn,audit=off";

/// A server process; killed if the test ends first.
struct Server {
    process: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Server {
    /// `usage-monitor serve` on a free port, answering; its log goes to `log`.
    fn start(db_url: &str, log: PathBuf, rust_log: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .unwrap()
            .port();
        let process = Command::new(BINARY)
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", db_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Server {
            process,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http_status(&format!("{}/healthz", server.url)) != Some(200) {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// The peak of the process's resident memory so far, in KiB.
    fn peak_memory_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }
}

/// The status of `GET url`, over a plain socket (no runtime needed).
fn http_status(url: &str) -> Option<u16> {
    use std::io::Read;
    let address = url.trim_start_matches("http://");
    let (host, path) = address.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

/// Creates the admin with the command line, the password on standard input.
fn create_admin(db_url: &str) {
    let mut process = Command::new(BINARY)
        .args(["create-admin", "--email", EMAIL])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(process.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let output = process.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
}

/// A PostgreSQL database of the test's own, dropped at the end.
struct OwnDatabase {
    name: String,
}

impl OwnDatabase {
    fn create() -> OwnDatabase {
        let name = format!(
            "usage_monitor_door_{}_{}",
            std::process::id(),
            fastrand::u32(..)
        );
        psql(&format!("CREATE DATABASE {name}"));
        OwnDatabase { name }
    }

    fn url(&self) -> String {
        let admin = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let base = admin.rsplit_once('/').unwrap().0;
        format!("{base}/{}", self.name)
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(statement: &str) {
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let status = Command::new("psql")
        .args([&admin, "-qc", statement])
        .status()
        .expect("psql, for the test's PostgreSQL database");
    assert!(status.success(), "{statement}");
}

fn client_from(address: &str) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login(client: &Client, server: &Server, email: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{}/login", server.url))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

async fn stats(client: &Client, server: &Server, cookie: &str) -> StatusCode {
    client
        .get(format!("{}{STATS}", server.url))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

/// Three servers on the database at `db_url` act as one door.
async fn three_servers_are_one_door(db_url: &str, folder: &Path) {
    create_admin(db_url);
    let servers: Vec<Server> = (0..3)
        .map(|n| {
            Server::start(
                db_url,
                folder.join(format!("server{n}.log")),
                HOSTILE_RUST_LOG,
            )
        })
        .collect();
    let client = client_from("127.0.0.1");

    // A session made on one is valid on the others; a logout on one ends it on all.
    let signed_in = login(&client, &servers[0], EMAIL, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let set_cookie = signed_in.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    for server in &servers {
        assert_eq!(stats(&client, server, &cookie).await, StatusCode::OK);
    }
    let logout = client
        .post(format!("{}/logout", servers[1].url))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    for server in &servers {
        assert_eq!(
            stats(&client, server, &cookie).await,
            StatusCode::UNAUTHORIZED
        );
    }

    // 15 wrong passwords at once, spread over the three: throttled as one.
    let attacker = client_from("127.0.0.2");
    let attempts = (0..15).map(|n| {
        let (attacker, server) = (&attacker, &servers[n % 3]);
        async move {
            login(attacker, server, EMAIL, &format!("guess {n}"))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 15, "{statuses:?}");
    assert!(
        (1..=5).contains(&checked),
        "{checked} passwords checked: {statuses:?}"
    );
    // Each check is in the audit trail, which RUST_LOG=audit=off did not silence.
    let logs: String = servers.iter().map(Server::log).collect();
    assert_eq!(
        logs.matches("action=\"login_failed\"").count(),
        checked,
        "{logs}"
    );
    assert_eq!(logs.matches("action=\"login_throttled\"").count(), refused);

    // An overlong field is refused before any work, and no log line carries it.
    let marker = format!("overlong{}", "x".repeat(300));
    let response = login(
        &client_from("127.0.0.3"),
        &servers[2],
        &format!("{marker}@example.com"),
        PASSWORD,
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let logs: String = servers.iter().map(Server::log).collect();
    assert!(logs.contains("action=\"login_refused\""), "{logs}");
    assert!(!logs.contains("overlongxxxx"), "{logs}");
}

#[tokio::test]
async fn three_servers_on_one_postgresql_database_are_one_door() {
    let database = OwnDatabase::create();
    let folder = tempfile::tempdir().unwrap();
    three_servers_are_one_door(&database.url(), folder.path()).await;
}

#[tokio::test]
async fn three_servers_on_one_sqlite_file_are_one_door() {
    let folder = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/door.db", folder.path().display());
    three_servers_are_one_door(&db_url, folder.path()).await;
}

#[tokio::test]
async fn four_hundred_parallel_logins_stay_within_150_mib_of_idle() {
    let folder = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/memory.db", folder.path().display());
    create_admin(&db_url);
    let server = Server::start(&db_url, folder.path().join("server.log"), "warn");
    let idle = server.peak_memory_kib();
    // Each from an address of its own, with an email nobody has: the throttle lets all
    // through, and each would be checked against the decoy hash.
    let logins = (0..400).map(|n| {
        let server = &server;
        async move {
            let client = client_from(&format!("127.0.{}.{}", 10 + n / 200, n % 200 + 1));
            let response = login(
                &client,
                server,
                &format!("nobody{n}@example.com"),
                "wrong password",
            )
            .await;
            let status = response.status();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                assert!(response.headers().contains_key(header::RETRY_AFTER));
            }
            status
        }
    });
    let statuses = futures::future::join_all(logins).await;
    let peak = server.peak_memory_kib();
    let busy = statuses
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(busy + checked, 400, "{statuses:?}");
    assert!(busy > 0, "none of 400 was turned away");
    assert!(
        peak <= idle + 150 * 1024,
        "peak {peak} KiB, idle {idle} KiB: {} MiB more",
        (peak - idle) / 1024
    );
    eprintln!("idle {idle} KiB, peak {peak} KiB; {checked} checked, {busy} turned away");
}
