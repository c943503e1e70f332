//! The ranking from the per-user totals against straightforward SQL over the raw rows, on
//! both backends: a long tail of users, ties, free generations, refunds and corrections,
//! over windows of every length and edge.

use super::*;
use crate::buckets::QUARTER;
use crate::db::testing::{on_each_backend, sqlite_plan};
use crate::db::Db;
use crate::ingest::import_lines;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

/// 2026-09-01T00:00:00Z.
fn origin() -> i64 {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .unwrap()
        .timestamp_micros()
}

fn at(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap()
        .to_rfc3339()
}

/// 3,000 generations over 120 days by 300 users, the heaviest making most (more users
/// than a page of a bucket holds); costs from a few
/// values so that users tie, some free; every seventh failed and most of those refunded;
/// then a few corrections that move generations to another user and another time.
fn events() -> Vec<Value> {
    let mut rng = fastrand::Rng::with_seed(21);
    let mut events = Vec::new();
    for n in 0..3000 {
        let user = (300.0 * rng.f64().powi(3)) as u32;
        let created = origin() + rng.i64(0..120 * DAY);
        let cost = ["0", "0.01", "0.02", "0.05"][rng.usize(..4)];
        let status = if n % 7 == 0 { "failed" } else { "succeeded" };
        events.push(json!({"kind": "generation", "id": format!("g{n}"), "user_id": format!("u{user:03}"),
            "provider": "Seedream", "status": status, "credits": 1 + rng.i64(0..4), "cost_usd": cost,
            "created_at": at(created)}));
        if status == "failed" && n % 3 != 0 {
            events.push(
                json!({"kind": "refund", "generation_id": format!("g{n}"), "credits": 1,
                "at": at(created + 60_000_000)}),
            );
        }
    }
    for n in (0..3000).step_by(97) {
        events.push(
            json!({"kind": "generation", "id": format!("g{n}"), "user_id": "u299",
            "provider": "Seedream", "status": "succeeded", "credits": 2, "cost_usd": "0.03",
            "created_at": at(origin() + (n as i64) * 3_600_000_000)}),
        );
    }
    events
}

async fn import(db: &Db) {
    let text: String = events().iter().map(|e| format!("{e}\n")).collect();
    let report = import_lines(db, text.as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

/// Every user with a generation in `window`, ranked from the raw rows.
async fn straightforward(db: &Db, (start, end): Range) -> Vec<UserSum> {
    let rows = sqlx::query(
        "SELECT g.user_id, COUNT(*) AS generations,
                CAST(SUM(g.cost_micros) AS BIGINT) AS cost_micros,
                CAST(SUM(g.credits - COALESCE(r.credits, 0)) AS BIGINT) AS consumed
         FROM generations g LEFT JOIN refunds r ON r.generation_id = g.id
         WHERE g.created_at >= $1 AND g.created_at < $2
         GROUP BY g.user_id
         ORDER BY cost_micros DESC, g.user_id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.iter().map(|row| read_sum(row).unwrap()).collect()
}

/// Windows of every kind: a day, a day and a bit, a week, 30 days, a month, 119 days, the
/// whole 400 days, ones ending on and off bucket edges, an empty one and one before it all.
fn windows() -> Vec<Range> {
    let o = origin();
    let minute = 60_000_000;
    vec![
        (o + 10 * DAY, o + 11 * DAY),
        (o + 10 * DAY + 7 * minute, o + 11 * DAY + 7 * minute),
        (o + 40 * DAY - 24 * 60 * minute, o + 40 * DAY + 37 * minute),
        (o + 3 * DAY + 5 * QUARTER + 3, o + 10 * DAY + 2 * minute),
        (o + 30 * DAY + 11 * minute, o + 60 * DAY + 11 * minute),
        (
            o + 61 * DAY - 5 * 60 * minute,
            o + 91 * DAY - 5 * 60 * minute,
        ),
        (o + minute, o + 119 * DAY + minute),
        (o + 120 * DAY - 400 * DAY, o + 120 * DAY),
        (o + 50 * DAY, o + 50 * DAY),
        (o - 30 * DAY, o - DAY),
    ]
}

#[tokio::test]
async fn the_costliest_users_are_those_of_the_raw_rows_in_every_window() {
    on_each_backend(|db| async move {
        import(&db).await;
        for window in windows() {
            let all = straightforward(&db, window).await;
            for n in [1, 3, 10, 100] {
                let mut tx = db.begin_snapshot().await.unwrap();
                let ranked = costliest(&mut tx, window, n).await.unwrap();
                let expected: Vec<UserSum> = all.iter().take(n).cloned().collect();
                assert_eq!(ranked, expected, "top {n} of {window:?}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn users_over_a_limit_are_those_of_the_raw_rows() {
    on_each_backend(|db| async move {
        import(&db).await;
        for window in windows() {
            let all = straightforward(&db, window).await;
            for limit in [0, 10_000, 50_000, 200_000, 1_000_000] {
                let mut conn = db.pool.acquire().await.unwrap();
                let over_limit = over(&mut conn, window, limit, 5).await.unwrap();
                let expected: Vec<UserSum> = all
                    .iter()
                    .filter(|sum| sum.cost_micros > limit)
                    .take(5)
                    .cloned()
                    .collect();
                assert_eq!(over_limit, expected, "over {limit} in {window:?}");
            }
        }
    })
    .await;
}

#[test]
fn a_month_lies_in_at_most_two_long_buckets_and_a_day_in_two_days() {
    let o = origin();
    for start in (0..40).map(|d| o + d * DAY + 7) {
        assert!(
            covering(
                (start, start + 31 * DAY),
                bounding_span((start, start + 31 * DAY))
            )
            .len()
                <= 2
        );
        assert_eq!(bounding_span((start, start + DAY)), DAY);
        assert!(covering((start, start + DAY), DAY).len() <= 2);
    }
}

/// What SQLite does for the users over a limit in the 24 hours to `end`.
async fn over_limit_plan(conn: &mut AnyConnection, end: i64) -> Vec<String> {
    let mut values = vec![10_000];
    let over = over_limit_sql((end - DAY, end), "$1", &mut values);
    sqlite_plan(conn, &over, &values).await
}

/// The candidates are read from each covering day's users by cost, not from every user of
/// the days: a few index entries whatever the number of users.
#[tokio::test]
async fn users_over_a_limit_are_chosen_from_few_index_entries() {
    let (db, _folder) = crate::db::testing::fresh_sqlite().await;
    import(&db).await;
    let mut conn = db.pool.acquire().await.unwrap();
    for analyzed in [false, true] {
        if analyzed {
            sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
        }
        let plan = over_limit_plan(&mut conn, origin() + 40 * DAY + 13 * 3_600_000_000).await;
        assert_steps(
            &plan,
            "user_totals_bucket_cost",
            "bucket=? AND cost_micros>?",
        );
    }
}

/// The plan has steps that name `reading`, and each of them says `does`.
fn assert_steps(plan: &[String], reading: &str, does: &str) {
    let steps: Vec<&String> = plan.iter().filter(|step| step.contains(reading)).collect();
    assert!(!steps.is_empty(), "{plan:#?}");
    for step in steps {
        assert!(step.contains(does), "{plan:#?}");
    }
}

/// The raw rows at a window's edges are summed from the index of each user's generations
/// by time, which carries their cost and credits: no look-up of each row in the table.
#[tokio::test]
async fn users_edges_are_read_from_the_index_alone() {
    let (db, _folder) = crate::db::testing::fresh_sqlite().await;
    import(&db).await;
    let mut conn = db.pool.acquire().await.unwrap();
    let end = origin() + 40 * DAY + 13 * 3_600_000_000;
    let mut values = Vec::new();
    let sums = sums_sql((end - 30 * DAY, end), &mut values);
    let sql = format!("WITH chosen AS (SELECT id FROM users WHERE id IN ('u001', 'u002')) {sums}");
    let plan = sqlite_plan(&mut conn, &sql, &values).await;
    assert_steps(
        &plan,
        " generations ",
        "USING COVERING INDEX generations_user_id_created_at",
    );
}
