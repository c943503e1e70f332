//! The log's pages and a user's page on a fresh SQLite database and a fresh PostgreSQL one.

use super::query::{page, user};
use super::*;
use crate::db::testing::on_each_backend;
use crate::db::Db;
use crate::ingest::import_lines;
use crate::stats::query::ReportSettings;
use crate::stats::HealthThresholds;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

fn utc_settings() -> ReportSettings {
    ReportSettings {
        time_zone: chrono_tz::UTC,
        health: HealthThresholds::default(),
    }
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
