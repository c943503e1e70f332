//! The login door with real server processes (the built binary): three servers on one
//! PostgreSQL database and on one SQLite file are one door (sessions, logout, throttle),
//! and 400 parallel logins stay within a memory bound (docs/security.md, rules 1, 2, 3, 6
//! and 7).

mod common;

use common::{create_admin, serve, Backend, Database, Server};
use reqwest::header;
use reqwest::{Client, StatusCode};
use std::net::IpAddr;
use std::path::Path;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";
const STATS: &str = "/api/admin/credit-stats";
/// A filter that would silence the audit trail if `RUST_LOG` could.
const HOSTILE_RUST_LOG: &str = "warn,audit=off";

fn client_from(address: &str) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login(client: &Client, server: &Server, email: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{}/login", server.url()))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

async fn stats(client: &Client, server: &Server, cookie: &str) -> StatusCode {
    client
        .get(format!("{}{STATS}", server.url()))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

/// Three servers on the database at `db_url` act as one door.
async fn three_servers_are_one_door(db_url: &str, folder: &Path) {
    create_admin(db_url, EMAIL, PASSWORD);
    let servers: Vec<Server> = (0..3)
        .map(|n| {
            let log = folder.join(format!("server{n}.log"));
            serve(db_url, &[("RUST_LOG", HOSTILE_RUST_LOG)], &log)
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
        .post(format!("{}/logout", servers[1].url()))
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
    let logs: String = servers.iter().map(Server::log_text).collect();
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
    let logs: String = servers.iter().map(Server::log_text).collect();
    assert!(logs.contains("action=\"login_refused\""), "{logs}");
    assert!(!logs.contains("overlongxxxx"), "{logs}");
}

#[tokio::test]
async fn three_servers_on_one_postgresql_database_are_one_door() {
    let database = Database::new(Backend::Postgres);
    three_servers_are_one_door(&database.url, database.folder.path()).await;
}

#[tokio::test]
async fn three_servers_on_one_sqlite_file_are_one_door() {
    let database = Database::new(Backend::Sqlite);
    three_servers_are_one_door(&database.url, database.folder.path()).await;
}

#[tokio::test]
async fn four_hundred_parallel_logins_stay_within_150_mib_of_idle() {
    let database = Database::new(Backend::Sqlite);
    create_admin(&database.url, EMAIL, PASSWORD);
    let server = serve(
        &database.url,
        &[("RUST_LOG", "warn")],
        &database.log("server.log"),
    );
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

/// A login through the trusted proxy at 127.0.0.1, from `address`, with `cookie` if any.
async fn login_from(
    server: &Server,
    address: &str,
    password: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = client_from("127.0.0.1")
        .post(format!("{}/login", server.url()))
        .header("x-forwarded-for", address)
        .form(&[("email", EMAIL), ("password", password)]);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

/// How long the attack of [`rotating_addresses_keep_no_admin_out`] lasts.
const ATTACK: std::time::Duration = std::time::Duration::from_secs(30);

/// 8 threads send wrong passwords, each attempt from a new IPv6 address (in one /64, or a
/// new /64 of one /48) behind a trusted proxy, for [`ATTACK`]: the admin's browser gets in
/// at once with its device cookie, a new browser within 10 s, and few passwords are checked.
async fn rotating_addresses_keep_no_admin_out(backend: Backend) {
    let database = Database::new(backend);
    create_admin(&database.url, EMAIL, PASSWORD);
    let env = [
        ("RUST_LOG", "warn"),
        ("USAGE_MONITOR_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let server = serve(&database.url, &env, &database.log("server.log"));
    let signed_in = login_from(&server, "2001:db8:ad::1", PASSWORD, None).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let device = signed_in
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .find(|cookie| cookie.starts_with("usage_monitor_device="))
        .expect("a device cookie")
        .to_owned();
    let started = std::time::Instant::now();
    let attack = (0..8u16).map(|thread| {
        let server = &server;
        async move {
            let mut statuses = Vec::new();
            while started.elapsed() < ATTACK {
                let n = fastrand::u16(..);
                let from = if thread % 2 == 0 {
                    format!("2001:db8:1:1::{n:x}")
                } else {
                    format!("2001:db8:1:{n:x}::1")
                };
                let guess = format!("guess {thread} {}", statuses.len());
                statuses.push(login_from(server, &from, &guess, None).await.status());
            }
            statuses
        }
    });
    let admin = async {
        // A moment into the attack: the device cookie gets in at once...
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let with_device = login_from(&server, "2001:db8:ad::2", PASSWORD, Some(&device)).await;
        assert_eq!(with_device.status(), StatusCode::SEE_OTHER);
        // ...and a new browser, elsewhere, within 10 s.
        let start = std::time::Instant::now();
        loop {
            let response = login_from(&server, "2001:db8:bee::1", PASSWORD, None).await;
            if response.status() == StatusCode::SEE_OTHER {
                break start.elapsed();
            }
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            let wait: u64 = response.headers()[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                start.elapsed().as_secs() + wait < 10,
                "the new browser is kept out"
            );
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        }
    };
    let (statuses, new_browser) = tokio::join!(futures::future::join_all(attack), admin);
    let statuses: Vec<StatusCode> = statuses.into_iter().flatten().collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let logged = server.log_text().matches("action=\"login_failed\"").count();
    eprintln!(
        "{backend:?}: {} attempts in {:?}, {checked} checked; a new browser got in after {new_browser:?}",
        statuses.len(),
        started.elapsed()
    );
    assert_eq!(logged, checked);
    assert!(statuses.len() > 80, "{} attempts", statuses.len());
    assert!(
        checked <= 10,
        "{checked} of the attacker's passwords checked"
    );
}

#[tokio::test]
async fn rotating_addresses_keep_no_admin_out_on_postgresql() {
    rotating_addresses_keep_no_admin_out(Backend::Postgres).await;
}

#[tokio::test]
async fn rotating_addresses_keep_no_admin_out_on_sqlite() {
    rotating_addresses_keep_no_admin_out(Backend::Sqlite).await;
}
