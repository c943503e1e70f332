//! `POST /api/v1/events` over real HTTP, on SQLite and PostgreSQL.

use crate::auth::guard::INGEST_PATH;
use crate::testing::TestServer;
use app::config::Settings;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;
use store::auth::token::{self, Scope};
use store::db::testing::on_each_backend;

struct Sender {
    client: Client,
    url: String,
    token: String,
}

impl Sender {
    async fn new(server: &TestServer) -> Sender {
        Sender {
            client: Client::new(),
            url: format!("{}{INGEST_PATH}", server.url),
            token: token::create(
                &server.state.db,
                &format!("sender-{}", store::auth::secret::random_secret()),
                Scope::Ingest,
            )
            .await
            .unwrap(),
        }
    }

    async fn send(&self, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn send_raw(&self, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

fn generation(id: &str, status: &str, created_at: &str) -> Value {
    let mut event = json!({
        "kind": "generation", "id": id, "user_id": "u_1", "provider": "NanoBanana",
        "status": status, "credits": 2, "cost_usd": "0.039", "created_at": created_at,
    });
    if status != "pending" {
        event["completed_at"] = json!(created_at);
    }
    if status == "failed" {
        event["error"] = json!("Network timeout");
    }
    event
}

async fn count(db: &store::db::Db, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(&db.pool).await.unwrap().get(0)
}

#[tokio::test]
async fn one_event_or_a_batch_is_answered_event_by_event() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db.clone(), Settings::defaults()).await;
        let sender = Sender::new(&server).await;
        let (status, answer) = sender
            .send(&json!({"kind": "user", "id": "u_1", "tier": "plus", "credits": 120}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer, json!({"accepted": 1, "duplicates": 0, "rejected": []}));

        let batch = json!([
            generation("g_1", "pending", "2026-11-03T09:15:00Z"),
            {"kind": "user", "id": "u_1", "tier": "plus", "credits": 120},
            generation("g_1", "failed", "2026-11-03T09:15:00Z"),
            {"kind": "refund", "generation_id": "g_1", "credits": 2, "at": "2026-11-03T09:16:00Z"},
            {"kind": "refund", "generation_id": "g_unknown", "credits": 2, "at": "2026-11-03T09:16:00Z"},
            {"kind": "generation", "id": "g_2"},
            "not an object",
            generation("g_1", "pending", "2026-11-03T09:15:00Z"),
        ]);
        let (status, answer) = sender.send(&batch).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["accepted"], 3, "{answer}");
        assert_eq!(answer["duplicates"], 2, "{answer}");
        let rejected = answer["rejected"].as_array().unwrap();
        let indexes: Vec<u64> = rejected.iter().map(|r| r["index"].as_u64().unwrap()).collect();
        assert_eq!(indexes, [4, 5, 6], "{answer}");
        assert!(rejected[0]["reason"].as_str().unwrap().contains("unknown generation"));
        assert!(rejected[1]["reason"].as_str().unwrap().contains("user_id"), "{answer}");
        assert!(rejected[2]["reason"].as_str().unwrap().contains("JSON object"));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM generations WHERE status = 'failed'").await, 1);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM refunds").await, 1);

        // Sent again, the whole batch changes nothing.
        let (_, again) = sender.send(&batch).await;
        assert_eq!(again["accepted"], 0, "{again}");
        assert_eq!(again["duplicates"], 5, "{again}");
    })
    .await;
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx_answers() {
    let (db, _folder) = store::db::testing::fresh_sqlite().await;
    let server = TestServer::start(db.clone(), Settings::defaults()).await;
    let sender = Sender::new(&server).await;

    let (status, answer) = sender.send_raw("text/plain", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("application/json"));

    let (status, answer) = sender
        .send_raw(
            "application/json",
            b"[{\"kind\": \"user\",\n  \"id\": }]".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap().contains("line 2 column"),
        "{answer}"
    );

    let (status, _) = sender
        .send_raw("application/json; charset=utf-8", b"[]".to_vec())
        .await;
    assert_eq!(status, StatusCode::OK);

    let huge = format!("[\"{}\"]", "x".repeat(super::MAX_BODY_BYTES));
    let response = sender
        .client
        .post(&sender.url)
        .bearer_auth(&sender.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn concurrent_overlapping_batches_lose_nothing_and_count_nothing_twice() {
    on_each_backend(|db| async move {
        const SENDERS: usize = 16;
        const GENERATIONS: usize = 120;
        const USERS: usize = 10;
        let server = TestServer::start(db.clone(), Settings::defaults()).await;
        let now = chrono::Utc::now() - chrono::TimeDelta::minutes(30);
        let at = |minutes: usize| (now + chrono::TimeDelta::seconds(minutes as i64)).to_rfc3339();
        let users: Vec<Value> = (0..USERS)
            .map(|u| json!({"kind": "user", "id": format!("u{u}"), "tier": "pro", "credits": 100 + u}))
            .collect();
        let generation = |g: usize, status: &str| {
            let mut event = json!({
                "kind": "generation", "id": format!("g{g}"), "user_id": format!("u{}", g % USERS),
                "provider": if g.is_multiple_of(3) { "Seedream" } else { "NanoBanana" },
                "status": status, "credits": 3, "cost_usd": "0.010001", "created_at": at(g),
            });
            if status != "pending" {
                event["completed_at"] = json!(at(g + 1));
            }
            event
        };
        let final_status = |g: usize| if g.is_multiple_of(4) { "failed" } else { "succeeded" };
        let refunds: Vec<Value> = (0..GENERATIONS)
            .filter(|g| final_status(*g) == "failed")
            .map(|g| json!({"kind": "refund", "generation_id": format!("g{g}"), "credits": 3, "at": at(g + 2)}))
            .collect();

        // Every sender sends everything, in three batches, each rotated differently.
        let mut tasks = Vec::new();
        for s in 0..SENDERS {
            let sender = Sender::new(&server).await;
            let rotate = |mut items: Vec<Value>| {
                let len = items.len();
                items.rotate_left(s * 7 % len);
                Value::Array(items)
            };
            let mut first: Vec<Value> = users.clone();
            first.extend((0..GENERATIONS).map(|g| generation(g, "pending")));
            let batches = [
                rotate(first),
                rotate((0..GENERATIONS).map(|g| generation(g, final_status(g))).collect()),
                rotate(refunds.clone()),
            ];
            tasks.push(tokio::spawn(async move {
                let mut totals = (0, 0);
                for batch in batches {
                    let (status, answer) = sender.send(&batch).await;
                    assert_eq!(status, StatusCode::OK, "{answer}");
                    assert_eq!(answer["rejected"], json!([]), "{answer}");
                    totals.0 += answer["accepted"].as_u64().unwrap();
                    totals.1 += answer["duplicates"].as_u64().unwrap();
                }
                totals
            }));
        }
        let (mut accepted, mut duplicates) = (0, 0);
        for task in tasks {
            let (a, d) = task.await.unwrap();
            accepted += a;
            duplicates += d;
        }
        // Each user once, each generation created once and finished once, each refund once.
        let changes = (USERS + 2 * GENERATIONS + refunds.len()) as u64;
        assert_eq!(accepted, changes);
        assert_eq!(accepted + duplicates, SENDERS as u64 * changes);

        assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, USERS as i64);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM generations").await, GENERATIONS as i64);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM generations WHERE status = 'pending'").await, 0);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM refunds").await, refunds.len() as i64);
        let stats = store::figures::load(&db, &server.state.settings.report, chrono::Utc::now(), None)
            .await
            .unwrap();
        assert_eq!(stats.system_health.tasks_last_24h, GENERATIONS as i64);
        assert_eq!(stats.system_health.failure_last_24h, (GENERATIONS / 4) as i64);
        assert_eq!(stats.refunds_last_7_days, refunds.len() as i64);
        let cost: i64 = stats.providers.iter().map(|p| p.total_cost.micros()).sum();
        assert_eq!(cost, GENERATIONS as i64 * 10_001);
    })
    .await;
}

#[tokio::test]
async fn an_event_that_would_overflow_a_grand_total_is_rejected_with_its_reason() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db.clone(), Settings::defaults()).await;
        let sender = Sender::new(&server).await;
        let at = "2026-11-03T09:15:00Z";
        // The sums of some years of a busy platform, within $1.5 and 10 credits of the
        // largest kept: far too many events to send in a test.
        for (name, room) in [("cost_micros", 1_500_000), ("credits_charged", 10)] {
            sqlx::query("UPDATE grand_totals SET total = $2 WHERE name = $1")
                .bind(name)
                .bind(i64::MAX - room)
                .execute(db.writer())
                .await
                .unwrap();
        }
        let priced = |id: &str, cost: &str, credits: i64| {
            let mut event = generation(id, "succeeded", at);
            event["cost_usd"] = json!(cost);
            event["credits"] = json!(credits);
            event
        };
        let batch = json!([
            priced("g_1", "1", 2),
            priced("g_2", "1", 2),
            priced("g_3", "0.5", 2),
            priced("g_4", "0", 7),
            // A correction that lowers g_1's cost makes room again.
            priced("g_1", "0.25", 2),
            priced("g_5", "0.75", 0),
        ]);
        let (status, report) = sender.send(&batch).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let cost_reason = "cost_usd: the cost of all generations would exceed the largest sum kept, $9,223,372,036,854.775807";
        assert_eq!(
            report,
            json!({"accepted": 4, "duplicates": 0, "rejected": [
                {"index": 1, "reason": cost_reason},
                {"index": 3, "reason": "credits: the credits charged for all generations would exceed the largest sum kept, 9,223,372,036,854,775,807"},
            ]})
        );
        let grand = |name: &'static str| {
            let db = db.clone();
            async move {
                sqlx::query("SELECT total FROM grand_totals WHERE name = $1")
                    .bind(name)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap()
                    .get::<i64, _>(0)
            }
        };
        assert_eq!(grand("cost_micros").await, i64::MAX);
        assert_eq!(grand("credits_charged").await, i64::MAX - 6);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM generations").await, 3);
        // One more cent is too much; the figures still read.
        let (_, report) = sender.send(&priced("g_6", "0.01", 0)).await;
        assert_eq!(report["rejected"][0]["reason"], cost_reason);
        let stats = server.state.figures(None).await.unwrap();
        assert_eq!(stats.today_stats.generations, 0);
    })
    .await;
}

/// A user event, `u{i}`.
fn user(i: usize) -> Value {
    json!({"kind": "user", "id": format!("u{i}"), "tier": "free", "credits": 1})
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_whole_before_parsing_and_one_at_it_is_stored() {
    use super::MAX_BATCH_EVENTS;
    on_each_backend(|db| async move {
        let server = TestServer::start(db.clone(), Settings::defaults()).await;
        let sender = Sender::new(&server).await;
        let over: Vec<Value> = (0..=MAX_BATCH_EVENTS).map(user).collect();
        let (status, answer) = sender.send(&Value::Array(over.clone())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(&MAX_BATCH_EVENTS.to_string()), "{error}");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 0);

        // Items that are not events at all are counted, not parsed and answered one by one;
        // nor is the JSON after the item past the limit read.
        let invalid = format!("[{}0, this is not JSON", "0,".repeat(MAX_BATCH_EVENTS));
        let (status, answer) = sender
            .send_raw("application/json", invalid.into_bytes())
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");

        let (status, answer) = sender
            .send(&Value::Array(over[..MAX_BATCH_EVENTS].to_vec()))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["accepted"], MAX_BATCH_EVENTS, "{answer}");
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM users").await,
            MAX_BATCH_EVENTS as i64
        );
    })
    .await;
}

#[tokio::test]
async fn parallel_bodies_of_millions_of_items_are_refused_at_once_and_the_server_lives() {
    let (db, _folder) = store::db::testing::fresh_sqlite().await;
    let server = TestServer::start(db.clone(), Settings::defaults()).await;
    let sender = Sender::new(&server).await;
    // Five million tiny items, and about 800,000 small objects.
    let largest_of = |item| super::repeated_array(item, super::MAX_BODY_BYTES);
    let bodies = [largest_of("0"), largest_of(r#"{"kind":"u"}"#)];
    let answers = futures::future::join_all(
        bodies
            .iter()
            .chain(bodies.iter())
            .map(|body| sender.send_raw("application/json", body.clone())),
    )
    .await;
    for (status, answer) in answers {
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    }
    let (status, answer) = sender.send(&user(1)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
