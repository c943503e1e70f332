//! Tier moves after the commit on real SQLite and PostgreSQL databases (histories longer
//! than the 5 generations a statement moves in the tests): the ingest call answers with the
//! move done; a move stopped half-way keeps the figures consistent and is finished by
//! opening the store or by a rebuild; batches meanwhile count nothing twice.

use super::super::pending_moves::{finish_all, move_a_part};
use super::super::*;
use super::changes::{check, event, generation, history, import, user, utc};
use crate::db::testing::{on_each_backend, TIMEOUTS};
use crate::db::Db;
use crate::figures::load;
use crate::ingest::{store_events, store_events_before_moves};
use crate::report::ReportSettings;
use model::dashboard::{Money, Tier};
use model::margin::{Consumption, CreditValues, Margin};
use serde_json::Value;

/// Now in the part the tests move first (the user's first day), and in the part still
/// pending, each a few minutes into a quarter hour with generations on both sides.
const NOW_MOVED: &str = "2026-11-01T23:55:00Z";
const NOW_PENDING: &str = "2026-11-05T12:07:00Z";
/// Where the first part ends: the last instant of the user's first day.
const FIRST_PART_END: &str = "2026-11-01T23:59:59.999999Z";

/// A user with a long history (more than one part a day from the second day), with
/// generations on both sides of both nows, and two others.
fn long_history() -> Vec<Value> {
    let mut events = vec![user("big", "free", 10), user("u2", "plus", 3)];
    events.push(generation(
        "e1",
        "big",
        "succeeded",
        3,
        "0.03",
        "2026-11-01T23:52:00Z",
    ));
    events.push(generation(
        "e2",
        "big",
        "succeeded",
        2,
        "0.02",
        "2026-11-01T23:58:00Z",
    ));
    events.extend(history("big", "h", 30, "2026-11-02T00:05:00Z"));
    events.push(generation(
        "e3",
        "big",
        "failed",
        4,
        "0.04",
        "2026-11-05T12:02:00Z",
    ));
    events.push(generation(
        "e4",
        "big",
        "succeeded",
        1,
        "0.01",
        "2026-11-05T12:10:00Z",
    ));
    events.extend(history("u2", "v", 9, "2026-11-01T20:00:00Z"));
    events
}

fn valued() -> ReportSettings {
    let value = |micros| Some(Money::from_micros(micros));
    ReportSettings {
        credit_values: CreditValues {
            free: value(1_000),
            plus: value(10_000),
            pro: value(8_000),
        },
        ..ReportSettings::in_zone(chrono_tz::UTC)
    }
}

async fn pending_moves(db: &Db) -> Vec<(String, i64)> {
    sqlx::query("SELECT user_id, moved_up_to FROM pending_tier_moves ORDER BY user_id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get("user_id"), row.get("moved_up_to")))
        .collect()
}

/// Changes `big`'s tier and moves the first part of their history only, as a process that
/// stopped after it would have.
async fn change_and_stop_after_a_part(db: &Db, tier: &str) {
    let change = [event(&user("big", tier, 10))];
    let (report, _unfinished) = store_events_before_moves(db, &change).await.unwrap();
    assert_eq!(report.stored, 1);
    assert!(move_a_part(db, "big").await.unwrap(), "more parts remain");
    let end = utc(FIRST_PART_END).timestamp_micros();
    assert_eq!(pending_moves(db).await, [("big".to_owned(), end)]);
}

/// The figures from the totals equal those of the raw rows each counted under its
/// counted tier: totals and the raw rows at the window's edges agree.
async fn check_consistent(db: &Db) {
    let settings = valued();
    for now in [NOW_MOVED, NOW_PENDING] {
        let now = utc(now);
        let stats = load(db, &settings, now, None).await.unwrap();
        let start = utc("2026-11-01T00:00:00Z").timestamp_micros();
        let rows = sqlx::query(
            "SELECT g.provider,
                    CASE WHEN g.created_at > p.moved_up_to THEN p.from_tier ELSE u.tier END,
                    CAST(SUM(g.credits - COALESCE(r.credits, 0)) AS BIGINT),
                    CAST(SUM(g.cost_micros) AS BIGINT)
             FROM generations g JOIN users u ON u.id = g.user_id
             LEFT JOIN pending_tier_moves p ON p.user_id = u.id
             LEFT JOIN refunds r ON r.generation_id = g.id
             WHERE g.created_at >= $1 AND g.created_at < $2
             GROUP BY 1, 2",
        )
        .bind(start)
        .bind(now.timestamp_micros())
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let mut consumption = std::collections::BTreeMap::new();
        let mut consumed = [0; 3];
        for row in rows {
            let tier = Tier::parse(&row.get::<String, _>(1)).unwrap();
            let (credits, cost): (i64, i64) = (row.get(2), row.get(3));
            consumed[Tier::ALL.iter().position(|t| *t == tier).unwrap()] += credits;
            let cost = Money::from_micros(cost);
            consumption.insert((row.get(0), tier), Consumption { credits, cost });
        }
        let tiers = &stats.user_stats.credits_by_tier;
        let figures: Vec<i64> = Tier::ALL
            .iter()
            .map(|tier| tiers.get(*tier).total_consumed)
            .collect();
        assert_eq!(figures, consumed, "consumed by tier at {now}");
        let margin = Margin::of(&consumption, &settings.credit_values);
        assert_eq!(stats.margin, margin, "margin at {now}");
    }
}

const NOWS: [&str; 3] = [NOW_MOVED, NOW_PENDING, "2026-11-20T00:00:00Z"];

#[tokio::test]
async fn a_long_history_moves_before_the_ingest_call_answers() {
    on_each_backend(|db| async move {
        import(&db, &long_history()).await;
        let change = [event(&user("big", "pro", 10)), event(&user("u2", "pro", 3))];
        assert_eq!(store_events(&db, &change).await.unwrap().stored, 2);
        assert_eq!(pending_moves(&db).await, []);
        check(&db, &[chrono_tz::UTC, chrono_tz::Asia::Kathmandu], &NOWS).await;
    })
    .await;
}

#[tokio::test]
async fn a_move_stopped_half_way_keeps_the_figures_consistent_and_opening_finishes_it() {
    on_each_backend(|db| async move {
        import(&db, &long_history()).await;
        change_and_stop_after_a_part(&db, "pro").await;
        check_consistent(&db).await;
        let url = db.pool.connect_options().database_url.to_string();
        let opened = crate::open::open(&url, TIMEOUTS).await.unwrap();
        assert_eq!(pending_moves(&opened).await, []);
        check(&opened, &[chrono_tz::UTC], &NOWS).await;
        opened.close().await;
    })
    .await;
}

/// Changes to `big`'s generations created before the moved part's end and after it, new
/// ones on both sides, one that crosses the end, and one that changes user both ways.
fn changes_meanwhile() -> Vec<Value> {
    let mut later = generation("e1", "big", "succeeded", 3, "0.03", "2026-11-03T08:00:00Z");
    later["completed_at"] = serde_json::json!("2026-11-03T08:00:05Z");
    vec![
        generation("e2", "big", "failed", 2, "0.02", "2026-11-01T23:58:00Z"),
        serde_json::json!({"kind": "refund", "generation_id": "e2", "credits": 2,
                           "at": "2026-11-02T00:03:00Z"}),
        generation("e3", "big", "succeeded", 4, "0.05", "2026-11-05T12:02:00Z"),
        generation("n1", "big", "succeeded", 7, "0.07", "2026-11-01T23:50:00Z"),
        generation("n2", "big", "succeeded", 6, "0.06", "2026-11-05T12:03:00Z"),
        later,
        generation("h3", "u2", "succeeded", 1, "0.01", "2026-11-01T23:51:00Z"),
        generation("v1", "big", "succeeded", 5, "0.05", "2026-11-05T12:04:00Z"),
    ]
}

#[tokio::test]
async fn batches_while_a_move_is_pending_count_nothing_twice() {
    on_each_backend(|db| async move {
        import(&db, &long_history()).await;
        change_and_stop_after_a_part(&db, "pro").await;
        let events: Vec<_> = changes_meanwhile().iter().map(event).collect();
        let (report, _unfinished) = store_events_before_moves(&db, &events).await.unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        check_consistent(&db).await;
        finish_all(&db).await.unwrap();
        check(&db, &[chrono_tz::UTC], &NOWS).await;

        // A tier change while a move is pending, with a generation in the same batch.
        change_and_stop_after_a_part(&db, "plus").await;
        let batch = [
            event(&generation(
                "n3",
                "big",
                "succeeded",
                2,
                "0.02",
                "2026-11-05T12:05:00Z",
            )),
            event(&user("big", "free", 10)),
        ];
        assert_eq!(store_events(&db, &batch).await.unwrap().stored, 2);
        assert_eq!(pending_moves(&db).await, []);
        check(&db, &[chrono_tz::UTC], &NOWS).await;
    })
    .await;
}

#[tokio::test]
async fn a_rebuild_finishes_a_pending_move() {
    on_each_backend(|db| async move {
        import(&db, &long_history()).await;
        change_and_stop_after_a_part(&db, "pro").await;
        assert!(rebuild(&db).await.unwrap().were_exact);
        assert_eq!(pending_moves(&db).await, []);
        check(&db, &[chrono_tz::UTC], &NOWS).await;
    })
    .await;
}
