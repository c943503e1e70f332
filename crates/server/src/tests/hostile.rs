//! The corpus of hostile inputs (`hostile/events.jsonl`), and huge ones made here, sent to
//! the ingest API over real HTTP and to the import, on SQLite and on PostgreSQL: each one
//! gets a clear 4xx or a reported reason, and the database holds nothing broken after.
//! The sign-in forms and query parameters face the same corpus in `crate::auth::tests`.

use crate::auth::guard::INGEST_PATH;
use crate::testing::TestServer;
use app::config::Settings;
use model::event::{parse_event, Event, EARLIEST_TIME, END_OF_TIMES, MAX_LINE_BYTES};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use sqlx::Row;
use store::auth::token::{self, Scope};
use store::db::testing::on_each_backend;
use store::db::Db;
use store::ingest::import_lines;

/// What must become of a case.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Valid, however odd: stored exactly as sent.
    Accepted,
    /// Valid JSON (in valid UTF-8) but not a valid event: rejected with its reason.
    Rejected,
    /// Not JSON, or not UTF-8: a line the import rejects, a body the API answers with 400.
    Malformed,
}

#[derive(Debug, Deserialize)]
struct RawCase {
    case: String,
    outcome: Outcome,
    text: Option<String>,
    hex: Option<String>,
    reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
    pub bytes: Vec<u8>,
    /// A part of the reason given for a rejection.
    pub reason: String,
}

/// The corpus: one case per line, its input as text or (for bytes that are not UTF-8) hex.
pub fn corpus() -> Vec<Case> {
    include_str!("hostile/events.jsonl")
        .lines()
        .map(|line| {
            let raw: RawCase = serde_json::from_str(line).expect("a corpus line");
            let bytes = match (raw.text, raw.hex) {
                (Some(text), None) => text.into_bytes(),
                (None, Some(hex)) => (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect(),
                _ => panic!("{}: give text or hex", raw.case),
            };
            Case {
                name: raw.case,
                outcome: raw.outcome,
                bytes,
                reason: raw.reason.unwrap_or_default(),
            }
        })
        .collect()
}

/// Huge or deep inputs, made here rather than kept in the repository.
fn generated() -> Vec<Case> {
    // A million bytes: with the rest of its event, still a line the import reads.
    let megabyte = "x".repeat(1_000_000);
    let user = |field: &str, value: &str| {
        let mut event =
            serde_json::json!({"kind": "user", "id": "u_big", "tier": "free", "credits": 1});
        event[field] = Value::String(value.to_owned());
        event.to_string().into_bytes()
    };
    let generation = |field: &str, value: &str| {
        let mut event = serde_json::json!({
            "kind": "generation", "id": "g_big", "user_id": "u_big", "provider": "P",
            "status": "failed", "credits": 1, "cost_usd": "0", "created_at": "2026-11-03T09:15:00Z",
        });
        event[field] = Value::String(value.to_owned());
        event.to_string().into_bytes()
    };
    let case = |name: &str, outcome, bytes, reason: &str| Case {
        name: name.to_owned(),
        outcome,
        bytes,
        reason: reason.to_owned(),
    };
    use Outcome::*;
    vec![
        case(
            "a 1 MB id",
            Rejected,
            user("id", &megabyte),
            "id: longer than 256 bytes",
        ),
        case(
            "a 1 MB email",
            Rejected,
            user("email", &megabyte),
            "email: longer than 256 bytes",
        ),
        case(
            "a 1 MB provider",
            Rejected,
            generation("provider", &megabyte),
            "provider: longer than 256 bytes",
        ),
        case(
            "a 1 MB model",
            Rejected,
            generation("model", &megabyte),
            "model: longer than 256 bytes",
        ),
        case(
            "a 1 MB cost",
            Rejected,
            generation("cost_usd", &"9".repeat(1_000_000)),
            "cost_usd: 999",
        ),
        case(
            "a 1 MB time",
            Rejected,
            generation("created_at", &megabyte),
            "is not an RFC 3339 timestamp",
        ),
        case(
            "a 1 MB kind",
            Rejected,
            user("kind", &megabyte),
            "is not one of user, generation, refund",
        ),
        case(
            "a 1 MB unknown field",
            Accepted,
            user("note", &megabyte),
            "",
        ),
        // The text is cut, not the event lost.
        case(
            "a 1 MB provider error",
            Accepted,
            generation("error", &megabyte),
            "",
        ),
        // Unknown fields are skipped without recursion, however deep.
        case(
            "an unknown field nested 499,990 levels deep",
            Accepted,
            format!(
                r#"{{"kind":"user","id":"u_deeper","tier":"free","credits":1,"x":{}{}}}"#,
                "[".repeat(499_990),
                "]".repeat(499_990)
            )
            .into_bytes(),
            "",
        ),
        case(
            "an array nested 10,000 levels deep",
            Rejected,
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            "an event must be a JSON object",
        ),
        case(
            "an id nested 10,000 levels deep",
            Rejected,
            format!(
                r#"{{"kind":"user","id":{}{},"tier":"free","credits":1}}"#,
                "[".repeat(10_000),
                "]".repeat(10_000)
            )
            .into_bytes(),
            "id: expected a string, got [[[",
        ),
    ]
}

/// Each accepted event, read back: every text as sent, every number as parsed.
async fn assert_stored_as_sent(db: &Db, event: &Event, case: &str) {
    match event {
        Event::User(user) => {
            let row = sqlx::query("SELECT tier, credits, email FROM users WHERE id = $1")
                .bind(&user.id)
                .fetch_one(&db.pool)
                .await
                .unwrap_or_else(|e| panic!("{case}: user {:?} not stored: {e}", user.id));
            assert_eq!(row.get::<String, _>(0), user.tier.as_str(), "{case}");
            assert_eq!(row.get::<i64, _>(1), user.credits, "{case}");
            assert_eq!(row.get::<Option<String>, _>(2), user.email, "{case}");
        }
        Event::Generation(g) => {
            let row = sqlx::query(
                "SELECT user_id, provider, model, status, credits, cost_micros, created_at,
                        completed_at, error FROM generations WHERE id = $1",
            )
            .bind(&g.id)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{case}: generation {:?} not stored: {e}", g.id));
            assert_eq!(row.get::<String, _>(0), g.user_id, "{case}");
            assert_eq!(row.get::<String, _>(1), g.provider, "{case}");
            assert_eq!(row.get::<Option<String>, _>(2), g.model, "{case}");
            assert_eq!(row.get::<String, _>(3), g.status.as_str(), "{case}");
            assert_eq!(row.get::<i64, _>(4), g.credits, "{case}");
            assert_eq!(row.get::<i64, _>(5), g.cost.micros(), "{case}");
            assert_eq!(row.get::<i64, _>(6), g.created_at, "{case}");
            assert_eq!(row.get::<Option<i64>, _>(7), g.completed_at, "{case}");
            assert_eq!(row.get::<Option<String>, _>(8), g.error, "{case}");
        }
        Event::Refund(r) => {
            let row = sqlx::query("SELECT credits, at FROM refunds WHERE generation_id = $1")
                .bind(&r.generation_id)
                .fetch_one(&db.pool)
                .await
                .unwrap_or_else(|e| panic!("{case}: refund not stored: {e}"));
            assert_eq!(
                (row.get::<i64, _>(0), row.get::<i64, _>(1)),
                (r.credits, r.at),
                "{case}"
            );
        }
    }
}

/// Every stored row keeps the rules of the event format, and the running totals agree with
/// the raw rows.
async fn assert_nothing_broken(db: &Db) {
    let broken = |sql: String| async move {
        let count: i64 = sqlx::query(&sql).fetch_one(&db.pool).await.unwrap().get(0);
        assert_eq!(count, 0, "rows breaking the rules: {sql}");
    };
    let bad_time =
        |column: &str| format!("({column} < {EARLIEST_TIME} OR {column} >= {END_OF_TIMES})");
    broken(
        "SELECT COUNT(*) FROM users WHERE id = '' OR LENGTH(id) > 256 OR credits > 1000000000
         OR LENGTH(email) > 256"
            .to_owned(),
    )
    .await;
    broken(format!(
        "SELECT COUNT(*) FROM generations WHERE TRIM(id) = '' OR TRIM(provider) = ''
         OR LENGTH(id) > 256 OR LENGTH(provider) > 256 OR LENGTH(model) > 256
         OR LENGTH(error) > 2001 OR credits > 1000000000 OR cost_micros > 1000000000000
         OR {} OR (completed_at IS NOT NULL AND {})",
        bad_time("created_at"),
        bad_time("completed_at")
    ))
    .await;
    broken(format!(
        "SELECT COUNT(*) FROM refunds r JOIN generations g ON g.id = r.generation_id
         WHERE r.credits > g.credits OR {}",
        bad_time("r.at")
    ))
    .await;
    let rebuilt = store::totals::rebuild(db).await.unwrap();
    assert!(rebuilt.were_exact, "the totals disagree with the raw rows");
}

fn contains(haystack: &str, needle: &str, case: &str) {
    assert!(
        haystack.contains(needle),
        "{case}: {haystack:?} does not say {needle:?}"
    );
}

#[tokio::test]
async fn the_ingest_api_answers_every_hostile_body_with_a_4xx_or_a_reason() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db.clone(), Settings::defaults()).await;
        let token = token::create(&db, "hostile", Scope::Ingest).await.unwrap();
        let client = Client::new();
        let post = |body: Vec<u8>| {
            client
                .post(format!("{}{INGEST_PATH}", server.url))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let cases: Vec<Case> = corpus().into_iter().chain(generated()).collect();

        // Every case that is JSON, in one batch: answered entry by entry.
        let events: Vec<&Case> = cases
            .iter()
            .filter(|c| c.outcome != Outcome::Malformed)
            .collect();
        let mut batch = b"[".to_vec();
        for (i, case) in events.iter().enumerate() {
            if i > 0 {
                batch.push(b',');
            }
            batch.extend_from_slice(&case.bytes);
        }
        batch.push(b']');
        let response = post(batch).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        let rejected = answer["rejected"].as_array().unwrap();
        let expected: Vec<usize> = (0..events.len())
            .filter(|i| events[*i].outcome == Outcome::Rejected)
            .collect();
        let indexes: Vec<usize> = rejected
            .iter()
            .map(|r| r["index"].as_u64().unwrap() as usize)
            .collect();
        let names = |indexes: &[usize]| -> Vec<String> {
            indexes.iter().map(|i| events[*i].name.clone()).collect()
        };
        assert_eq!(names(&indexes), names(&expected), "{answer}");
        for entry in rejected {
            let case = events[entry["index"].as_u64().unwrap() as usize];
            contains(entry["reason"].as_str().unwrap(), &case.reason, &case.name);
        }
        let accepted = events.len() - expected.len();
        assert_eq!(answer["accepted"], accepted, "{}", answer["accepted"]);
        for case in events.iter().filter(|c| c.outcome == Outcome::Accepted) {
            let text = std::str::from_utf8(&case.bytes).unwrap();
            assert_stored_as_sent(&db, &parse_event(text).unwrap(), &case.name).await;
        }

        // Each case alone: what is not JSON as the whole body, the rest as a batch of one.
        for case in &cases {
            let body = match case.outcome {
                Outcome::Malformed => case.bytes.clone(),
                _ => [b"[".as_slice(), &case.bytes, b"]"].concat(),
            };
            let response = post(body).await.unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            match case.outcome {
                Outcome::Malformed => {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{}: {answer}", case.name);
                    contains(answer["error"].as_str().unwrap(), &case.reason, &case.name);
                }
                Outcome::Rejected => {
                    assert_eq!(status, StatusCode::OK, "{}", case.name);
                    contains(
                        answer["rejected"][0]["reason"].as_str().unwrap(),
                        &case.reason,
                        &case.name,
                    );
                }
                Outcome::Accepted => {
                    assert_eq!(status, StatusCode::OK, "{}", case.name);
                    assert_eq!(
                        answer["duplicates"], 1,
                        "{}: sent twice, stored once",
                        case.name
                    );
                }
            }
        }

        // Bodies that are no batch at all.
        for (body, reason) in [
            ("", "EOF while parsing"),
            ("   \n\t ", "EOF while parsing"),
            ("[", "EOF while parsing"),
            ("[{}]]", "trailing characters"),
        ] {
            let response = post(body.into()).await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body:?}");
            let answer: Value = response.json().await.unwrap();
            contains(answer["error"].as_str().unwrap(), reason, body);
        }
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/jsonp"),
            Some("application/json-patch+json"),
        ] {
            let mut request = client
                .post(format!("{}{INGEST_PATH}", server.url))
                .bearer_auth(&token)
                .body("[]");
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(
                status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
        }
        let response = post(vec![b' '; crate::ingest_api::MAX_BODY_BYTES + 1])
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_nothing_broken(&db).await;
    })
    .await;
}

#[tokio::test]
async fn the_import_reports_every_hostile_line_by_number() {
    on_each_backend(|db| async move {
        let cases: Vec<Case> = corpus().into_iter().chain(generated()).collect();
        let mut input = Vec::new();
        for case in &cases {
            input.extend_from_slice(&case.bytes);
            input.push(b'\n');
        }
        // A line far over the limit, without a line break, as the last one.
        input.extend(std::iter::repeat_n(b'x', 5 * MAX_LINE_BYTES));
        let report = import_lines(&db, input.as_slice(), false).await.unwrap();

        let mut expected: Vec<(u64, String)> = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.outcome != Outcome::Accepted)
            .map(|(i, c)| (i as u64 + 1, c.name.clone()))
            .collect();
        expected.push((cases.len() as u64 + 1, "the huge last line".into()));
        let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(
            lines,
            expected.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
            "{:#?}",
            report.rejected
        );
        for (rejection, (_, name)) in report.rejected.iter().zip(&expected) {
            let reason = cases
                .get(rejection.line as usize - 1)
                .map_or(format!("line longer than {MAX_LINE_BYTES} bytes"), |c| {
                    c.reason.clone()
                });
            contains(&rejection.reason, &reason, name);
        }
        let accepted = cases
            .iter()
            .filter(|c| c.outcome == Outcome::Accepted)
            .count();
        assert_eq!(report.stored as usize, accepted);
        for case in cases.iter().filter(|c| c.outcome == Outcome::Accepted) {
            let text = std::str::from_utf8(&case.bytes).unwrap();
            assert_stored_as_sent(&db, &parse_event(text).unwrap(), &case.name).await;
        }
        assert_nothing_broken(&db).await;
    })
    .await;
}

#[tokio::test]
async fn provider_texts_are_shown_as_text_on_the_dashboard() {
    // end2end/tests/hostile.spec.ts checks the same in the browser, after hydration.
    const ERROR: &str = r#"<img src=x onerror="alert(1)"><script>alert(2)</script>"#;
    const PROVIDER: &str = "<b>Nano</b></script><script>alert(3)</script>";
    on_each_backend(|db| async move {
        let at = (chrono::Utc::now() - chrono::TimeDelta::minutes(5)).to_rfc3339();
        let failure = serde_json::json!({
            "kind": "generation", "id": "g_xss", "user_id": "u_xss", "provider": PROVIDER,
            "status": "failed", "credits": 1, "cost_usd": "0", "created_at": at, "error": ERROR,
        });
        let Ok(event) = parse_event(&failure.to_string()) else {
            panic!("the failure is a valid event")
        };
        store::ingest::store_events(&db, &[event]).await.unwrap();
        store::auth::accounts::create_admin(&db, "ann@example.com", "correct horse battery", false)
            .await
            .unwrap();
        let server = TestServer::start(db, Settings::defaults()).await;
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = client
            .post(format!("{}/login", server.url))
            .form(&[("email", "ann@example.com"), ("password", "correct horse battery")])
            .send()
            .await
            .unwrap();
        let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let html = client
            .get(format!("{}/admin/credits", server.url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // In the table: text, escaped.
        assert!(html.contains(r#"<td data-label="Error" class="error-text long">&lt;img src=x onerror="alert(1)"&gt;&lt;script&gt;alert(2)&lt;/script&gt;</td>"#), "{html}");
        assert!(html.contains("<th scope=\"row\">&lt;b&gt;Nano&lt;/b&gt;&lt;/script&gt;"), "{html}");
        // Nowhere as markup: not in the page, nor in the data Leptos writes into its scripts
        // for hydration (where a "</script>" would end the script early).
        for markup in ["<img", "<b>", "<script>alert", "</script><script>"] {
            assert!(!html.contains(markup), "{markup} in {html}");
        }
    })
    .await;
}
