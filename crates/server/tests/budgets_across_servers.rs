//! Two real server processes on one database (a SQLite file, a PostgreSQL database) check
//! the budgets every second and post to one webhook receiver. Each crossing must give
//! exactly one post, none again after a server restarts, and `stats --json` must show the
//! spend against the budgets.

mod common;

use common::receiver::{wait_for, Receiver};
use common::{array, generations, post_events, Backend, Database};
use serde_json::Value;
use std::time::{Duration, Instant};

const RUNS: usize = 3;
/// After the posts expected, how long the test listens for more: well over two checks and
/// the figures' shared age (1 s each).
const LISTEN_AFTER: Duration = Duration::from_millis(3_000);

/// `budget levels users` of each post, sorted.
fn posts(receiver: &Receiver) -> Vec<String> {
    let mut posts: Vec<String> = receiver
        .bodies()
        .iter()
        .map(|body| {
            let users = body["users"].as_array().map_or(0, Vec::len);
            format!("{} {} {users}", body["budget"], body["levels"])
        })
        .collect();
    posts.sort();
    posts
}

fn run(backend: Backend) {
    let database = Database::new(backend);
    let token = common::ingest_token(&database.url);
    let receiver = Receiver::start();
    let env = [
        ("USAGE_MONITOR_ALERT_WEBHOOKS", receiver.url.as_str()),
        ("USAGE_MONITOR_ALERT_CHECK_SECONDS", "1"),
        ("USAGE_MONITOR_BUDGET_DAILY_DOLLARS", "1"),
        ("USAGE_MONITOR_BUDGET_USER_DOLLARS", "0.07"),
        ("USAGE_MONITOR_BUDGET_WARNING_LEVELS", "50, 100"),
    ];
    let logs = [database.log("0.log"), database.log("1.log")];
    let mut servers = logs
        .clone()
        .map(|log| common::start(&database.url, &env, &log));
    servers.iter_mut().for_each(|server| server.wait_until_up());
    let send = |port: u16, events: &[String]| {
        let (status, body) = post_events(port, &token, &array(events)).unwrap();
        assert_eq!(status, 200, "{body}");
    };
    // 20 generations of $0.039, each by another user: $0.78 of $1.00, past 50 %.
    send(servers[0].port(), &generations("a", 20, "succeeded", 0));
    wait_for(Duration::from_secs(15), "a post", &logs, || {
        !receiver.bodies().is_empty()
    });
    std::thread::sleep(LISTEN_AFTER);
    assert_eq!(posts(&receiver), [r#""daily" [50] 0"#], "{backend:?}");

    // A restarted server announces nothing again.
    servers[1].sigkill();
    servers[1] = common::start(&database.url, &env, &logs[1]);
    servers[1].wait_until_up();
    std::thread::sleep(LISTEN_AFTER);
    assert_eq!(posts(&receiver).len(), 1, "{backend:?}");

    // 10 more by the first 10 users: $1.17, past 100 %, and those users at $0.078 each.
    send(servers[1].port(), &generations("b", 10, "succeeded", 0));
    wait_for(Duration::from_secs(15), "two more posts", &logs, || {
        receiver.bodies().len() >= 3
    });
    std::thread::sleep(LISTEN_AFTER);
    assert_eq!(
        posts(&receiver),
        [r#""daily" [100] 0"#, r#""daily" [50] 0"#, r#""user" [] 10"#],
        "{backend:?}"
    );
    let text = receiver
        .bodies()
        .iter()
        .map(|b| b["text"].to_string())
        .collect::<Vec<_>>();
    assert!(
        text.iter()
            .any(|t| t.contains("reached 100% of the daily budget: $1.17 of $1.00")),
        "{text:?}"
    );
    drop(servers);

    // `stats --json`, with the same settings.
    let output = std::process::Command::new(common::BINARY)
        .args(["stats", "--json"])
        .current_dir(common::REPOSITORY)
        .env("DATABASE_URL", &database.url)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stats: Value = serde_json::from_slice(&output.stdout).unwrap();
    let budgets = &stats["budgets"];
    assert_eq!(budgets["daily"]["spent"], 1.17);
    assert_eq!(budgets["daily"]["budget"], 1.0);
    assert_eq!(budgets["monthly"], Value::Null);
    assert_eq!(budgets["usersOverLimit"], 10);
}

fn runs(backend: Backend) {
    let started = Instant::now();
    for _ in 0..RUNS {
        run(backend);
    }
    eprintln!(
        "{backend:?}: {RUNS} runs, each crossing posted once, in {:?}",
        started.elapsed()
    );
}

#[test]
fn two_servers_on_one_sqlite_file_post_each_budget_crossing_once() {
    runs(Backend::Sqlite);
}

#[test]
fn two_servers_on_one_postgres_database_post_each_budget_crossing_once() {
    runs(Backend::Postgres);
}
