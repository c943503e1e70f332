//! The error groups' statement reads a few rows per group, on SQLite, with and without
//! `ANALYZE`'s statistics: the totals by key, the edges' failures and each group's first
//! and last failure and newest message through indexes of failures, never all of a
//! window's rows.

use super::by_group;
use crate::db::testing::{fresh_sqlite, sqlite_plan};
use crate::ingest::import_lines;
use chrono::{TimeZone, Utc};

/// 4,000 generations over 40 days, one in 20 failed with one of four error texts.
fn events() -> String {
    let errors = [
        "HTTP 429",
        "Upstream error (HTTP 500)",
        "Out of memory",
        "Timeout",
    ];
    (0..4000)
        .map(|n: i64| {
            let at = Utc.with_ymd_and_hms(2026, 10, 22, 0, 0, 0).unwrap()
                + chrono::Duration::minutes(n * 14 + n % 11);
            let (status, error) = match n % 20 {
                0 => ("failed", format!("\"{}\"", errors[(n / 20 % 4) as usize])),
                _ => ("succeeded", "null".to_owned()),
            };
            format!(
                r#"{{"kind":"generation","id":"g{n}","user_id":"u{}","provider":"{}","status":"{status}","credits":2,"cost_usd":"0.01","created_at":"{}","error":{error}}}"#,
                n % 30,
                ["Seedream", "NanoBanana", "WaveSpeed"][(n % 3) as usize],
                at.to_rfc3339(),
            ) + "\n"
        })
        .collect()
}

#[tokio::test]
async fn each_group_costs_a_few_index_reads() {
    let (db, _folder) = fresh_sqlite().await;
    let report = import_lines(&db, events().as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    // A rolling week ending inside a quarter: whole days, quarters and raw edges.
    let end = Utc.with_ymd_and_hms(2026, 11, 25, 13, 7, 0).unwrap();
    let window = (
        (end - chrono::Duration::days(7)).timestamp_micros(),
        end.timestamp_micros(),
    );
    let (sql, values) = by_group(window);
    // The statistics are a connection's own: one connection gathers them and plans.
    let mut conn = db.pool.acquire().await.unwrap();
    for analyzed in [false, true] {
        if analyzed {
            sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
        }
        let plan = sqlite_plan(&mut conn, &sql, &values).await;
        let reads: Vec<&String> = plan
            .iter()
            .filter(|step| step.starts_with("SCAN") || step.starts_with("SEARCH"))
            .collect();
        assert!(!reads.is_empty(), "{plan:#?}");
        assert!(
            !plan
                .iter()
                .any(|step| step.contains("TEMP B-TREE FOR ORDER BY")),
            "(analyzed: {analyzed}) a look-up sorts a group's failures: {plan:#?}"
        );
        for step in reads {
            let fits = if step.contains("error_group_totals") {
                step.starts_with("SEARCH")
            } else if step.starts_with("SEARCH e ") {
                step.contains("generations_failed_group_created_at")
            } else if step.starts_with("SEARCH generations ") {
                step.contains("generations_failed_created_at_group")
            } else {
                // The union of counts and its groups, built in memory.
                !step.contains("generations")
            };
            assert!(fits, "(analyzed: {analyzed}) {step:?} in {plan:#?}");
        }
    }
}
