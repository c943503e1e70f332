//! The exports over real HTTP on both backends, read back with the csv crate's reader.

use super::*;
use crate::testing::TestServer;
use app::config::Settings;
use serde_json::json;
use store::auth::token::{self, Scope};
use store::db::testing::on_each_backend;
use store::db::Db;
use store::ingest::import_lines;

#[test]
fn cells_a_spreadsheet_would_run_get_a_quote_and_money_is_exact() {
    assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
    for risky in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
        assert!(text(risky).starts_with('\''), "{risky:?}");
    }
    assert_eq!(text("Timeout, retry"), "Timeout, retry");
    assert_eq!(text(""), "");
    assert_eq!(dollars(Money::from_micros(39_000)), "0.039000");
    assert_eq!(dollars(Money::from_micros(1_234_000_001)), "1234.000001");
    assert_eq!(dollars(Money::from_micros(-5)), "-0.000005");
}

/// 2,000 generations, a second apart before `end`, every seventh failed with an error text
/// that needs quoting, so that the log's export spans many chunks.
fn events(end: chrono::DateTime<chrono::Utc>) -> String {
    let mut text = String::new();
    for i in 0..2_000 {
        let at = (end - chrono::TimeDelta::seconds(i + 1)).to_rfc3339();
        let mut event = json!({"kind": "generation", "id": format!("g{i:04}"), "user_id": format!("u{}", i % 9),
            "provider": if i % 2 == 0 { "Seedream" } else { "NanoBanana" },
            "status": if i % 7 == 0 { "failed" } else { "succeeded" },
            "credits": 2, "cost_usd": "0.039", "created_at": at, "completed_at": at});
        if i % 7 == 0 {
            event["error"] = json!("=cmd| \"quoted\", and\na second line");
        }
        text.push_str(&format!("{event}\n"));
    }
    text
}

async fn server(db: Db) -> (TestServer, String) {
    let report = import_lines(&db, events(chrono::Utc::now()).as_bytes(), false)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let token = token::create(&db, "exports", Scope::Read).await.unwrap();
    (TestServer::start(db, Settings::defaults()).await, token)
}

async fn get(server: &TestServer, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{EXPORT_PREFIX}{path}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The CSV's header and records.
async fn read(response: reqwest::Response) -> (Vec<String>, Vec<Vec<String>>) {
    if response.status() != reqwest::StatusCode::OK {
        panic!("{}: {}", response.status(), response.text().await.unwrap());
    }
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    let body = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let records = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, records)
}

#[tokio::test]
async fn the_log_exports_every_filtered_row_quoted_newest_first() {
    on_each_backend(|db| async move {
        let (server, token) = server(db).await;
        let (header, records) = read(get(&server, &token, "generations.csv").await).await;
        assert_eq!(header, GENERATION_COLUMNS);
        assert_eq!(records.len(), 2_000);
        let ids: Vec<_> = records.iter().map(|r| r[0].clone()).collect();
        let expected: Vec<_> = (0..2_000).map(|i| format!("g{i:04}")).collect();
        assert_eq!(ids, expected, "newest first, none lost or repeated");

        // Compressed, as browsers ask for it: the stream ends cleanly.
        let compressed = reqwest::Client::new()
            .get(format!("{}{EXPORT_PREFIX}generations.csv", server.url))
            .bearer_auth(&token)
            .header(header::ACCEPT_ENCODING, "br")
            .send()
            .await
            .unwrap();
        assert_eq!(compressed.headers()[header::CONTENT_ENCODING], "br");
        let body = compressed.bytes().await.expect("the whole compressed body");
        assert!(!body.is_empty());

        let (_, failed) = read(
            get(
                &server,
                &token,
                "generations.csv?status=failed&provider=Seedream",
            )
            .await,
        )
        .await;
        let expected: Vec<_> = (0..2_000)
            .filter(|i| i % 7 == 0 && i % 2 == 0)
            .map(|i| format!("g{i:04}"))
            .collect();
        assert_eq!(
            failed.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            expected
        );
        let first = &failed[0];
        assert_eq!(first[4], "failed");
        assert_eq!(first[7], "0.039000");
        assert_eq!(
            first[10], "'=cmd| \"quoted\", and\na second line",
            "quoted, and defused"
        );
        assert!(
            DateTime::parse_from_rfc3339(&first[8]).is_ok(),
            "{}",
            first[8]
        );
    })
    .await;
}

#[tokio::test]
async fn every_table_exports_what_the_dashboard_shows() {
    on_each_backend(|db| async move {
        let (server, token) = server(db).await;
        let stats = server.state.figures(None).await.unwrap();
        let (header, providers) = read(get(&server, &token, "providers.csv").await).await;
        assert_eq!(
            header,
            [
                "provider",
                "calls",
                "succeeded",
                "failed",
                "success_rate_percent",
                "latency_p50_ms",
                "latency_p95_ms",
                "cost_usd"
            ]
        );
        let shown: Vec<_> = stats
            .providers
            .iter()
            .map(|p| (p.name.clone(), p.total_calls.to_string()))
            .collect();
        let exported: Vec<_> = providers
            .iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect();
        assert_eq!(exported, shown);

        let (_, tiers) = read(get(&server, &token, "tiers.csv").await).await;
        let tiers: Vec<_> = tiers
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str()))
            .collect();
        assert_eq!(tiers, [("pro", "0"), ("plus", "0"), ("free", "9")]);

        let (_, failures) = read(get(&server, &token, "failures.csv?range=24h").await).await;
        let ids: Vec<_> = failures.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            ids,
            [
                "g0000", "g0007", "g0014", "g0021", "g0028", "g0035", "g0042", "g0049", "g0056",
                "g0063"
            ]
        );

        // One group: every failure has the same text; its log holds exactly its failures.
        let (header, groups) = read(get(&server, &token, "error-groups.csv?range=24h").await).await;
        assert_eq!(
            header,
            [
                "pattern",
                "failures",
                "providers",
                "first_seen",
                "last_seen",
                "example"
            ]
        );
        let pattern = "=cmd| \"quoted\", and a second line";
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0][..3],
            [
                format!("'{pattern}"),
                "286".into(),
                "NanoBanana, Seedream".into()
            ]
        );
        assert_eq!(groups[0][5], "'=cmd| \"quoted\", and\na second line");
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("group", pattern)
            .append_pair("range", "24h")
            .finish();
        let (_, log) = read(get(&server, &token, &format!("generations.csv?{query}")).await).await;
        assert_eq!(log.len(), 286);

        let (header, top) = read(get(&server, &token, "top-users.csv?range=24h").await).await;
        assert_eq!(
            header,
            [
                "user_id",
                "tier",
                "generations",
                "credits_consumed",
                "cost_usd"
            ]
        );
        assert_eq!(top.len(), 9);
        let generations: i64 = top.iter().map(|r| r[2].parse::<i64>().unwrap()).sum();
        assert_eq!(generations, 2_000);

        // The chart's bars, of every provider or of one.
        for provider in [None, Some(stats.providers[0].name.as_str())] {
            let query = provider.map_or(String::new(), |p| format!("?provider={p}"));
            let (header, bars) =
                read(get(&server, &token, &format!("trend.csv{query}")).await).await;
            assert_eq!(
                header,
                [
                    "start",
                    "end",
                    "generations",
                    "succeeded",
                    "failed",
                    "pending",
                    "cost_usd"
                ]
            );
            let shown: Vec<_> = (stats.trend.counts(provider).iter().enumerate())
                .map(|(i, c)| {
                    let start = stats.trend.bars[i].start.to_rfc3339();
                    [start, c.generations().to_string(), c.failed.to_string()]
                })
                .collect();
            let exported: Vec<_> = (bars.iter())
                .map(|r| [r[0].clone(), r[2].clone(), r[4].clone()])
                .collect();
            assert_eq!(exported, shown, "{provider:?}");
            assert_eq!(bars.len(), 30);
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_tables_and_bad_ranges_are_refused_with_their_reason() {
    let (db, _folder) = store::db::testing::fresh_sqlite().await;
    let (server, token) = server(db).await;
    for (path, status, words) in [
        ("users.csv", 404, "no table \"users.csv\""),
        ("providers", 404, "the exports are generations.csv"),
        (
            "providers.csv?from=2026-11-05&to=2026-11-01",
            400,
            "must be before the end",
        ),
        ("generations.csv?status=done", 400, "Unknown status"),
    ] {
        let response = get(&server, &token, path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(words),
            "{path}: {body}"
        );
    }
    let anonymous = reqwest::get(format!("{}{EXPORT_PREFIX}generations.csv", server.url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn margin_exports_each_tier_provider_and_the_total_or_says_what_to_set() {
    on_each_backend(|db| async move {
        let (unset, token) = server(db.clone()).await;
        let response = get(&unset, &token, "margin.csv").await;
        assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
        let body: serde_json::Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        for words in [
            "USAGE_MONITOR_CREDIT_VALUE_USD_FREE (or credit-value-usd-free in [app])",
            "USAGE_MONITOR_CREDIT_VALUE_USD_PRO",
        ] {
            assert!(error.contains(words), "{error}");
        }

        let mut settings = Settings::defaults();
        settings.report.credit_values = model::margin::CreditValues {
            free: Some(Money::from_micros(20_000)),
            plus: Some(Money::from_micros(10_000)),
            pro: Some(Money::from_micros(8_000)),
        };
        let set = TestServer::start(db, settings).await;
        // Every generation of `events` is in the last 24 hours, by free users: 2 credits
        // and $0.039 each, half by each provider.
        let (header, lines) = read(get(&set, &token, "margin.csv?range=24h").await).await;
        assert_eq!(
            header,
            [
                "group",
                "name",
                "credit_value_usd",
                "credits_consumed",
                "revenue_usd",
                "cost_usd",
                "margin_usd",
                "margin_percent"
            ]
        );
        let line = |group: &str, name: &str| -> Vec<String> {
            lines
                .iter()
                .find(|r| r[0] == group && r[1] == name)
                .unwrap_or_else(|| panic!("no {group} {name} in {lines:?}"))[2..]
                .to_vec()
        };
        assert_eq!(
            line("tier", "free"),
            [
                "0.020000",
                "4000",
                "80.000000",
                "78.000000",
                "2.000000",
                "2.5"
            ]
        );
        assert_eq!(
            line("tier", "pro"),
            ["0.008000", "0", "0.000000", "0.000000", "0.000000", ""]
        );
        assert_eq!(
            line("provider", "Seedream"),
            ["", "2000", "40.000000", "39.000000", "1.000000", "2.5"]
        );
        assert_eq!(
            line("total", "")[1..5],
            ["4000", "80.000000", "78.000000", "2.000000"]
        );
        assert_eq!(
            lines.len(),
            3 + 2 + 1,
            "three tiers, two providers, the total"
        );
    })
    .await;
}

pub(crate) mod stall;
