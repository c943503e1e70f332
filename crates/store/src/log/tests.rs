//! The log's pages and a user's page on a fresh SQLite database and a fresh PostgreSQL one.

use super::{self as query, page, user};
use crate::db::testing::on_each_backend;
use crate::db::Db;
use crate::ingest::import_lines;
use crate::report::ReportSettings;
use chrono::{TimeZone, Utc};
use model::dashboard::{DateRange, Money, Tier};
use model::log::*;
use serde_json::{json, Value};

fn utc_settings() -> ReportSettings {
    ReportSettings::in_zone(chrono_tz::UTC)
}

async fn import(db: &Db, events: &[Value]) {
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let report = import_lines(db, text.as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

/// 130 generations over 13 minutes of 2026-11-15 UTC, ten to a minute, so that every page
/// edge falls among rows of the same time: ids `g000`..`g129`, users `u0`..`u3`, every
/// third failed, every fifth by Seedream.
fn many() -> Vec<Value> {
    (0..130)
        .map(|i| {
            let at = Utc.with_ymd_and_hms(2026, 11, 15, 10, i / 10, 0).unwrap();
            json!({"kind": "generation", "id": format!("g{i:03}"), "user_id": format!("u{}", i % 4),
                   "provider": if i % 5 == 0 { "Seedream" } else { "NanoBanana" },
                   "status": if i % 3 == 0 { "failed" } else { "succeeded" },
                   "credits": 2, "cost_usd": "0.01", "created_at": at.to_rfc3339()})
        })
        .collect()
}

/// Every page of the log for `query`, `limit` rows at a time, following `next`.
async fn all_pages(db: &Db, query: LogQuery, limit: usize) -> Vec<Vec<String>> {
    let now = Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap();
    let mut pages = Vec::new();
    let mut query = query;
    loop {
        let filter = query.filter().unwrap();
        let page = page(db, &utc_settings(), now, &filter, limit)
            .await
            .unwrap();
        assert!(page.rows.len() <= limit);
        pages.push(page.rows.iter().map(|r| r.id.clone()).collect());
        match page.next {
            Some(before) => query.before = Some(before),
            None => return pages,
        }
    }
}

/// The ids `many()` gives for `keep`, in the log's order: newest first, ties by id, last first.
fn expected(keep: impl Fn(u32) -> bool) -> Vec<String> {
    let mut ids: Vec<(u32, String)> = (0..130)
        .filter(|&i| keep(i))
        .map(|i| (i / 10, format!("g{i:03}")))
        .collect();
    ids.sort_by(|a, b| b.cmp(a));
    ids.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn pages_follow_each_other_by_key_losing_and_repeating_nothing() {
    on_each_backend(|db| async move {
        import(&db, &many()).await;
        let pages = all_pages(&db, LogQuery::default(), 50).await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 30]);
        assert_eq!(pages.concat(), expected(|_| true));
        // Pages of 7 cut through every minute's ten rows.
        assert_eq!(
            all_pages(&db, LogQuery::default(), 7).await.concat(),
            expected(|_| true)
        );
        // Exactly a page's worth: no empty page after it.
        let seedream = LogQuery {
            provider: Some("Seedream".into()),
            ..LogQuery::default()
        };
        let pages = all_pages(&db, seedream, 13).await;
        assert_eq!(pages.len(), 2);
        assert_eq!(pages.concat(), expected(|i| i % 5 == 0));
    })
    .await;
}

#[tokio::test]
async fn filters_combine() {
    on_each_backend(|db| async move {
        import(&db, &many()).await;
        let failed_of_u1 = LogQuery {
            status: Some("failed".into()),
            user: Some("u1".into()),
            ..LogQuery::default()
        };
        assert_eq!(
            all_pages(&db, failed_of_u1, 50).await.concat(),
            expected(|i| i % 3 == 0 && i % 4 == 1)
        );
        // 10:03 to 10:05 local (UTC), the end excluded.
        let minutes = LogQuery {
            from: Some("2026-11-15T10:03".into()),
            to: Some("2026-11-15T10:05".into()),
            provider: Some("NanoBanana".into()),
            ..LogQuery::default()
        };
        assert_eq!(
            all_pages(&db, minutes, 50).await.concat(),
            expected(|i| (30..50).contains(&i) && i % 5 != 0)
        );
        let nobody = LogQuery {
            user: Some("nobody".into()),
            ..LogQuery::default()
        };
        assert_eq!(all_pages(&db, nobody, 50).await, [Vec::<String>::new()]);
    })
    .await;
}

#[tokio::test]
async fn a_users_page_adds_up_their_generations_and_refunds() {
    on_each_backend(|db| async move {
        import(
            &db,
            &[
                json!({"kind": "user", "id": "u_ann", "tier": "plus", "credits": 42}),
                json!({"kind": "generation", "id": "a1", "user_id": "u_ann", "provider": "Seedream",
                       "status": "succeeded", "credits": 5, "cost_usd": "1.25",
                       "created_at": "2026-11-01T09:00:00Z", "completed_at": "2026-11-01T09:00:30Z"}),
                json!({"kind": "generation", "id": "a2", "user_id": "u_ann", "provider": "Kling",
                       "status": "failed", "credits": 10, "cost_usd": "0.5", "error": "Timeout",
                       "created_at": "2026-11-02T09:00:00Z"}),
                json!({"kind": "generation", "id": "a3", "user_id": "u_ann", "provider": "Kling",
                       "status": "failed", "credits": 10, "cost_usd": "0",
                       "created_at": "2026-11-03T09:00:00Z"}),
                json!({"kind": "generation", "id": "a4", "user_id": "u_ann", "provider": "Seedream",
                       "status": "pending", "credits": 5, "cost_usd": "0",
                       "created_at": "2026-11-04T09:00:00Z"}),
                json!({"kind": "generation", "id": "b1", "user_id": "u_bob", "provider": "Seedream",
                       "status": "failed", "credits": 7, "cost_usd": "9",
                       "created_at": "2026-11-02T09:00:00Z"}),
                json!({"kind": "refund", "generation_id": "a2", "credits": 10, "at": "2026-11-02T09:01:00Z"}),
                json!({"kind": "refund", "generation_id": "b1", "credits": 7, "at": "2026-11-02T09:01:00Z"}),
            ],
        )
        .await;
        let ann = user(&db, &utc_settings(), "u_ann").await.unwrap().unwrap();
        assert_eq!((ann.tier, ann.balance), (Tier::Plus, 42));
        assert_eq!(
            (ann.generations, ann.succeeded, ann.failed, ann.pending),
            (4, 1, 2, 1)
        );
        assert_eq!(ann.spend, Money::from_micros(1_750_000));
        assert_eq!((ann.credits_used, ann.credits_refunded), (30, 10));
        assert_eq!(ann.first_generation.unwrap().to_rfc3339(), "2026-11-01T09:00:00+00:00");
        assert_eq!(ann.last_generation.unwrap().to_rfc3339(), "2026-11-04T09:00:00+00:00");
        let failures: Vec<_> = ann
            .recent_failures
            .iter()
            .map(|f| (f.id.as_str(), f.error.as_deref(), f.refunded))
            .collect();
        assert_eq!(failures, [("a3", None, None), ("a2", Some("Timeout"), Some(10))]);
        // A user known only from a generation starts as free with no credits.
        let bob = user(&db, &utc_settings(), "u_bob").await.unwrap().unwrap();
        assert_eq!((bob.tier, bob.balance, bob.credits_refunded), (Tier::Free, 0, 7));
        assert_eq!(user(&db, &utc_settings(), "u_nobody").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn top_users_are_those_who_cost_most_in_the_month_or_the_range() {
    on_each_backend(|db| async move {
        let generation = |id: &str, user: &str, status: &str, credits: i64, cost: &str, at: &str| {
            json!({"kind": "generation", "id": id, "user_id": user, "provider": "Seedream",
                   "status": status, "credits": credits, "cost_usd": cost, "created_at": at})
        };
        import(
            &db,
            &[
                json!({"kind": "user", "id": "u_b", "tier": "pro", "credits": 1}),
                generation("a1", "u_a", "succeeded", 5, "1.00", "2026-11-02T00:00:00Z"),
                generation("a2", "u_a", "failed", 5, "0.50", "2026-11-14T00:00:00Z"),
                generation("b1", "u_b", "succeeded", 3, "1.50", "2026-11-01T00:00:00Z"),
                generation("c0", "u_c", "succeeded", 9, "9", "2026-10-31T23:59:59Z"),
                generation("c1", "u_c", "succeeded", 1, "0.10", "2026-11-15T11:00:00Z"),
                generation("d1", "u_d", "pending", 2, "0", "2026-11-15T11:59:00Z"),
                // At now: outside the month so far.
                generation("e1", "u_e", "succeeded", 1, "50", "2026-11-15T12:00:00Z"),
                json!({"kind": "refund", "generation_id": "a2", "credits": 5, "at": "2026-11-14T00:01:00Z"}),
            ],
        )
        .await;
        let now = Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).unwrap();
        let rows = |top: &TopUsers| -> Vec<(String, Tier, i64, Money, i64)> {
            top.users
                .iter()
                .map(|u| (u.id.clone(), u.tier, u.generations, u.cost, u.consumed))
                .collect()
        };
        let dollars = |micros: i64| Money::from_micros(micros);
        let month = query::top_users(&db, &utc_settings(), now, None).await.unwrap();
        assert_eq!(month.range, None);
        assert_eq!(
            rows(&month),
            [
                ("u_a".into(), Tier::Free, 2, dollars(1_500_000), 5),
                ("u_b".into(), Tier::Pro, 1, dollars(1_500_000), 3),
                ("u_c".into(), Tier::Free, 1, dollars(100_000), 1),
                ("u_d".into(), Tier::Free, 1, Money::ZERO, 2),
            ],
            "most cost first, ties by id"
        );
        let october = query::top_users(
            &db,
            &utc_settings(),
            now,
            Some(&DateRange::Preset(model::dashboard::Preset::LastMonth)),
        )
        .await
        .unwrap();
        assert_eq!(rows(&october), [("u_c".into(), Tier::Free, 1, dollars(9_000_000), 9)]);
        assert_eq!(october.range.unwrap().label, "Last month");
    })
    .await;
}

#[tokio::test]
async fn the_log_lists_what_reconciliation_counts() {
    on_each_backend(|db| async move {
        let failed = |id: &str, at: &str| {
            json!({"kind": "generation", "id": id, "user_id": "u1", "provider": "Flux",
                   "status": "failed", "credits": 2, "cost_usd": "0", "created_at": at})
        };
        let succeeded = |credits: i64| {
            json!({"kind": "generation", "id": "s1", "user_id": "u1", "provider": "Flux",
                   "status": "succeeded", "credits": credits, "cost_usd": "0.1",
                   "created_at": "2026-11-10T00:00:00Z"})
        };
        import(
            &db,
            &[
                failed("f1", "2026-11-15T11:40:00Z"),
                failed("f2", "2026-11-15T11:50:00Z"),
                failed("f4", "2026-11-14T00:00:00Z"),
                json!({"kind": "refund", "generation_id": "f4", "credits": 2, "at": "2026-11-14T00:05:00Z"}),
                succeeded(5),
                json!({"kind": "refund", "generation_id": "s1", "credits": 3, "at": "2026-11-10T00:05:00Z"}),
                succeeded(2),
            ],
        )
        .await;
        let problem = |slug: &str| LogQuery {
            problem: Some(slug.into()),
            ..LogQuery::default()
        };
        // all_pages looks from 2026-11-16: f1 and f2 are both overdue by then.
        assert_eq!(all_pages(&db, problem("unrefunded"), 50).await.concat(), ["f2", "f1"]);
        assert_eq!(all_pages(&db, problem("over-refunded"), 50).await.concat(), ["s1"]);
        let at_noon = Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).unwrap();
        let filter = problem("unrefunded").filter().unwrap();
        let page = page(&db, &utc_settings(), at_noon, &filter, 50).await.unwrap();
        let ids: Vec<_> = page.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["f1"], "f2 is still within its 15 minutes at noon");
        let error = problem("lost").filter().unwrap_err();
        assert!(error.0.contains("Unknown problem “lost”"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn an_export_reads_every_row_once_in_pages_holding_no_connection_between_them() {
    use super::export::ExportPages;
    on_each_backend(|db| async move {
        import(&db, &many()).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap();
        for (query, keep, page_rows) in [
            // Pages of 7 cut through every minute's ten rows; 130 is no multiple of 10 + 3.
            (LogQuery::default(), &(|_| true) as &dyn Fn(u32) -> bool, 7),
            (LogQuery::default(), &|_| true, 13),
            (
                LogQuery {
                    status: Some("failed".into()),
                    ..LogQuery::default()
                },
                &|i| i % 3 == 0,
                4,
            ),
        ] {
            let mut pages = ExportPages::with_page_rows(query.filter().unwrap(), now, page_rows);
            let mut ids = Vec::new();
            while let Some(rows) = pages.next(&db, &utc_settings()).await.unwrap() {
                assert!(rows.len() <= page_rows);
                every_connection_comes_back(&db).await;
                ids.extend(rows.into_iter().map(|row| row.id));
            }
            assert_eq!(ids, expected(keep), "pages of {page_rows}");
            assert!(pages.next(&db, &utc_settings()).await.unwrap().is_none());
        }
    })
    .await;
}

/// Takes every connection the pool may have at once (waiting for those being given back),
/// and gives them back: nothing holds one.
async fn every_connection_comes_back(db: &Db) {
    let mut held = Vec::new();
    for _ in 0..db.pool.options().get_max_connections() {
        let taking = tokio::time::timeout(std::time::Duration::from_secs(5), db.pool.acquire());
        held.push(taking.await.expect("a connection is free").unwrap());
    }
}

mod plans;
