//! Ingest over real HTTP into real server processes, on a SQLite file and on a PostgreSQL
//! database: the same batches sent through three servers at once are counted exactly once,
//! and a server killed with SIGKILL in the middle of concurrent ingest loses no event it
//! acknowledged, stores each batch whole or not at all, and starts again cleanly.

mod common;

use common::{array, generations, post_events, Backend, Database, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A batch of users, generations (one in five failed) and refunds of half the failed ones,
/// each after its generation; all ids start with `prefix`.
fn mixed_batch(prefix: &str) -> Vec<String> {
    let at = (chrono::Utc::now() - chrono::TimeDelta::minutes(30)).to_rfc3339();
    let mut events: Vec<String> = (0..5)
        .map(|j| format!(r#"{{"kind":"user","id":"{prefix}u{j}","tier":"plus","credits":{j}}}"#))
        .collect();
    for i in 0..200 {
        let status = if i % 5 == 0 { "failed" } else { "succeeded" };
        events.push(format!(
            r#"{{"kind":"generation","id":"{prefix}g{i}","user_id":"{prefix}u{}","provider":"Seedream","status":"{status}","credits":3,"cost_usd":"0.012345","created_at":"{at}","completed_at":"{at}"}}"#,
            i % 7
        ));
        if i % 10 == 0 {
            events.push(format!(
                r#"{{"kind":"refund","generation_id":"{prefix}g{i}","credits":3,"at":"{at}"}}"#
            ));
        }
    }
    events
}

/// Posts `body` until a server answers it (a 503 says nothing was stored: send it again);
/// the answer's `accepted` and `duplicates`.
fn post_until_answered(port: u16, token: &str, body: &[u8]) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, text)) = post_events(port, token, body) {
            let report: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(report["rejected"], Value::Array(vec![]), "{text}");
            return (
                report["accepted"].as_u64().unwrap(),
                report["duplicates"].as_u64().unwrap(),
            );
        }
        assert!(Instant::now() < deadline, "no server stored the batch");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn same_batches_through_three_servers(backend: Backend) {
    const BATCHES: usize = 12;
    let database = Database::new(backend);
    let token = common::ingest_token(&database.url);
    let mut servers: Vec<Server> = (0..3)
        .map(|i| common::start(&database.url, &[], &database.log(&format!("{i}.log"))))
        .collect();
    servers.iter_mut().for_each(Server::wait_until_up);
    let batches: Vec<Vec<String>> = (0..BATCHES)
        .map(|b| mixed_batch(&format!("b{b}")))
        .collect();
    // Each server gets every batch, all three at once.
    let answers: Vec<Vec<(u64, u64)>> = std::thread::scope(|scope| {
        let senders: Vec<_> = servers
            .iter()
            .map(|server| {
                let (token, batches) = (&token, &batches);
                scope.spawn(move || {
                    batches
                        .iter()
                        .map(|batch| post_until_answered(server.port(), token, &array(batch)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        senders.into_iter().map(|s| s.join().unwrap()).collect()
    });
    for (b, batch) in batches.iter().enumerate() {
        let len = batch.len() as u64;
        let by_server: Vec<_> = answers.iter().map(|a| a[b]).collect();
        for (accepted, duplicates) in &by_server {
            assert_eq!(accepted + duplicates, len, "batch {b}: {by_server:?}");
        }
        let stored: u64 = by_server.iter().map(|(accepted, _)| accepted).sum();
        assert_eq!(
            stored, len,
            "batch {b}, each event stored once: {by_server:?}"
        );
    }
    drop(servers);
    let stats = common::stats(&database.url);
    let health = &stats["systemHealth"];
    assert_eq!(health["tasksLast24h"], 200 * BATCHES);
    assert_eq!(health["failureLast24h"], 40 * BATCHES);
    assert_eq!(stats["refundsLast7Days"], 20 * BATCHES);
    // 2,400 generations at $0.012345, exactly.
    assert_eq!(stats["providers"][0]["totalCost"], 29.628);
    common::assert_totals_exact(&database.url);
}

#[test]
fn the_same_batches_through_three_servers_on_one_sqlite_file_count_once() {
    same_batches_through_three_servers(Backend::Sqlite);
}

#[test]
fn the_same_batches_through_three_servers_on_one_postgres_database_count_once() {
    same_batches_through_three_servers(Backend::Postgres);
}

const SENDERS: usize = 4;
const KILL_BATCH: usize = 100;

/// Sends batches `s{sender}n{n}` of [`KILL_BATCH`] generations one after another until the
/// server stops answering; the batches it acknowledged whole.
fn send_until_killed(port: u16, token: &str, sender: usize, killed: &AtomicBool) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for n in 0.. {
        let prefix = format!("s{sender}n{n}x");
        let body = array(&generations(&prefix, KILL_BATCH, "succeeded", 10));
        match post_events(port, token, &body) {
            Some((200, text)) => {
                let report: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(report["accepted"], KILL_BATCH, "{text}");
                acknowledged.push(prefix);
            }
            // Cut off by the kill; or a 503, whose batch was not stored.
            Some(_) | None if killed.load(Ordering::SeqCst) => break,
            Some((status, text)) => panic!("{status}: {text}"),
            None => panic!("the connection broke before the server was killed"),
        }
    }
    acknowledged
}

fn sigkill_in_the_middle_of_concurrent_ingest(backend: Backend) {
    let database = Database::new(backend);
    let token = common::ingest_token(&database.url);
    let mut server = common::serve(&database.url, &[], &database.log("first.log"));
    let killed = Arc::new(AtomicBool::new(false));
    let acknowledged: Vec<String> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let (token, killed, port) = (&token, &killed, server.port());
                scope.spawn(move || send_until_killed(port, token, sender, killed))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1_500));
        killed.store(true, Ordering::SeqCst);
        server.sigkill();
        senders
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect()
    });
    assert!(
        acknowledged.len() >= SENDERS,
        "{} batches acknowledged",
        acknowledged.len()
    );

    // Starts again on the same database, ready at once.
    let again = common::serve(&database.url, &[], &database.log("again.log"));
    assert_eq!(common::get(again.port(), "/readyz").unwrap().0, 200);
    let stored = common::query_texts(&database.url, "SELECT id FROM generations");
    let mut per_batch: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &stored {
        *per_batch
            .entry(id.split_inclusive('x').next().unwrap())
            .or_default() += 1;
    }
    for prefix in &acknowledged {
        assert_eq!(
            per_batch.get(prefix.as_str()),
            Some(&KILL_BATCH),
            "{prefix}"
        );
    }
    for (prefix, count) in &per_batch {
        assert_eq!(*count, KILL_BATCH, "batch {prefix} was stored in part");
    }
    drop(again);
    let tasks = common::stats(&database.url)["systemHealth"]["tasksLast24h"].clone();
    assert_eq!(tasks, stored.len());
    common::assert_totals_exact(&database.url);
    eprintln!(
        "{backend:?}: SIGKILL after {} acknowledged batches; {} batches stored",
        acknowledged.len(),
        per_batch.len()
    );
}

#[test]
fn sigkill_during_concurrent_ingest_on_sqlite_loses_nothing_acknowledged() {
    sigkill_in_the_middle_of_concurrent_ingest(Backend::Sqlite);
}

#[test]
fn sigkill_during_concurrent_ingest_on_postgres_loses_nothing_acknowledged() {
    sigkill_in_the_middle_of_concurrent_ingest(Backend::Postgres);
}
