//! The totals on real SQLite and PostgreSQL databases: they move by exactly each change,
//! a rebuild from the raw rows finds them exact, the figures from them equal the
//! straightforward SQL in every kind of zone, and concurrent writers lose nothing.

use super::super::*;
use crate::db::testing::on_each_backend;
use crate::db::Db;
use crate::figures::{load, load_from};
use crate::ingest::{import_lines, store_events};
use crate::parts::Source;
use crate::report::ReportSettings;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::event::{parse_event, Event};
use serde_json::{json, Value};

pub(super) fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn event(value: &Value) -> Event {
    parse_event(&value.to_string()).unwrap()
}

pub(super) async fn import(db: &Db, events: &[Value]) {
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let report = import_lines(db, text.as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

/// The rebuild finds the totals exact, and the figures from them equal the raw SQL's.
pub(super) async fn check(db: &Db, zones: &[Tz], nows: &[&str]) {
    assert!(
        rebuild(db).await.unwrap().were_exact,
        "the totals drifted from the raw rows"
    );
    for &zone in zones {
        let settings = ReportSettings::in_zone(zone);
        for now in nows {
            let fast = load(db, &settings, utc(now), None).await.unwrap();
            let raw = load_from(db, Source::RawRows, &settings, utc(now), None)
                .await
                .unwrap();
            assert_eq!(fast, raw, "at {now} in {zone}");
        }
    }
}

pub(super) fn generation(
    id: &str,
    user: &str,
    status: &str,
    credits: i64,
    cost: &str,
    at: &str,
) -> Value {
    json!({"kind": "generation", "id": id, "user_id": user, "provider": "Seedream", "status": status,
           "credits": credits, "cost_usd": cost, "created_at": at})
}

#[tokio::test]
async fn totals_move_by_exactly_each_change() {
    on_each_backend(|db| async move {
        let nows = ["2026-11-15T12:07:00Z", "2026-11-15T10:00:00Z", "2026-11-20T00:00:00Z"];
        let zones = [chrono_tz::UTC, chrono_tz::Asia::Kathmandu];
        let steps: Vec<Vec<Value>> = vec![
            vec![
                json!({"kind": "user", "id": "u1", "tier": "pro", "credits": 50}),
                generation("g1", "u1", "pending", 3, "0", "2026-11-15T09:58:00Z"),
                generation("g2", "u2", "succeeded", 2, "0.039", "2026-11-15T10:01:00Z"),
            ],
            // Finished, then corrected; a failure refunded.
            vec![
                generation("g1", "u1", "succeeded", 3, "0.04", "2026-11-15T09:58:00Z"),
                generation("g3", "u1", "failed", 4, "0.01", "2026-11-14T23:59:59Z"),
                json!({"kind": "refund", "generation_id": "g3", "credits": 4, "at": "2026-11-15T00:00:30Z"}),
            ],
            vec![generation("g1", "u1", "failed", 3, "0.04", "2026-11-15T09:58:00Z")],
            // A generation moves to another user and an earlier time; a stale pending.
            vec![
                generation("g2", "u1", "succeeded", 2, "0.039", "2026-11-01T00:10:00Z"),
                generation("g1", "u1", "pending", 3, "0", "2026-11-15T09:58:00Z"),
            ],
            // The user changes tier and balance: this month's consumption moves along.
            vec![
                json!({"kind": "user", "id": "u1", "tier": "plus", "credits": 7}),
                json!({"kind": "user", "id": "u2", "tier": "pro", "credits": 1}),
                generation("g4", "u2", "succeeded", 1, "0.000001", "2026-11-15T12:06:59.999999Z"),
            ],
        ];
        for step in &steps {
            import(&db, step).await;
            check(&db, &zones, &nows).await;
        }
        // Everything again changes nothing.
        let all: Vec<Value> = steps.concat();
        let text: String = all.iter().map(|e| format!("{e}\n")).collect();
        let report = import_lines(&db, text.as_bytes(), false).await.unwrap();
        let before = Snapshot::read(&mut db.pool.acquire().await.unwrap()).await.unwrap();
        check(&db, &zones, &nows).await;
        let after = Snapshot::read(&mut db.pool.acquire().await.unwrap()).await.unwrap();
        assert_eq!(before, after);
        assert!(report.rejected.is_empty());
        let settings = ReportSettings::in_zone(chrono_tz::UTC);
        let stats = load(&db, &settings, utc("2026-11-15T12:07:00Z"), None).await.unwrap();
        assert_eq!(stats.month_stats.generations, 4);
        assert_eq!(stats.today_stats.active_users, 2);
        assert_eq!(stats.user_stats.credits_by_tier.plus.total_consumed, 3 + 2);
        assert_eq!(stats.user_stats.credits_by_tier.pro.total_consumed, 1);
        assert_eq!(stats.user_stats.credits_by_tier.pro.total_credits, 1);
    })
    .await;
}

/// Generations with every status at odd seconds over ten months, refunds, and users who
/// change tier: the figures from the totals equal the raw SQL's around local midnights,
/// daylight-saving days and in zones 30 and 45 minutes off the hour.
#[tokio::test]
async fn figures_from_totals_equal_the_raw_sql_in_every_kind_of_zone() {
    on_each_backend(|db| async move {
        let mut rng = fastrand::Rng::with_seed(7);
        let start = utc("2026-02-01T00:00:00Z").timestamp_micros();
        let span = utc("2026-11-20T00:00:00Z").timestamp_micros() - start;
        let mut events = Vec::new();
        for n in 0..1_500 {
            let at = DateTime::from_timestamp_micros(start + rng.i64(0..span)).unwrap();
            let status = ["pending", "succeeded", "succeeded", "failed"][rng.usize(..4)];
            let credits = rng.i64(1..5);
            let mut g = generation(
                &format!("g{n}"),
                &format!("u{}", rng.u32(..40)),
                status,
                credits,
                &format!("0.{:06}", rng.u32(..1_000_000)),
                &at.to_rfc3339(),
            );
            g["provider"] = json!(["NanoBanana", "Seedream", "Flux"][rng.usize(..3)]);
            events.push(g);
            if status == "failed" && rng.bool() {
                let refund_at = at + chrono::Duration::minutes(rng.i64(0..3_000));
                events.push(json!({"kind": "refund", "generation_id": format!("g{n}"),
                                   "credits": rng.i64(1..=credits), "at": refund_at.to_rfc3339()}));
            }
            if n % 100 == 0 {
                let tier = ["free", "plus", "pro"][rng.usize(..3)];
                events.push(json!({"kind": "user", "id": format!("u{}", rng.u32(..40)),
                                   "tier": tier, "credits": rng.u32(..20)}));
            }
        }
        import(&db, &events).await;
        let zones = [
            chrono_tz::UTC,
            chrono_tz::Asia::Kolkata,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::America::St_Johns,
            chrono_tz::America::New_York,
            chrono_tz::Europe::Berlin,
            chrono_tz::Australia::Lord_Howe,
        ];
        let nows = [
            "2026-03-08T05:00:00Z",        // New York's spring-forward day starts
            "2026-03-08T17:22:13.123456Z", // during it
            "2026-03-29T01:14:59Z",        // Berlin springs forward
            "2026-10-25T23:59:59.999999Z", // Berlin's 25-hour day
            "2026-11-01T06:45:00Z",        // New York falls back
            "2026-11-01T18:30:00Z",        // midnight in Kolkata
            "2026-11-10T18:15:00.000001Z", // just after midnight in Kathmandu
            "2026-11-20T00:00:00Z",        // after the last generation
        ];
        check(&db, &zones, &nows).await;
    })
    .await;
}

/// 16 tasks send overlapping batches at once: the same events repeated, pending ones
/// finishing, refunds, users changing tier back and forth.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_nothing_and_count_nothing_twice() {
    on_each_backend(|db| async move {
        const GENERATIONS: usize = 200;
        let at = |n: usize| format!("2026-11-15T{:02}:{:02}:07Z", n / 60 % 12, n % 60);
        let pending = |n: usize| {
            generation(&format!("g{n}"), &format!("u{}", n % 10), "pending", 2, "0", &at(n))
        };
        let finished = |n: usize| {
            let status = if n.is_multiple_of(4) { "failed" } else { "succeeded" };
            generation(&format!("g{n}"), &format!("u{}", n % 10), status, 2, "0.013", &at(n))
        };
        let refund = |n: usize| {
            json!({"kind": "refund", "generation_id": format!("g{n}"), "credits": 2, "at": at(n)})
        };
        let mut tasks = Vec::new();
        for task in 0..16usize {
            let db = db.clone();
            // Each task covers half of the generations, overlapping with every other task.
            let mine: Vec<usize> = (0..GENERATIONS).filter(|n| (n + task) % 2 == 0 || n % 3 == 0).collect();
            let mut batches: Vec<Vec<Value>> = vec![Vec::new(); 3];
            for &n in &mine {
                batches[0].push(pending(n));
                batches[1].push(pending(n));
                batches[1].push(finished(n));
                batches[2].push(finished(n));
                if n % 4 == 0 {
                    batches[2].push(refund(n));
                }
            }
            for (i, batch) in batches.iter_mut().enumerate() {
                let tier = ["free", "plus", "pro"][(task + i) % 3];
                batch.push(json!({"kind": "user", "id": format!("u{}", task % 10), "tier": tier, "credits": task}));
            }
            tasks.push(tokio::spawn(async move {
                for batch in batches {
                    let events: Vec<Event> = batch.iter().map(event).collect();
                    let report = store_events(&db, &events).await.unwrap();
                    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }

        let mut conn = db.pool.acquire().await.unwrap();
        let row = sqlx::query(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'failed'),
                    COUNT(*) FILTER (WHERE status = 'pending'), CAST(SUM(cost_micros) AS BIGINT)
             FROM generations",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let counts: (i64, i64, i64, i64) = (
            row.try_get(0).unwrap(),
            row.try_get(1).unwrap(),
            row.try_get(2).unwrap(),
            row.try_get(3).unwrap(),
        );
        assert_eq!(counts, (200, 50, 0, 200 * 13_000));
        let refunds: i64 = sqlx::query("SELECT COUNT(*) FROM refunds")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(refunds, 50);
        // The store keeps each row's parent (there are no foreign keys: migration 0004).
        let orphans: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM generations g
                     WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = g.user_id))
                  + (SELECT COUNT(*) FROM refunds r
                     WHERE NOT EXISTS (SELECT 1 FROM generations g WHERE g.id = r.generation_id))",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert_eq!(orphans, 0);
        drop(conn);

        check(&db, &[chrono_tz::UTC, chrono_tz::Asia::Kolkata], &["2026-11-15T12:00:00Z"]).await;
        let settings = ReportSettings::in_zone(chrono_tz::UTC);
        let stats = load(&db, &settings, utc("2026-11-15T12:00:00Z"), None).await.unwrap();
        assert_eq!(
            (stats.today_stats.generations, stats.today_stats.failed, stats.today_stats.successful),
            (200, 50, 150)
        );
        assert_eq!(stats.month_stats.refunds, 50);
        assert_eq!(stats.today_stats.active_users, 10);
        let consumed: i64 = model::dashboard::Tier::ALL
            .iter()
            .map(|&tier| stats.user_stats.credits_by_tier.get(tier).total_consumed)
            .sum();
        assert_eq!(consumed, 150 * 2, "charged minus refunded, whatever tier each user ended in");
        assert_eq!(stats.user_stats.credits_by_tier.free.count
            + stats.user_stats.credits_by_tier.plus.count
            + stats.user_stats.credits_by_tier.pro.count, 10);
    })
    .await;
}

/// `n` generations of `user` (ids `{prefix}{i}`) over about a week from `start`, at every
/// kind of place in the quarter hours and days, from three providers, with every status;
/// every other failure refunded in full a few minutes later.
pub(super) fn history(user: &str, prefix: &str, n: usize, start: &str) -> Vec<Value> {
    let start = utc(start);
    let mut events = Vec::new();
    for i in 0..n {
        let at = start + chrono::Duration::seconds(i as i64 * (4 * 3600 + 13 * 60 + 7));
        let status = ["succeeded", "failed", "pending", "succeeded", "failed"][i % 5];
        let credits = 1 + i as i64 % 4;
        let mut g = generation(
            &format!("{prefix}{i}"),
            user,
            status,
            credits,
            &format!("0.{:06}", 1_000 + i * 37),
            &at.to_rfc3339(),
        );
        g["provider"] = json!(["Flux", "Seedream", "NanoBanana"][i % 3]);
        if status != "pending" {
            g["completed_at"] =
                json!((at + chrono::Duration::milliseconds(300 + i as i64 * 911)).to_rfc3339());
        }
        if status == "failed" {
            g["error"] = json!(["Out of memory", "Provider rate limit exceeded (HTTP 429)"][i % 2]);
        }
        events.push(g);
        if status == "failed" && i % 2 == 0 {
            let refund_at = at + chrono::Duration::minutes(7);
            events.push(
                json!({"kind": "refund", "generation_id": format!("{prefix}{i}"),
                               "credits": credits, "at": refund_at.to_rfc3339()}),
            );
        }
    }
    events
}

pub(super) fn user(id: &str, tier: &str, credits: i64) -> Value {
    json!({"kind": "user", "id": id, "tier": tier, "credits": credits})
}

/// Users whose generations span days, quarter hours and providers, with refunds, failures
/// and a refund larger than the credits later charged, change tier: once with other
/// changes to their generations in the batch, twice and there and back within one batch,
/// across batches, and a user first seen in the batch of their tier change. After each
/// batch the totals equal a rebuild's and the figures the raw SQL's.
#[tokio::test]
async fn tier_changes_in_one_batch_and_across_batches_move_exactly_the_users_totals() {
    on_each_backend(|db| async move {
        let zones = [chrono_tz::UTC, chrono_tz::Asia::Kathmandu];
        let nows = ["2026-11-08T12:07:00Z", "2026-11-20T00:00:00Z"];
        let mut first = vec![user("u1", "free", 10), user("u2", "plus", 3)];
        first.extend(history("u1", "g", 40, "2026-11-01T23:52:00Z"));
        first.extend(history("u2", "v", 12, "2026-11-02T00:05:00Z"));
        let refunded_then_corrected = |credits: i64| {
            let mut g = generation("g4", "u1", "failed", credits, "0.001148", "2026-11-02T16:44:28+00:00");
            g["provider"] = json!("Seedream");
            g["completed_at"] = json!("2026-11-02T16:44:32.944+00:00");
            g["error"] = json!("Out of memory");
            g
        };
        let batches: Vec<Vec<Value>> = vec![
            first,
            // A tier change with its user's generations changing in the same batch: one
            // finished, one new, a refund, one refunded more than it is now charged, one
            // taken over from another user.
            vec![
                generation("g2", "u1", "succeeded", 3, "0.5", "2026-11-02T08:18:14+00:00"),
                user("u1", "pro", 10),
                generation("g_new1", "u1", "failed", 2, "0.02", "2026-11-03T00:00:00Z"),
                json!({"kind": "refund", "generation_id": "g1", "credits": 1, "at": "2026-11-03T00:14:59Z"}),
                refunded_then_corrected(0),
                generation("v0", "u1", "succeeded", 1, "0.001", "2026-11-02T00:05:00Z"),
            ],
            // Twice in one batch (pro, plus, free), with a generation between; the other
            // user changes too, and takes a generation back at an earlier time.
            vec![
                user("u1", "plus", 9),
                generation("g_new2", "u1", "succeeded", 4, "0.04", "2026-11-05T11:59:59.999999Z"),
                user("u1", "free", 9),
                user("u2", "pro", 3),
                generation("g5", "u2", "succeeded", 2, "0.01", "2026-10-31T23:59:59Z"),
            ],
            // There and back within one batch: nothing moves.
            vec![
                user("u1", "pro", 9),
                generation("g_new3", "u1", "pending", 1, "0", "2026-11-06T06:06:06Z"),
                user("u1", "free", 9),
                user("u2", "plus", 3),
            ],
            // A user first seen through their generations, and their tier in the same batch;
            // and one more change across batches.
            {
                let mut batch = history("u3", "w", 8, "2026-11-03T10:00:00Z");
                batch.push(user("u3", "pro", 1));
                batch.push(user("u1", "plus", 9));
                batch
            },
            vec![user("u3", "free", 1), user("u1", "pro", 9), user("u2", "free", 3)],
        ];
        for batch in &batches {
            let events: Vec<Event> = batch.iter().map(event).collect();
            let report = store_events(&db, &events).await.unwrap();
            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
            check(&db, &zones, &nows).await;
        }
        // The whole history again, as one import: nothing changes.
        let before = Snapshot::read(&mut db.pool.acquire().await.unwrap()).await.unwrap();
        import(&db, &batches.concat()).await;
        check(&db, &zones, &nows).await;
        let after = Snapshot::read(&mut db.pool.acquire().await.unwrap()).await.unwrap();
        assert_eq!(before, after);
        let settings = ReportSettings::in_zone(chrono_tz::UTC);
        let stats = load(&db, &settings, utc("2026-11-20T00:00:00Z"), None).await.unwrap();
        let tiers = &stats.user_stats.credits_by_tier;
        assert!(tiers.pro.total_consumed > 0 && tiers.free.total_consumed > 0);
        assert_eq!(tiers.plus.total_consumed, 0, "nobody is on plus any more");
    })
    .await;
}

/// A tier change moves the user's totals in the database: none of their generations is
/// read into the program, however many they have.
#[tokio::test]
async fn a_tier_change_reads_none_of_the_users_generations() {
    use crate::ingest::store::GENERATIONS_READ;
    on_each_backend(|db| async move {
        let mut events = vec![user("u1", "free", 10)];
        events.extend(history("u1", "g", 500, "2026-11-01T00:00:00Z"));
        import(&db, &events).await;
        let read = || GENERATIONS_READ.with(std::cell::Cell::get);
        let before = read();
        let change = [event(&user("u1", "pro", 10))];
        assert_eq!(store_events(&db, &change).await.unwrap().stored, 1);
        assert_eq!(read() - before, 0, "generation rows read for a tier change");
        // With a change to one of them in the batch, that one only.
        let before = read();
        let batch = [
            event(&user("u1", "plus", 10)),
            event(&generation(
                "g2",
                "u1",
                "succeeded",
                3,
                "0.5",
                "2026-11-01T08:26:14Z",
            )),
        ];
        assert_eq!(store_events(&db, &batch).await.unwrap().stored, 2);
        assert_eq!(read() - before, 1);
        check(&db, &[chrono_tz::UTC], &["2026-11-20T00:00:00Z"]).await;
    })
    .await;
}

/// A history longer than one statement moves (5 generations in the tests) moves in parts
/// of creation times, each ending with all the generations of its last instant: twelve
/// at one instant, parts that end inside a quarter hour, and users moved together while
/// their histories fit one statement.
#[tokio::test]
async fn a_long_history_moves_in_parts_without_losing_a_tie() {
    on_each_backend(|db| async move {
        let mut events = vec![
            user("u1", "free", 10),
            user("u2", "free", 1),
            user("u3", "free", 1),
        ];
        for i in 0..12 {
            let id = format!("tie{i}");
            let status = ["succeeded", "failed"][i % 2];
            events.push(generation(
                &id,
                "u1",
                status,
                2,
                "0.01",
                "2026-11-01T10:07:00Z",
            ));
        }
        events.extend(history("u1", "g", 9, "2026-11-01T10:07:00Z"));
        events.extend(history("u2", "v", 2, "2026-11-02T00:00:00Z"));
        events.extend(history("u3", "w", 3, "2026-11-02T00:00:00Z"));
        import(&db, &events).await;
        let batch = [
            event(&user("u1", "pro", 10)),
            event(&user("u2", "plus", 1)),
            event(&user("u3", "plus", 1)),
        ];
        assert_eq!(store_events(&db, &batch).await.unwrap().stored, 3);
        check(&db, &[chrono_tz::UTC], &["2026-11-20T00:00:00Z"]).await;
        let back = [event(&user("u1", "free", 10)), event(&user("u2", "pro", 1))];
        assert_eq!(store_events(&db, &back).await.unwrap().stored, 2);
        check(&db, &[chrono_tz::UTC], &["2026-11-20T00:00:00Z"]).await;
    })
    .await;
}
