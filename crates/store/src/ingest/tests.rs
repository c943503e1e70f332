//! Import on real SQLite and PostgreSQL databases: repeats, out-of-order events, bad lines.

use super::*;
use crate::db::testing::on_each_backend;
use crate::db::Db;
use model::event::MAX_LINE_BYTES;
use sqlx::Row;

async fn import(db: &Db, text: &str, strict: bool) -> Report {
    import_lines(db, text.as_bytes(), strict).await.unwrap()
}

/// The first column of the first row.
async fn one<T>(db: &Db, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    sqlx::query(sql)
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

const GOOD: &str = r#"{"kind":"user","id":"u_1","tier":"plus","credits":120,"email":"ann@example.com"}
{"kind":"generation","id":"g_1","user_id":"u_1","provider":"NanoBanana","status":"pending","credits":2,"cost_usd":"0","created_at":"2026-11-03T09:15:00Z"}
{"kind":"generation","id":"g_1","user_id":"u_1","provider":"NanoBanana","status":"failed","credits":2,"cost_usd":"0","created_at":"2026-11-03T09:15:00Z","completed_at":"2026-11-03T09:15:41Z","error":"Network timeout"}
{"kind":"refund","generation_id":"g_1","credits":2,"at":"2026-11-03T09:16:00Z"}
"#;

#[tokio::test]
async fn importing_twice_changes_nothing_the_second_time() {
    on_each_backend(|db| async move {
        let first = import(&db, GOOD, false).await;
        assert_eq!(
            (first.stored, first.unchanged, first.rejected.len()),
            (4, 0, 0)
        );
        let second = import(&db, GOOD, false).await;
        assert_eq!(
            (second.stored, second.unchanged, second.rejected.len()),
            (0, 4, 0)
        );
        assert_eq!(one::<i64>(&db, "SELECT COUNT(*) FROM generations").await, 1);
        assert_eq!(one::<i64>(&db, "SELECT COUNT(*) FROM refunds").await, 1);
        assert_eq!(
            one::<Option<String>>(&db, "SELECT status FROM generations")
                .await
                .as_deref(),
            Some("failed")
        );
    })
    .await;
}

#[tokio::test]
async fn events_may_arrive_out_of_order() {
    on_each_backend(|db| async move {
        let lines = r#"{"kind":"generation","id":"g_1","user_id":"u_new","provider":"Seedream","status":"succeeded","credits":3,"cost_usd":0.05,"created_at":"2026-11-03T09:15:00Z","completed_at":"2026-11-03T09:15:20Z"}
{"kind":"generation","id":"g_1","user_id":"u_new","provider":"Seedream","status":"pending","credits":3,"cost_usd":"0","created_at":"2026-11-03T09:15:00Z"}
{"kind":"user","id":"u_new","tier":"pro","credits":80}
{"kind":"generation","id":"g_2","user_id":"u_new","provider":"Seedream","status":"pending","credits":3,"cost_usd":"0","created_at":"2026-11-03T09:20:00Z"}
"#;
        let report = import(&db, lines, false).await;
        assert_eq!((report.stored, report.unchanged), (3, 1), "the stale pending changes nothing");
        assert_eq!(one::<Option<String>>(&db, "SELECT status FROM generations WHERE id = 'g_1'").await.as_deref(), Some("succeeded"));
        assert_eq!(one::<i64>(&db, "SELECT cost_micros FROM generations WHERE id = 'g_1'").await, 50_000);
        assert_eq!(one::<Option<String>>(&db, "SELECT tier FROM users WHERE id = 'u_new'").await.as_deref(), Some("pro"));
        assert_eq!(one::<i64>(&db, "SELECT credits FROM users WHERE id = 'u_new'").await, 80);

        // A later generation event does not reset the user the user event set.
        let again = r#"{"kind":"generation","id":"g_3","user_id":"u_new","provider":"Seedream","status":"failed","credits":3,"cost_usd":"0","created_at":"2026-11-03T09:25:00Z"}"#;
        import(&db, again, false).await;
        assert_eq!(one::<Option<String>>(&db, "SELECT tier FROM users WHERE id = 'u_new'").await.as_deref(), Some("pro"));

        // A finished generation may still change its outcome (a late correction).
        let corrected = r#"{"kind":"generation","id":"g_1","user_id":"u_new","provider":"Seedream","status":"failed","credits":3,"cost_usd":"0","created_at":"2026-11-03T09:15:00Z","error":"Moderation"}"#;
        let report = import(&db, corrected, false).await;
        assert_eq!(report.stored, 1);
        assert_eq!(one::<Option<String>>(&db, "SELECT error FROM generations WHERE id = 'g_1'").await.as_deref(), Some("Moderation"));
    })
    .await;
}

const MIXED: &str = r#"{"kind":"user","id":"u_1","tier":"free","credits":5}
{"kind":"user","id":"u_2","tier":"free","credits":5

{"kind":"purchase","id":"x"}
{"kind":"user","id":"u_3","tier":"plus","credits":-4}
{"kind":"refund","generation_id":"g_404","credits":1,"at":"2026-11-03T09:16:00Z"}
{"kind":"generation","id":"g_1","user_id":"u_1","provider":"NanoBanana","status":"succeeded","credits":2,"cost_usd":"0.039","created_at":"yesterday"}
{"kind":"generation","id":"g_2","user_id":"u_1","provider":"NanoBanana","status":"succeeded","credits":2,"cost_usd":"0.039","created_at":"2026-11-03T09:15:00+01:00"}
{"kind":"refund","generation_id":"g_2","credits":3,"at":"2026-11-03T09:16:00Z"}
{"kind":"refund","generation_id":"g_2","credits":2,"at":"2026-11-03T09:16:00Z"}
{"kind":"refund","generation_id":"g_2","credits":1,"at":"2026-11-03T09:17:00Z"}
"#;

#[tokio::test]
async fn bad_lines_are_reported_by_number_and_the_rest_is_stored() {
    on_each_backend(|db| async move {
        let report = import(&db, MIXED, false).await;
        let rejected: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, &*r.reason))
            .collect();
        assert_eq!(rejected.len(), 7, "{rejected:#?}");
        assert_eq!(rejected[0].0, 2);
        assert!(
            rejected[0].1.starts_with("not valid JSON"),
            "{}",
            rejected[0].1
        );
        assert_eq!(
            rejected[1],
            (
                4,
                "kind: \"purchase\" is not one of user, generation, refund"
            )
        );
        assert_eq!(
            rejected[2],
            (5, "credits: -4 is not between 0 and 1000000000")
        );
        assert_eq!(
            rejected[3],
            (
                6,
                "refund for unknown generation \"g_404\"; send the generation first"
            )
        );
        assert_eq!(rejected[4].0, 7);
        assert!(
            rejected[4]
                .1
                .starts_with("created_at: yesterday is not an RFC 3339 timestamp"),
            "{}",
            rejected[4].1
        );
        assert_eq!(
            rejected[5],
            (
                9,
                "refund of 3 credits exceeds the 2 credits charged for generation \"g_2\""
            )
        );
        assert_eq!(rejected[6].0, 11);
        assert!(
            rejected[6].1.contains("already has a different refund"),
            "{}",
            rejected[6].1
        );
        assert_eq!(
            (report.stored, report.unchanged),
            (3, 0),
            "u_1, g_2 and its refund"
        );
        assert!(report.committed);
        assert_eq!(one::<i64>(&db, "SELECT COUNT(*) FROM users").await, 1);
        assert_eq!(
            one::<i64>(&db, "SELECT created_at FROM generations WHERE id = 'g_2'").await,
            1_793_693_700_000_000
        );
    })
    .await;
}

#[tokio::test]
async fn strict_import_stores_nothing_when_a_line_is_bad() {
    on_each_backend(|db| async move {
        let report = import(&db, MIXED, true).await;
        assert!(!report.committed);
        assert_eq!(report.rejected.len(), 7);
        assert_eq!(one::<i64>(&db, "SELECT COUNT(*) FROM users").await, 0);
        assert_eq!(one::<i64>(&db, "SELECT COUNT(*) FROM generations").await, 0);

        let report = import(&db, GOOD, true).await;
        assert!(report.committed);
        assert_eq!(report.stored, 4);
    })
    .await;
}

#[tokio::test]
async fn invalid_utf8_and_huge_lines_are_rejected_by_number() {
    on_each_backend(|db| async move {
        let mut input =
            b"{\"kind\":\"user\",\"id\":\"u_\xff\",\"tier\":\"free\",\"credits\":1}\n".to_vec();
        input.extend_from_slice(
            format!(
                "{{\"kind\":\"user\",\"id\":\"{}\"}}\n",
                "x".repeat(MAX_LINE_BYTES)
            )
            .as_bytes(),
        );
        input.extend_from_slice(
            b"{\"kind\":\"user\",\"id\":\"ok\",\"tier\":\"free\",\"credits\":1}",
        );
        let report = import_lines(&db, input.as_slice(), false).await.unwrap();
        let rejected: Vec<_> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.to_string()))
            .collect();
        assert_eq!(
            rejected,
            [
                (1, "not valid UTF-8".to_owned()),
                (2, format!("line longer than {MAX_LINE_BYTES} bytes"))
            ]
        );
        assert_eq!(report.stored, 1, "the last line needs no newline");
    })
    .await;
}

#[tokio::test]
async fn large_imports_span_several_transactions() {
    on_each_backend(|db| async move {
        let lines: String = (0..12_500)
            .map(|n| {
                format!("{{\"kind\":\"user\",\"id\":\"u{n}\",\"tier\":\"free\",\"credits\":{n}}}\n")
            })
            .collect();
        let report = import(&db, &lines, false).await;
        assert_eq!(report.stored, 12_500);
        assert_eq!(one::<i64>(&db, "SELECT COUNT(*) FROM users").await, 12_500);
        assert_eq!(
            one::<i64>(&db, "SELECT CAST(SUM(credits) AS BIGINT) FROM users").await,
            12_500 * 12_499 / 2
        );
    })
    .await;
}

#[tokio::test]
async fn the_import_rejects_a_balance_that_would_overflow_the_sum_of_balances() {
    on_each_backend(|db| async move {
        sqlx::query("UPDATE grand_totals SET total = $1 WHERE name = 'balances'")
            .bind(i64::MAX - 100)
            .execute(db.writer())
            .await
            .unwrap();
        let lines = r#"{"kind":"user","id":"u_1","tier":"plus","credits":60}
{"kind":"user","id":"u_2","tier":"free","credits":60}
{"kind":"user","id":"u_1","tier":"plus","credits":10}
{"kind":"user","id":"u_2","tier":"free","credits":60}
"#;
        let report = import(&db, lines, false).await;
        assert_eq!(report.stored, 3);
        assert_eq!(
            report.rejected,
            [Rejection {
                line: 2,
                reason: "credits: the balances of all users would exceed the largest sum kept, 9,223,372,036,854,775,807".into()
            }]
        );
        assert_eq!(
            one::<i64>(&db, "SELECT total FROM grand_totals WHERE name = 'balances'").await,
            i64::MAX - 30
        );
    })
    .await;
}

#[tokio::test]
async fn a_transaction_of_blank_lines_does_not_end_the_import() {
    on_each_backend(|db| async move {
        let mut lines = "\n".repeat(200_000);
        lines.push_str(r#"{"kind":"user","id":"after","tier":"free","credits":1}"#);
        let report = import(&db, &lines, false).await;
        assert_eq!((report.stored, report.rejected.len()), (1, 0));
    })
    .await;
}
