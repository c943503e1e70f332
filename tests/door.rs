//! The login door with real server processes (the built binary): three servers on one
//! PostgreSQL database and on one SQLite file are one door (sessions, logout, throttle),
//! and 400 parallel logins stay within a memory bound (README, Security, rules 1, 2, 3, 6
//! and 7).
#![cfg(feature = "ssr")]

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
