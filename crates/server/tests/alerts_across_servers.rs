//! Two and three real server processes on one database (a SQLite file, a PostgreSQL
//! database) watch the health every second and post to one webhook receiver: healthy data,
//! then failures sent through the API. Each run must give exactly one post, critical (was
//! healthy), and never a false "back to healthy" from figures computed before the change.

mod common;

use common::receiver::{wait_for, Receiver};
use common::{array, generations, post_events, Backend, Database, Server};
use serde_json::Value;
use std::time::{Duration, Instant};

const RUNS: usize = 20;
/// After the first post, how long the test listens for a second one: well over two checks
/// and the figures' shared age (1 s each).
const LISTEN_AFTER: Duration = Duration::from_millis(3_000);

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
    send(servers[0].port(), &generations("ok", 40, "succeeded", 30));
    wait_for(Duration::from_secs(10), "a healthy record", &logs, || {
        recorded_health(&database.url).as_deref() == Some("healthy")
    });
    send(
        servers[servers.len() - 1].port(),
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
