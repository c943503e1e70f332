//! The figures of docs/metrics.md on hand-built data with hand-computed answers, each on a
//! fresh SQLite database and a fresh PostgreSQL one.

use super::*;
use crate::db::testing::on_each_backend;
use crate::ingest::import_lines;
use chrono::FixedOffset;
use chrono_tz::Tz;
use serde_json::{json, Value};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn settings(zone: Tz) -> ReportSettings {
    ReportSettings::in_zone(zone)
}

async fn import(db: &Db, events: &[Value]) {
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let report = import_lines(db, text.as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let rebuilt = crate::totals::rebuild(db).await.unwrap();
    assert!(rebuilt.were_exact, "the totals moved with each event");
}

/// The figures from the totals, checked against the straightforward SQL on the raw rows.
async fn stats_at(db: &Db, zone: Tz, now: &str) -> DashboardStats {
    stats_in(db, zone, now, None).await
}

/// The same over a chosen range.
async fn stats_in(db: &Db, zone: Tz, now: &str, range: Option<DateRange>) -> DashboardStats {
    let range = range.as_ref();
    let fast = load(db, &settings(zone), utc(now), range).await.unwrap();
    let raw = load_from(db, Source::RawRows, &settings(zone), utc(now), range)
        .await
        .unwrap();
    assert_eq!(
        fast, raw,
        "totals and raw rows disagree at {now} in {zone} over {range:?}"
    );
    fast
}

fn custom(from: &str, to: &str) -> Option<DateRange> {
    let query = model::dashboard::RangeQuery {
        range: None,
        from: Some(from.into()),
        to: Some(to.into()),
    };
    DateRange::from_query(&query).unwrap()
}

fn user(id: &str, tier: &str, credits: i64) -> Value {
    json!({"kind": "user", "id": id, "tier": tier, "credits": credits})
}

/// A generation written as a table row: `"id user provider status credits cost_usd created_at"`.
fn generation(row: &str) -> Value {
    let fields: Vec<&str> = row.split_whitespace().collect();
    let [id, user, provider, status, credits, cost, created_at] = fields[..] else {
        panic!("a generation row has 7 fields: {row}")
    };
    json!({"kind": "generation", "id": id, "user_id": user, "provider": provider, "status": status,
           "credits": credits.parse::<i64>().unwrap(), "cost_usd": cost, "created_at": created_at})
}

/// A failed generation (`"id user provider credits created_at"`) with its error text.
fn failed(row: &str, error: Option<&str>) -> Value {
    let fields: Vec<&str> = row.split_whitespace().collect();
    let [id, user, provider, credits, created_at] = fields[..] else {
        panic!("a failure row has 5 fields: {row}")
    };
    let mut event = generation(&format!(
        "{id} {user} {provider} failed {credits} 0 {created_at}"
    ));
    event["completed_at"] = json!(created_at);
    if let Some(error) = error {
        event["error"] = json!(error);
    }
    event
}

fn refund(generation_id: &str, credits: i64, at: &str) -> Value {
    json!({"kind": "refund", "generation_id": generation_id, "credits": credits, "at": at})
}

fn dollars(text: &str) -> Money {
    Money::parse_dollars(text, 1_000_000).unwrap()
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < 1e-9)
}

#[tokio::test]
async fn no_data_gives_zeros_and_unknown_rates() {
    on_each_backend(|db| async move {
        let stats = stats_at(&db, chrono_tz::UTC, "2026-11-15T12:00:00Z").await;
        assert_eq!(stats.today_stats, TodayStats::default());
        assert_eq!(stats.month_stats, MonthStats::default());
        assert_eq!(stats.success_rate, None);
        assert_eq!(stats.refunds_last_7_days, 0);
        assert_eq!(stats.user_stats, UserStats::default());
        assert!(stats.providers.is_empty());
        assert!(stats.recent_failures.is_empty());
        let idle = SystemHealth {
            status: HealthStatus::Idle,
            tasks_last_24h: 0,
            failure_last_24h: 0,
            failure_rate: None,
        };
        assert_eq!(stats.system_health, idle);
        assert_eq!(stats.time_zone, "UTC");
    })
    .await;
}

#[tokio::test]
async fn only_pending_generations_count_as_tasks_but_not_in_rates() {
    on_each_backend(|db| async move {
        import(
            &db,
            &[
                generation("p1 u1 NanoBanana pending 2 0 2026-11-15T11:00:00Z"),
                generation("p2 u2 Seedream   pending 3 0 2026-11-15T11:30:00Z"),
            ],
        )
        .await;
        let stats = stats_at(&db, chrono_tz::UTC, "2026-11-15T12:00:00Z").await;
        assert_eq!(stats.today_stats.generations, 2);
        assert_eq!(stats.today_stats.active_users, 2);
        assert_eq!(
            (stats.today_stats.successful, stats.today_stats.failed),
            (0, 0)
        );
        assert_eq!(stats.success_rate, None);
        assert_eq!(stats.month_stats.success_rate, None);
        assert_eq!(stats.month_stats.average_cost, Money::ZERO);
        assert_eq!(stats.system_health.status, HealthStatus::Idle);
        assert_eq!(stats.system_health.tasks_last_24h, 2);
        assert_eq!(stats.providers.len(), 2);
        assert!(stats.providers.iter().all(|p| p.success_rate.is_none()));
        // Unknown users start as free with no credits.
        let free = TierCredits {
            count: 2,
            total_credits: 0,
            total_consumed: 5,
        };
        assert_eq!(stats.user_stats.credits_by_tier.free, free);
    })
    .await;
}

/// The reference data set: every figure, its window edges, a tier change, unknown and
/// late users, a provider with only failures, refunds outside their generation's window,
/// repeated and out-of-order events, and cents that a float would not add up exactly.
pub(super) fn reference_events() -> Vec<Value> {
    let mut g3 = generation("g3 u_up NanoBanana succeeded 2 - 2026-11-15T11:30:00Z");
    g3["cost_usd"] = json!(0.1); // a JSON number, read exactly all the same
    vec![
        user("u_pro", "pro", 300),
        user("u_up", "plus", 50),
        user("u_plus2", "plus", 25),
        user("u_free", "free", 0),
        user("u_free2", "free", 7),
        // Today (now = 2026-11-15T12:00:00Z, UTC); g13 at `now` is outside (ends are exclusive).
        generation("g1  u_pro   NanoBanana succeeded 2 0.1      2026-11-15T10:00:00Z"),
        generation("g2  u_pro   NanoBanana succeeded 2 0.1      2026-11-15T11:00:00Z"),
        g3,
        generation("g4  u_up    Seedream   pending   3 0        2026-11-15T11:45:00Z"),
        failed(
            "g4 u_up Seedream 3 2026-11-15T11:45:00Z",
            Some("Invalid image format"),
        ),
        failed("g5 u_ghost Flux 1 2026-11-15T11:50:00Z", None),
        generation("g11 u_free  NanoBanana pending   2 0        2026-11-15T11:59:30Z"),
        generation("g13 u_up    NanoBanana succeeded 2 5        2026-11-15T12:00:00Z"),
        generation("g16 u_late  Flux       succeeded 1 0.000001 2026-11-15T09:00:00Z"),
        user("u_late", "plus", 10),
        // Yesterday and earlier; g14 sits on the 24-hour edge, g17 just outside 7 days.
        generation("g6  u_free2 Seedream   succeeded 3 0.035    2026-11-14T13:00:00Z"),
        generation("g14 u_free2 Flux       succeeded 1 0.2      2026-11-14T12:00:00Z"),
        generation("g7  u_pro   Seedream   succeeded 3 0.05     2026-11-14T11:00:00Z"),
        failed(
            "g15 u_free2 Kling 1 2026-11-12T08:00:00Z",
            Some("Content policy violation"),
        ),
        generation("g8  u_up    NanoBanana failed    2 0.01     2026-11-09T12:00:00Z"),
        failed(
            "g17 u_pro NanoBanana 2 2026-11-08T11:59:59Z",
            Some("Old failure"),
        ),
        generation("g9  u_pro   NanoBanana succeeded 5 1.5      2026-11-01T00:00:00Z"),
        generation("g10 u_pro   NanoBanana succeeded 5 2        2026-10-31T23:59:59Z"),
        failed(
            "g12 u_pro Seedream 3 2026-10-10T00:00:00Z",
            Some("Too old to list"),
        ),
        refund("g4", 3, "2026-11-15T11:46:00Z"),
        refund("g5", 1, "2026-11-15T11:55:00Z"),
        refund("g8", 2, "2026-11-09T12:05:00Z"),
        refund("g12", 3, "2026-11-02T00:00:00Z"),
        refund("g17", 2, "2026-11-08T12:00:00Z"),
        // Repeats and stale news change nothing.
        generation("g1  u_pro   NanoBanana succeeded 2 0.1      2026-11-15T10:00:00Z"),
        refund("g8", 2, "2026-11-09T12:05:00Z"),
        generation("g3  u_up    NanoBanana pending   2 0        2026-11-15T11:30:00Z"),
        // A tier change: u_up's generations now count for pro.
        user("u_up", "pro", 40),
    ]
}

#[tokio::test]
async fn every_figure_on_the_reference_data() {
    on_each_backend(|db| async move {
        import(&db, &reference_events()).await;
        let stats = stats_at(&db, chrono_tz::UTC, "2026-11-15T12:00:00Z").await;

        // g1 g2 g3 g4 g5 g11 g16, by u_pro u_up u_ghost u_free u_late.
        let today = TodayStats {
            active_users: 5,
            generations: 7,
            successful: 4,
            failed: 2,
            cost: dollars("0.300001"),
        };
        assert_eq!(stats.today_stats, today);

        let month = &stats.month_stats;
        assert_eq!(
            (month.generations, month.successful, month.failed),
            (14, 8, 5)
        );
        assert_eq!(month.cost, dollars("2.095001"));
        assert_eq!(
            month.refunds, 5,
            "refunds by their own time, whatever their generation's"
        );
        assert!(
            close(month.success_rate, 800.0 / 13.0),
            "{:?}",
            month.success_rate
        );
        assert_eq!(
            month.average_cost,
            Money::from_micros(149_643),
            "2.095001 / 14, rounded"
        );

        assert!(
            close(stats.success_rate, 700.0 / 11.0),
            "{:?}",
            stats.success_rate
        );
        assert_eq!(
            stats.refunds_last_7_days, 4,
            "the window start is inclusive (g17's refund)"
        );

        let health = SystemHealth {
            status: HealthStatus::Critical,
            tasks_last_24h: 9,
            failure_last_24h: 2,
            failure_rate: Some(25.0),
        };
        assert_eq!(stats.system_health, health);

        let providers: Vec<_> = (stats.providers.iter())
            .map(|p| {
                (
                    p.name.as_str(),
                    p.total_calls,
                    p.successful,
                    p.failed,
                    p.total_cost,
                )
            })
            .collect();
        let expected = [
            ("NanoBanana", 8, 5, 2, dollars("3.81")),
            ("Flux", 3, 2, 1, dollars("0.200001")),
            ("Seedream", 3, 2, 1, dollars("0.085")),
            ("Kling", 1, 0, 1, Money::ZERO),
        ];
        assert_eq!(providers, expected);
        assert!(close(stats.providers[0].success_rate, 500.0 / 7.0));
        assert_eq!(
            stats.providers[3].success_rate,
            Some(0.0),
            "only failures is 0 %, not unknown"
        );

        let tiers = &stats.user_stats.credits_by_tier;
        assert_eq!(
            tiers.pro,
            TierCredits {
                count: 2,
                total_credits: 340,
                total_consumed: 14
            }
        );
        assert_eq!(
            tiers.plus,
            TierCredits {
                count: 2,
                total_credits: 35,
                total_consumed: 1
            }
        );
        assert_eq!(
            tiers.free,
            TierCredits {
                count: 3,
                total_credits: 7,
                total_consumed: 7
            }
        );
        assert_eq!(stats.user_stats.users_with_credits, 5);
        assert_eq!(stats.user_stats.total_credits_in_circulation, 382);

        let failures: Vec<_> = (stats.recent_failures.iter())
            .map(|f| {
                (
                    f.id.as_str(),
                    f.provider.as_str(),
                    f.error.as_str(),
                    f.time.to_rfc3339(),
                )
            })
            .collect();
        let expected = [
            (
                "g5",
                "Flux",
                "Unknown error",
                "2026-11-15T11:50:00+00:00".to_owned(),
            ),
            (
                "g4",
                "Seedream",
                "Invalid image format",
                "2026-11-15T11:45:00+00:00".to_owned(),
            ),
            (
                "g15",
                "Kling",
                "Content policy violation",
                "2026-11-12T08:00:00+00:00".to_owned(),
            ),
            (
                "g8",
                "NanoBanana",
                "Unknown error",
                "2026-11-09T12:00:00+00:00".to_owned(),
            ),
        ];
        assert_eq!(failures, expected);
    })
    .await;
}

#[tokio::test]
async fn no_figure_depends_on_its_place_in_the_list() {
    on_each_backend(|db| async move {
        import(&db, &reference_events()).await;
        let (now, zone) = (utc("2026-11-15T12:00:00Z"), chrono_tz::UTC);
        let settings = settings(zone);
        let report = Report {
            now,
            windows: Windows::chosen(now, zone, None),
            settings: &settings,
        };
        let mut reversed = figures(&report);
        reversed.reverse();
        statement::run(&db, Source::Totals, &mut reversed)
            .await
            .unwrap();
        let stats = finished(reversed, blank(&report, None));
        assert_eq!(stats, load(&db, &settings, now, None).await.unwrap());
        assert!(
            stats.month_stats.projected_cost.is_some(),
            "the projection read the month"
        );
        assert!(
            stats.providers.iter().all(|p| p.latency_p50_ms.is_some()),
            "the latency filled in the providers"
        );
    })
    .await;
}

#[tokio::test]
async fn at_most_ten_recent_failures_newest_first() {
    on_each_backend(|db| async move {
        let events: Vec<_> = (0..12)
            .map(|n| {
                failed(
                    &format!("f{n:02} u NanoBanana 1 2026-11-15T{n:02}:00:00Z"),
                    Some("boom"),
                )
            })
            .collect();
        import(&db, &events).await;
        let stats = stats_at(&db, chrono_tz::UTC, "2026-11-15T12:00:00Z").await;
        let ids: Vec<_> = stats
            .recent_failures
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["f11", "f10", "f09", "f08", "f07", "f06", "f05", "f04", "f03", "f02"]
        );
    })
    .await;
}

#[tokio::test]
async fn new_york_fall_back_day_is_local() {
    // 1 Nov 2026 in New York is 25 hours long: 04:00Z (00:00 EDT) to 05:00Z on the 2nd.
    on_each_backend(|db| async move {
        import(
            &db,
            &[
                generation("oct u  NanoBanana succeeded 1 1   2026-11-01T03:59:59Z"),
                generation("a   u  NanoBanana succeeded 1 0.1 2026-11-01T04:00:00Z"),
                generation("b   u  NanoBanana failed    1 0   2026-11-01T12:00:00Z"),
                generation("c   u2 NanoBanana succeeded 1 0.2 2026-11-02T01:00:00Z"),
                generation("d   u2 Seedream   succeeded 1 0.3 2026-11-02T04:29:59Z"),
            ],
        )
        .await;
        let now = "2026-11-02T04:30:00Z"; // 23:30 EST on 1 Nov
        let stats = stats_at(&db, chrono_tz::America::New_York, now).await;
        assert_eq!(stats.today_stats.generations, 4);
        assert_eq!(stats.today_stats.cost, dollars("0.6"));
        assert_eq!(
            stats.month_stats.generations, 4,
            "23:59:59 EDT on 31 Oct is last month"
        );
        assert_eq!(stats.generated_at.to_rfc3339(), "2026-11-01T23:30:00-05:00");
        assert_eq!(stats.time_zone, "America/New_York");

        // The same data in UTC: "today" is the 2nd, and November holds all five.
        let stats = stats_at(&db, chrono_tz::UTC, now).await;
        assert_eq!(stats.today_stats.generations, 2);
        assert_eq!(stats.month_stats.generations, 5);
    })
    .await;
}

#[tokio::test]
async fn berlin_spring_forward_day_is_local() {
    // 29 Mar 2026 in Berlin is 23 hours long: from 23:00Z on the 28th (00:00 CET).
    on_each_backend(|db| async move {
        import(
            &db,
            &[
                generation("feb  u NanoBanana succeeded 1 1    2026-02-28T22:30:00Z"),
                generation("mar1 u NanoBanana succeeded 1 1    2026-02-28T23:30:00Z"),
                generation("sat  u NanoBanana succeeded 1 1    2026-03-28T22:59:59Z"),
                generation("a    u NanoBanana succeeded 1 0.25 2026-03-28T23:00:00Z"),
                generation("b    u NanoBanana failed    1 0    2026-03-29T01:30:00Z"),
                generation("c    u NanoBanana succeeded 1 0.5  2026-03-29T21:29:00Z"),
            ],
        )
        .await;
        let stats = stats_at(&db, chrono_tz::Europe::Berlin, "2026-03-29T21:30:00Z").await; // 23:30 CEST
        assert_eq!(
            (stats.today_stats.generations, stats.today_stats.failed),
            (3, 1)
        );
        assert_eq!(stats.today_stats.cost, dollars("0.75"));
        assert_eq!(stats.month_stats.generations, 5, "from 1 Mar 00:00 CET");
        assert_eq!(stats.generated_at.to_rfc3339(), "2026-03-29T23:30:00+02:00");
    })
    .await;
}

#[tokio::test]
async fn month_starts_at_local_midnight_of_the_first() {
    on_each_backend(|db| async move {
        import(
            &db,
            &[
                generation("last  u P succeeded 1 1 2026-11-30T18:29:59Z"),
                generation("first u P succeeded 1 2 2026-11-30T18:30:00Z"),
                refund("last", 1, "2026-11-30T18:30:00Z"),
            ],
        )
        .await;
        // Kolkata is +05:30: 1 Dec begins at 18:30Z on 30 Nov.
        let stats = stats_at(&db, chrono_tz::Asia::Kolkata, "2026-11-30T19:00:00Z").await;
        assert_eq!(stats.month_stats.generations, 1);
        assert_eq!(stats.month_stats.cost, dollars("2"));
        assert_eq!(
            stats.month_stats.refunds, 1,
            "a refund this month of last month's generation"
        );
        assert_eq!(stats.today_stats.generations, 1);
        let consumed = stats.user_stats.credits_by_tier.free.total_consumed;
        assert_eq!(
            consumed, 1,
            "the refund does not reduce this month: its generation is last month's"
        );
    })
    .await;
}

#[tokio::test]
async fn health_thresholds_are_configurable() {
    on_each_backend(|db| async move {
        let mut events: Vec<_> = (0..19)
            .map(|n| generation(&format!("s{n} u P succeeded 1 0 2026-11-15T11:00:00Z")))
            .collect();
        events.push(failed("f u P 1 2026-11-15T11:00:00Z", None));
        import(&db, &events).await;
        let now = utc("2026-11-15T12:00:00Z");
        let stats = load(&db, &settings(chrono_tz::UTC), now, None)
            .await
            .unwrap();
        assert_eq!(
            stats.system_health.status,
            HealthStatus::Degraded,
            "1 in 20 is 5 %"
        );
        let health = HealthThresholds {
            degraded_at_percent: 10.0,
            critical_at_percent: 50.0,
        };
        let lenient = ReportSettings {
            health,
            ..settings(chrono_tz::UTC)
        };
        assert_eq!(
            load(&db, &lenient, now, None)
                .await
                .unwrap()
                .system_health
                .status,
            HealthStatus::Healthy
        );
    })
    .await;
}

/// The partial days and quarters at a window's edges, read as the bucket's total minus the
/// rows outside the window: rows after `now` (a sender's clock ahead) and rows just before
/// a rolling window's start stay out, those just inside count, on every figure.
#[tokio::test]
async fn edges_read_from_their_quarter_count_only_what_is_inside() {
    on_each_backend(|db| async move {
        import(
            &db,
            &[
                user("u1", "pro", 10),
                user("u2", "free", 0),
                // now is 12:04; its quarter is 12:00-12:15.
                generation("in1  u1 Flux    succeeded 2 0.10 2026-11-15T12:01:00Z"),
                failed("in2  u1 Flux    3 2026-11-15T12:03:59Z", Some("boom")),
                generation("late u2 Flux    succeeded 5 0.50 2026-11-15T12:04:00Z"),
                generation("fut  u2 Seedream succeeded 7 0.70 2026-11-15T12:10:00Z"),
                // Later today and tomorrow: in the day's total that today is read from.
                generation("fut2 u2 Seedream failed    7 0.70 2026-11-15T13:00:00Z"),
                generation("fut3 u2 Seedream succeeded 7 0.70 2026-11-16T01:00:00Z"),
                refund("in2", 3, "2026-11-15T12:03:59Z"),
                // The last 24 h start at 12:04 yesterday, in the quarter 12:00-12:15.
                generation("old1 u1 Flux    succeeded 1 0.01 2026-11-14T12:03:00Z"),
                generation("old2 u1 Flux    succeeded 1 0.02 2026-11-14T12:04:00Z"),
                generation("old3 u1 Flux    succeeded 1 0.04 2026-11-14T12:14:00Z"),
            ],
        )
        .await;
        let stats = stats_at(&db, chrono_tz::UTC, "2026-11-15T12:04:00Z").await;
        assert_eq!(stats.today_stats.generations, 2);
        assert_eq!(stats.today_stats.active_users, 1);
        assert_eq!(stats.today_stats.cost, dollars("0.10"));
        assert_eq!(
            stats.system_health.tasks_last_24h, 4,
            "old2, old3, in1, in2"
        );
        assert_eq!(stats.refunds_last_7_days, 1);
        assert_eq!(
            stats.user_stats.credits_by_tier.pro.total_consumed,
            2 + 1 + 1 + 1
        );
        assert_eq!(stats.user_stats.credits_by_tier.free.total_consumed, 0);
        assert_eq!(stats.providers.len(), 1, "{:?}", stats.providers);
    })
    .await;
}

/// Early in the day, a rolling window's first day is read as that day's total less its
/// first hours: rows in those hours stay out, on every figure.
#[tokio::test]
async fn a_rolling_windows_first_day_is_its_day_less_the_hours_before_it() {
    on_each_backend(|db| async move {
        import(
            &db,
            &[
                user("u1", "pro", 10),
                // now is 03:04 on the 15th; the last 24 h start at 03:04 on the 14th.
                generation("early u1 Flux     succeeded 1 0.01 2026-11-14T01:00:00Z"),
                failed("edge  u1 Seedream 2 2026-11-14T03:03:00Z", None),
                generation("in1   u1 Flux     succeeded 4 0.04 2026-11-14T03:05:00Z"),
                failed("in2   u1 Seedream 8 2026-11-14T20:00:00Z", Some("boom")),
                refund("in2", 8, "2026-11-14T20:01:00Z"),
                generation("now   u1 Flux     succeeded 16 0.16 2026-11-15T03:00:00Z"),
            ],
        )
        .await;
        let stats = stats_at(&db, chrono_tz::UTC, "2026-11-15T03:04:00Z").await;
        assert_eq!(stats.system_health.tasks_last_24h, 3, "in1, in2, now");
        assert_eq!(stats.system_health.failure_last_24h, 1);
        assert_eq!(stats.today_stats.generations, 1);
        let names: Vec<&str> = stats.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // In Tokyo (UTC+9) the same instant is 12:04 on the 15th: today began at 15:00 UTC.
        let stats = stats_at(&db, chrono_tz::Asia::Tokyo, "2026-11-15T03:04:00Z").await;
        assert_eq!(stats.today_stats.generations, 2, "in2, now");
    })
    .await;
}

#[tokio::test]
async fn last_month_replaces_every_window_but_healths() {
    on_each_backend(|db| async move {
        import(&db, &reference_events()).await;
        let now = "2026-11-15T12:00:00Z";
        let default = stats_at(&db, chrono_tz::UTC, now).await;
        let last_month = Some(DateRange::Preset(model::dashboard::Preset::LastMonth));
        let stats = stats_in(&db, chrono_tz::UTC, now, last_month).await;
        let range = stats.range.as_ref().unwrap();
        assert_eq!(range.label, "Last month");
        assert_eq!(range.from.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        assert_eq!(range.to.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(default.range, None);

        // October: g10 (succeeded, $2) and g12 (failed), both by u_pro; g12's refund is in November.
        let october = TodayStats {
            active_users: 1,
            generations: 2,
            successful: 1,
            failed: 1,
            cost: dollars("2"),
        };
        assert_eq!(stats.today_stats, october);
        let month = &stats.month_stats;
        assert_eq!((month.generations, month.failed, month.refunds), (2, 1, 0));
        assert_eq!(month.average_cost, dollars("1"));
        assert!(close(month.success_rate, 50.0));
        assert!(close(stats.success_rate, 50.0));
        assert_eq!(stats.refunds_last_7_days, 0);
        let providers: Vec<_> = (stats.providers.iter())
            .map(|p| (p.name.as_str(), p.total_calls, p.failed))
            .collect();
        assert_eq!(providers, [("NanoBanana", 1, 0), ("Seedream", 1, 1)]);
        let failures: Vec<_> = stats
            .recent_failures
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(failures, ["g12"]);
        // g10's 5 credits, and g12's 3 less their refund.
        assert_eq!(stats.user_stats.credits_by_tier.pro.total_consumed, 5);
        assert_eq!(stats.user_stats.credits_by_tier.plus.total_consumed, 0);
        // Health, balances and users with credits are about now.
        assert_eq!(stats.system_health, default.system_health);
        assert_eq!(
            stats.user_stats.users_with_credits,
            default.user_stats.users_with_credits
        );
        assert_eq!(
            stats.user_stats.credits_by_tier.pro.total_credits,
            default.user_stats.credits_by_tier.pro.total_credits
        );
    })
    .await;
}

#[tokio::test]
async fn a_custom_range_includes_its_start_and_excludes_its_end() {
    on_each_backend(|db| async move {
        import(&db, &reference_events()).await;
        let now = "2026-11-15T12:00:00Z";
        // 10:00 to 11:46 in Kolkata is 04:30 to 06:16 UTC: nothing; in UTC: g1, g2, g3, g4.
        let morning = custom("2026-11-15T10:00", "2026-11-15T11:46");
        let stats = stats_in(&db, chrono_tz::UTC, now, morning).await;
        assert_eq!(
            stats.range.as_ref().unwrap().label,
            "2026-11-15 10:00 – 2026-11-15 11:46"
        );
        let morning_stats = TodayStats {
            active_users: 2,
            generations: 4,
            successful: 3,
            failed: 1,
            cost: dollars("0.3"),
        };
        assert_eq!(stats.today_stats, morning_stats);
        assert_eq!(
            stats.month_stats.refunds, 0,
            "g4's refund at 11:46 is at the end, outside"
        );
        let stats = stats_in(&db, chrono_tz::Asia::Kolkata, now, morning).await;
        assert_eq!(stats.today_stats, TodayStats::default());

        // One whole day: g8 failed at noon and was refunded five minutes later.
        let ninth = stats_in(&db, chrono_tz::UTC, now, custom("2026-11-09", "2026-11-09")).await;
        assert_eq!(
            (
                ninth.today_stats.generations,
                ninth.today_stats.failed,
                ninth.month_stats.refunds
            ),
            (1, 1, 1)
        );
        assert_eq!(ninth.recent_failures.len(), 1);
        assert_eq!(
            ninth.user_stats.credits_by_tier.pro.total_consumed, 0,
            "refunded in full"
        );
        // The same day seen from Tokyo ends at 15:00 UTC on the 9th: still g8, not g7 (the 14th).
        let tokyo = stats_in(
            &db,
            chrono_tz::Asia::Tokyo,
            now,
            custom("2026-11-09", "2026-11-09"),
        )
        .await;
        assert_eq!(tokyo.today_stats.generations, 1);
    })
    .await;
}

/// Failures with and without refunds around the grace period, and a refund left larger than
/// its generation's credits by a later correction; now = 2026-11-15T12:00:00Z.
fn reconciliation_events() -> Vec<Value> {
    vec![
        failed("f1 u1 Flux 2 2026-11-15T11:40:00Z", None),
        failed("f2 u1 Flux 2 2026-11-15T11:50:00Z", None),
        failed("f3 u1 Flux 2 2026-10-01T00:00:00Z", None),
        failed("f4 u1 Flux 2 2026-11-14T00:00:00Z", None),
        refund("f4", 2, "2026-11-14T00:05:00Z"),
        generation("s1 u1 Flux succeeded 5 0.1 2026-11-10T00:00:00Z"),
        refund("s1", 3, "2026-11-10T00:05:00Z"),
        generation("s1 u1 Flux succeeded 2 0.1 2026-11-10T00:00:00Z"),
    ]
}

#[tokio::test]
async fn reconciliation_counts_overdue_failures_and_refunds_over_the_charge() {
    on_each_backend(|db| async move {
        import(&db, &reconciliation_events()).await;
        let now = "2026-11-15T12:00:00Z";
        let stats = stats_at(&db, chrono_tz::UTC, now).await;
        // f1 is 20 minutes old; f2 only 10, within the grace period; f3 older than 30 days.
        let expected = Reconciliation {
            unrefunded_failures: 1,
            over_refunds: 1,
            grace_minutes: 15,
        };
        assert_eq!(stats.reconciliation, expected);
        let no_grace = ReportSettings {
            refund_grace: chrono::Duration::zero(),
            ..settings(chrono_tz::UTC)
        };
        for source in [Source::Totals, Source::RawRows] {
            let stats = load_from(&db, source, &no_grace, utc(now), None)
                .await
                .unwrap();
            assert_eq!(stats.reconciliation.unrefunded_failures, 2, "{source:?}");
        }
        // Over a range: October holds f3 alone.
        let october = stats_in(&db, chrono_tz::UTC, now, custom("2026-10-01", "2026-10-31")).await;
        assert_eq!(october.reconciliation.unrefunded_failures, 1);
        assert_eq!(october.reconciliation.over_refunds, 0);
    })
    .await;
}

#[tokio::test]
async fn latency_percentiles_per_provider_from_the_histograms() {
    on_each_backend(|db| async move {
        let finished = |id: &str, provider: &str, created: &str, seconds: i64| {
            let mut event = generation(&format!("{id} u1 {provider} succeeded 1 0.01 {created}"));
            let created = utc(created);
            event["completed_at"] =
                json!((created + chrono::Duration::seconds(seconds)).to_rfc3339());
            event
        };
        let mut events: Vec<Value> = (0..9)
            .map(|i| {
                finished(
                    &format!("a{i}"),
                    "Flux",
                    &format!("2026-11-14T1{i}:00:00Z"),
                    2,
                )
            })
            .collect();
        events.push(finished("a9", "Flux", "2026-11-15T11:58:00Z", 60));
        // No completion time, or none yet: no latency.
        events.push(generation(
            "b1 u1 Kling succeeded 1 0.01 2026-11-15T10:00:00Z",
        ));
        events.push(generation("b2 u1 Kling pending 1 0 2026-11-15T11:00:00Z"));
        import(&db, &events).await;
        // At 11:59 a9 has not completed yet as far as its window goes: it still counts, by
        // its creation time; its 60 s are what the 95th percentile of 10 is.
        let stats = stats_at(&db, chrono_tz::UTC, "2026-11-15T12:00:00Z").await;
        let flux = stats.providers.iter().find(|p| p.name == "Flux").unwrap();
        let (p50, p95) = (flux.latency_p50_ms.unwrap(), flux.latency_p95_ms.unwrap());
        assert!((p50 - 2_000.0).abs() / 2_000.0 < 0.045, "{p50}");
        assert!((p95 - 60_000.0).abs() / 60_000.0 < 0.045, "{p95}");
        let kling = stats.providers.iter().find(|p| p.name == "Kling").unwrap();
        assert_eq!((kling.latency_p50_ms, kling.latency_p95_ms), (None, None));
        // Over a range holding only the 2-second ones.
        let day = stats_in(
            &db,
            chrono_tz::UTC,
            "2026-11-15T12:00:00Z",
            custom("2026-11-14", "2026-11-14"),
        )
        .await;
        let flux = day.providers.iter().find(|p| p.name == "Flux").unwrap();
        assert_eq!(flux.latency_p95_ms, flux.latency_p50_ms);
    })
    .await;
}

/// A bar's counts as `(succeeded, failed, pending, cost)`, all providers or one.
fn bar_of(stats: &DashboardStats, index: usize, provider: Option<&str>) -> (i64, i64, i64, Money) {
    let c = stats.trend.counts(provider)[index];
    (c.succeeded, c.failed, c.pending, c.cost)
}

#[tokio::test]
async fn trend_bars_are_the_last_30_local_days() {
    on_each_backend(|db| async move {
        // Kolkata is UTC+05:30: the 15th there runs from 18:30Z on the 14th.
        import(
            &db,
            &[
                generation("gone u1 Flux     succeeded 1 9    2026-10-16T18:29:59Z"),
                generation("d1   u1 Flux     succeeded 1 0.25 2026-10-16T18:30:00Z"),
                generation("a    u1 Flux     succeeded 1 1    2026-11-14T18:29:59Z"),
                generation("b    u1 Flux     pending   1 0    2026-11-14T18:30:00Z"),
                failed("c    u2 Seedream 1 2026-11-15T03:00:00Z", Some("boom")),
                generation("d    u2 Seedream succeeded 1 0.5  2026-11-15T09:59:59Z"),
            ],
        )
        .await;
        let stats = stats_at(&db, chrono_tz::Asia::Kolkata, "2026-11-15T10:00:00Z").await;
        let trend = &stats.trend;
        assert_eq!(trend.step, TrendStep::Day);
        assert_eq!(trend.bars.len(), 30);
        assert_eq!(
            trend.bars[0].start.to_rfc3339(),
            "2026-10-17T00:00:00+05:30"
        );
        assert_eq!(trend.end.to_rfc3339(), "2026-11-15T15:30:00+05:30");
        assert_eq!(
            bar_of(&stats, 0, None),
            (1, 0, 0, dollars("0.25")),
            "d1, not gone"
        );
        assert_eq!(
            bar_of(&stats, 28, None),
            (1, 0, 0, dollars("1")),
            "the 14th: a"
        );
        assert_eq!(
            bar_of(&stats, 29, None),
            (1, 1, 1, dollars("0.5")),
            "today: b, c, d"
        );
        assert_eq!(
            bar_of(&stats, 29, Some("Seedream")),
            (1, 1, 0, dollars("0.5"))
        );
        assert_eq!(bar_of(&stats, 29, Some("Flux")), (0, 0, 1, Money::ZERO));
        let empty = (1..28)
            .map(|i| bar_of(&stats, i, None))
            .filter(|b| b.0 + b.1 + b.2 > 0);
        assert_eq!(empty.count(), 0, "nothing between");
        assert_eq!(
            trend.providers(),
            ["Flux", "Seedream"],
            "Flux 3, Seedream 2"
        );
    })
    .await;
}

#[tokio::test]
async fn trend_bars_are_local_hours_for_ranges_up_to_two_days() {
    on_each_backend(|db| async move {
        // 1 Nov 2026 in New York: 01:00-02:00 is lived twice, at 05:00Z (EDT) and 06:00Z (EST).
        import(
            &db,
            &[
                generation("edt  u1 Flux succeeded 1 0.1 2026-11-01T05:30:00Z"),
                generation("est  u1 Flux succeeded 1 0.2 2026-11-01T06:30:00Z"),
                failed("est2 u1 Flux 1 2026-11-01T06:59:59Z", None),
                generation("next u1 Flux succeeded 1 0.4 2026-11-01T07:00:00Z"),
                generation("out  u1 Flux succeeded 1 0.8 2026-11-02T05:00:00Z"),
            ],
        )
        .await;
        let ny = chrono_tz::America::New_York;
        let range = custom("2026-11-01", "2026-11-01");
        let stats = stats_in(&db, ny, "2026-11-20T12:00:00Z", range).await;
        let trend = &stats.trend;
        assert_eq!(trend.step, TrendStep::Hour);
        assert_eq!(trend.bars.len(), 25, "a 25-hour day");
        assert_eq!(
            trend.bars[1].start.to_rfc3339(),
            "2026-11-01T01:00:00-04:00"
        );
        assert_eq!(
            trend.bars[2].start.to_rfc3339(),
            "2026-11-01T01:00:00-05:00"
        );
        assert_eq!(bar_of(&stats, 1, None), (1, 0, 0, dollars("0.1")));
        assert_eq!(bar_of(&stats, 2, None), (1, 1, 0, dollars("0.2")));
        assert_eq!(bar_of(&stats, 3, None), (1, 0, 0, dollars("0.4")));
        assert_eq!(
            trend.end.to_rfc3339(),
            "2026-11-02T00:00:00-05:00",
            "out is the 2nd"
        );

        // The last 24 hours at 06:40Z: the first bar is 06:40-07:00Z of the day before,
        // read from raw rows, the last one 06:00-06:40Z, from its quarters.
        let stats = stats_in(
            &db,
            chrono_tz::UTC,
            "2026-11-02T06:40:00Z",
            Some(DateRange::Preset(model::dashboard::Preset::Last24Hours)),
        )
        .await;
        assert_eq!(stats.trend.bars.len(), 25);
        assert_eq!(
            bar_of(&stats, 0, None),
            (0, 1, 0, Money::ZERO),
            "est2, not est"
        );
        assert_eq!(bar_of(&stats, 1, None), (1, 0, 0, dollars("0.4")));
        assert_eq!(
            bar_of(&stats, 23, None),
            (1, 0, 0, dollars("0.8")),
            "out at 05:00"
        );
    })
    .await;
}

/// The longest range there is, in a zone whose days are not UTC's: 400 bars of a day each,
/// every one made of quarters and days of the totals, in one statement.
#[tokio::test]
async fn a_400_day_range_is_400_bars_in_one_statement() {
    on_each_backend(|db| async move {
        // Kolkata is UTC+05:30: a local day covers parts of two UTC days, so each bar is read as
        // those two days less their quarters outside it.
        import(
            &db,
            &[
                generation("first u1 Flux     succeeded 1 0.5 2025-10-30T18:30:00Z"),
                generation("mid   u1 Seedream failed    1 0   2026-05-01T12:00:00Z"),
                generation("last  u2 Flux     pending   1 0   2026-12-04T18:29:59Z"),
                generation("after u2 Flux     succeeded 1 9   2026-12-04T18:30:00Z"),
            ],
        )
        .await;
        let range = custom("2025-10-31", "2026-12-04");
        let stats = stats_in(&db, chrono_tz::Asia::Kolkata, "2026-12-20T00:00:00Z", range).await;
        let trend = &stats.trend;
        assert_eq!(trend.step, TrendStep::Day);
        assert_eq!(trend.bars.len(), 400);
        assert_eq!(bar_of(&stats, 0, None), (1, 0, 0, dollars("0.5")));
        assert_eq!(
            bar_of(&stats, 399, None),
            (0, 0, 1, Money::ZERO),
            "after is the 5th"
        );
        let total: i64 = trend
            .counts(None)
            .iter()
            .map(TrendCounts::generations)
            .sum();
        assert_eq!(total, 3);
    })
    .await;
}

mod error_groups;
mod revenue;
