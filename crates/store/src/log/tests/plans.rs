//! Every filter the log offers reads its page by key through an index that fits it, on
//! SQLite, with and without `ANALYZE`'s statistics: no scan of the whole table and no sort
//! of all its matches (ties of one time sorted by id are fine).

use super::super::Statement;
use crate::db::testing::fresh_sqlite;
use crate::db::Db;
use crate::ingest::import_lines;
use crate::report::ReportSettings;
use chrono::{TimeZone, Utc};
use model::dashboard::{DateRange, Preset};
use model::log::{Cursor, LogFilter, Problem};
use sqlx::Row;

/// 3,000 generations of 30 users over 30 days, in the shares of a real platform (and of the
/// benchmark): one in 20 failed, a few pending, half of the failures refunded, a few of
/// those refunded more than charged.
async fn import(db: &Db) {
    let mut text = String::new();
    for n in 0..3000 {
        let at =
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(n * 14);
        let status = match n % 20 {
            0 => "failed",
            5 if n % 1000 == 5 => "pending",
            _ => "succeeded",
        };
        text.push_str(&format!(
            r#"{{"kind":"generation","id":"g{n}","user_id":"u{}","provider":"{}","status":"{status}","credits":2,"cost_usd":"0.01","created_at":"{}","error":{}}}"#,
            n % 30,
            ["Seedream", "NanoBanana", "WaveSpeed"][(n % 3) as usize],
            at.to_rfc3339(),
            if status == "failed" { "\"HTTP 429\"" } else { "null" },
        ));
        text.push('\n');
        if status == "failed" && n % 40 == 0 {
            text.push_str(&format!(
                r#"{{"kind":"refund","generation_id":"g{n}","credits":2,"at":"{}"}}"#,
                at.to_rfc3339()
            ));
            text.push('\n');
        }
        // Its credits corrected down after the refund: refunded more than charged.
        if status == "failed" && n % 400 == 0 {
            text.push_str(&format!(
                r#"{{"kind":"generation","id":"g{n}","user_id":"u{}","provider":"Seedream","status":"failed","credits":1,"cost_usd":"0.01","created_at":"{}","error":"HTTP 429"}}"#,
                n % 30,
                at.to_rfc3339(),
            ));
            text.push('\n');
        }
    }
    let report = import_lines(db, text.as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

/// Each filter and the index its page is read through.
fn filters() -> Vec<(LogFilter, &'static [&'static str])> {
    // A user with failures: given the bound values, SQLite sorts the rows of one that has
    // next to none rather than read them in order, rightly.
    let user = || Some("u0".to_owned());
    let range = || Some(DateRange::Preset(Preset::Last7Days));
    let before = || {
        Some(Cursor {
            created_at: Utc
                .with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
                .unwrap()
                .timestamp_micros(),
            id: "g999".into(),
        })
    };
    let all = LogFilter::default;
    vec![
        (all(), &["generations_created_at"]),
        (
            LogFilter {
                before: before(),
                ..all()
            },
            &["generations_created_at"],
        ),
        (
            LogFilter {
                provider: Some("WaveSpeed".into()),
                ..all()
            },
            &["generations_provider_created_at"],
        ),
        (
            LogFilter {
                provider: Some("WaveSpeed".into()),
                range: range(),
                before: before(),
                ..all()
            },
            &["generations_provider_created_at"],
        ),
        (
            LogFilter {
                range: range(),
                ..all()
            },
            &["generations_created_at"],
        ),
        (
            LogFilter {
                status: Some("succeeded"),
                ..all()
            },
            &["generations_created_at"],
        ),
        (
            LogFilter {
                status: Some("failed"),
                ..all()
            },
            &["generations_failed_created_at_group"],
        ),
        (
            LogFilter {
                status: Some("failed"),
                provider: Some("Seedream".into()),
                before: before(),
                ..all()
            },
            &[
                "generations_failed_created_at_group",
                "generations_provider_created_at",
            ],
        ),
        (
            LogFilter {
                status: Some("pending"),
                ..all()
            },
            &["generations_pending_created_at"],
        ),
        (
            LogFilter {
                user: user(),
                ..all()
            },
            &["generations_user_id_created_at"],
        ),
        (
            LogFilter {
                user: user(),
                before: before(),
                range: range(),
                ..all()
            },
            &["generations_user_id_created_at"],
        ),
        (
            LogFilter {
                user: user(),
                provider: Some("Seedream".into()),
                ..all()
            },
            &["generations_user_id_created_at"],
        ),
        (
            LogFilter {
                user: user(),
                status: Some("failed"),
                ..all()
            },
            &["generations_failed_user_created_at"],
        ),
        (
            LogFilter {
                problem: Some(Problem::Unrefunded),
                ..all()
            },
            &["generations_failed_created_at_group"],
        ),
        (
            LogFilter {
                group: Some("HTTP 429".into()),
                ..all()
            },
            &["generations_failed_group_created_at"],
        ),
        (
            LogFilter {
                problem: Some(Problem::OverRefunded),
                ..all()
            },
            &["generations_over_refunded_created_at"],
        ),
        (
            LogFilter {
                problem: Some(Problem::OverRefunded),
                user: user(),
                before: before(),
                ..all()
            },
            &[
                "generations_over_refunded_created_at",
                "generations_user_id_created_at",
            ],
        ),
    ]
}

/// What SQLite says it does for `filter`'s first page.
async fn plan(conn: &mut sqlx::AnyConnection, filter: &LogFilter) -> Vec<String> {
    let settings = ReportSettings::in_zone(chrono_tz::UTC);
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let statement = Statement::of(filter, &settings, now);
    let sql = format!("EXPLAIN QUERY PLAN {}", statement.sql(Some(51), true));
    let rows = statement.bound(&sql).fetch_all(&mut *conn).await.unwrap();
    rows.iter()
        .map(|row| row.try_get::<String, _>("detail").unwrap())
        .collect()
}

/// The statistics are a connection's own, loaded when it opens or when `ANALYZE` runs on
/// it: one connection gathers them and plans.
#[tokio::test]
async fn every_filter_reads_its_page_through_an_index_that_fits() {
    let (db, _folder) = fresh_sqlite().await;
    import(&db).await;
    let mut conn = db.pool.acquire().await.unwrap();
    for analyzed in [false, true] {
        if analyzed {
            sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
        }
        for (filter, indexes) in filters() {
            let plan = plan(&mut conn, &filter).await;
            let generations = plan
                .iter()
                .find(|step| step.split_whitespace().nth(1) == Some("g"))
                .unwrap_or_else(|| panic!("{filter:?} reads no generations: {plan:#?}"));
            assert!(
                generations
                    .split_whitespace()
                    .any(|word| indexes.contains(&word)),
                "{filter:?} (analyzed: {analyzed}) reads {generations:?}, not {indexes:?}: {plan:#?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|step| step.contains("TEMP B-TREE FOR ORDER BY")),
                "{filter:?} (analyzed: {analyzed}) sorts all its matches: {plan:#?}"
            );
        }
    }
}
