//! `/metrics` over real HTTP on both backends, read back with a Prometheus text parser and
//! compared with straightforward SQL over the raw rows.

use super::*;
use crate::testing::TestServer;
use app::config::Settings;
use model::money::Money;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;
use sqlx::Row;
use store::auth::token::{self, Scope};
use store::db::testing::on_each_backend;
use store::db::Db;
use store::ingest::import_lines;

/// 300 generations a minute apart before `end` over three providers, every fifth failed,
/// every other failure refunded, a few left pending.
fn events(end: DateTime<Utc>) -> String {
    let mut text = String::new();
    for i in 0..300 {
        let at = (end - chrono::TimeDelta::minutes(i + 1)).to_rfc3339();
        let provider = ["Seedream", "NanoBanana", "Flux \"pro\""][i as usize % 3];
        let status = match i {
            _ if i % 5 == 0 => "failed",
            _ if i % 37 == 0 => "pending",
            _ => "succeeded",
        };
        let mut event = json!({"kind": "generation", "id": format!("g{i}"), "user_id": format!("u{}", i % 7),
            "provider": provider, "status": status, "credits": 3,
            "cost_usd": format!("0.{:06}", 1000 + i), "created_at": at});
        if status != "pending" {
            event["completed_at"] = json!(at);
        }
        if status == "failed" {
            event["error"] = json!("Timeout after 30s");
        }
        text.push_str(&format!("{event}\n"));
        if status == "failed" && i % 2 == 0 {
            let refund =
                json!({"kind": "refund", "generation_id": format!("g{i}"), "credits": 3, "at": at});
            text.push_str(&format!("{refund}\n"));
        }
    }
    text
}

async fn scrape(server: &TestServer, token: Option<&str>) -> reqwest::Response {
    let request = reqwest::Client::new().get(format!("{}{METRICS_PATH}", server.url));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

/// The scrape as the parser reads it, and its text.
async fn parsed(response: reqwest::Response) -> (Scrape, String) {
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    let text = response.text().await.unwrap();
    // Every line is a comment or a sample: the parser skips what it cannot read.
    let samples = text.lines().filter(|line| !line.starts_with('#')).count();
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap();
    assert_eq!(scrape.samples.len(), samples, "{text}");
    (scrape, text)
}

/// A label value as the text format writes it. The parser does not undo escapes, so a
/// value that needs them is looked for in the text.
fn escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn value(sample: &Sample) -> f64 {
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        _ => panic!("{sample:?}"),
    }
}

/// The one sample of `metric` whose labels include `labels`.
fn sample(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .collect();
    assert_eq!(found.len(), 1, "{metric} {labels:?}: {found:?}");
    value(found[0])
}

/// The same sums straight from the raw rows: provider, status, count, cost in micro-dollars.
async fn by_provider_and_status(db: &Db) -> Vec<(String, String, i64, i64)> {
    sqlx::query(
        "SELECT provider, status, COUNT(*) AS n, CAST(SUM(cost_micros) AS BIGINT) AS cost
         FROM generations GROUP BY provider, status",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("provider"),
            r.get("status"),
            r.get("n"),
            r.get("cost"),
        )
    })
    .collect()
}

#[tokio::test]
async fn a_scrape_holds_the_figures_the_raw_rows_give() {
    on_each_backend(|db| async move {
        let now = Utc::now();
        let report = import_lines(&db, events(now).as_bytes(), false).await.unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        let token = token::create(&db, "prometheus", Scope::Read).await.unwrap();
        let rows = by_provider_and_status(&db).await;
        let refunds: i64 = sqlx::query("SELECT COUNT(*) AS n FROM refunds")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            .get("n");
        // A daily budget and a per-user limit; no monthly budget.
        let mut settings = Settings::defaults();
        settings.report.budgets.daily = Some(Money::from_micros(1_000_000));
        settings.report.budgets.per_user = Some(Money::from_micros(10_000));
        let server = TestServer::start(db, settings).await;
        let (scrape, text) = parsed(scrape(&server, Some(&token)).await).await;

        let mut cost = std::collections::HashMap::<&str, i64>::new();
        for (provider, status, count, micros) in &rows {
            *cost.entry(provider).or_default() += micros;
            if escaped(provider) != *provider {
                let line = match status.as_str() {
                    "pending" => format!("usage_monitor_generations_pending{{provider=\"{}\"}} {count}.0\n", escaped(provider)),
                    _ => format!("usage_monitor_generations_total{{provider=\"{}\",status=\"{status}\"}} {count}.0\n", escaped(provider)),
                };
                assert!(text.contains(&line), "{line} in {text}");
                continue;
            }
            let labels = [("provider", provider.as_str()), ("status", status.as_str())];
            let counted = match status.as_str() {
                "pending" => sample(&scrape, "usage_monitor_generations_pending", &labels[..1]),
                _ => sample(&scrape, "usage_monitor_generations_total", &labels),
            };
            assert_eq!(counted, *count as f64, "{labels:?}");
        }
        for (provider, micros) in cost.into_iter().filter(|(p, _)| escaped(p) == *p) {
            let dollars = sample(&scrape, "usage_monitor_cost_usd_total", &[("provider", provider)]);
            assert!((dollars - micros as f64 / 1e6).abs() < 1e-9, "{provider}: {dollars}");
        }
        assert_eq!(sample(&scrape, "usage_monitor_refunds_total", &[]), refunds as f64);

        let stats = server.state.figures(None).await.unwrap();
        let health = stats.system_health.status.as_str();
        for status in HealthStatus::ALL {
            let on = sample(&scrape, "usage_monitor_health", &[("status", status.as_str())]);
            assert_eq!(on, if status.as_str() == health { 1.0 } else { 0.0 }, "{status:?}");
        }
        let ratio = sample(&scrape, "usage_monitor_failure_ratio_last_24h", &[]);
        assert!((ratio * 100.0 - stats.system_health.failure_rate.unwrap()).abs() < 1e-9);
        let today = sample(&scrape, "usage_monitor_cost_today_usd", &[]);
        assert!((today - stats.today_stats.cost.micros() as f64 / 1e6).abs() < 1e-9);
        let daily = stats.budgets.daily.as_ref().unwrap().percent / 100.0;
        let ratio = sample(&scrape, "usage_monitor_budget_spent_ratio", &[("budget", "daily")]);
        assert!((ratio - daily).abs() < 1e-9, "{ratio} {daily}");
        assert!(!text.contains("budget=\"monthly\""), "{text}");
        let over = sample(&scrape, "usage_monitor_users_over_limit", &[]);
        assert!(over > 0.0);
        assert_eq!(over, stats.budgets.users_over_limit as f64);
        // The newest generation was created a minute before `now`.
        let age = sample(&scrape, "usage_monitor_newest_event_age_seconds", &[]);
        let since = (Utc::now() - now).num_milliseconds() as f64 / 1e3;
        assert!((60.0..=60.0 + since + 1e-6).contains(&age), "{age} after {since}");
    })
    .await;
}

#[tokio::test]
async fn an_empty_database_gives_zeros_idle_health_and_no_lag() {
    on_each_backend(|db| async move {
        let token = token::create(&db, "prometheus", Scope::Read).await.unwrap();
        let server = TestServer::start(db, Settings::defaults()).await;
        let (scrape, _) = parsed(scrape(&server, Some(&token)).await).await;
        assert_eq!(sample(&scrape, "usage_monitor_refunds_total", &[]), 0.0);
        assert_eq!(
            sample(&scrape, "usage_monitor_health", &[("status", "idle")]),
            1.0
        );
        let names: Vec<_> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
        assert!(
            !names.contains(&"usage_monitor_newest_event_age_seconds"),
            "{names:?}"
        );
        assert!(
            !names.contains(&"usage_monitor_failure_ratio_last_24h"),
            "{names:?}"
        );
        assert!(
            !names.contains(&"usage_monitor_generations_total"),
            "{names:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn only_a_read_token_or_a_session_may_scrape() {
    on_each_backend(|db| async move {
        let ingest = token::create(&db, "sender", Scope::Ingest).await.unwrap();
        let server = TestServer::start(db, Settings::defaults()).await;
        let status = |r: reqwest::Response| r.status();
        assert_eq!(
            status(scrape(&server, None).await),
            reqwest::StatusCode::UNAUTHORIZED
        );
        let wrong = scrape(&server, Some("um_not_a_token")).await;
        assert_eq!(status(wrong), reqwest::StatusCode::UNAUTHORIZED);
        let refused = status(scrape(&server, Some(&ingest)).await);
        assert!(refused.is_client_error(), "{refused}");
    })
    .await;
}
