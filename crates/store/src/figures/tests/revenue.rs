//! The month-end projection and revenue and margin on hand-built data with hand-computed
//! answers, on a fresh SQLite database and a fresh PostgreSQL one, each from the totals
//! and checked against the straightforward SQL over the raw rows.

use super::super::*;
use crate::db::testing::on_each_backend;
use crate::ingest::import_lines;
use model::margin::{CreditValues, Margin, MarginFigures};
use serde_json::{json, Value};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn import(db: &Db, events: &[Value]) {
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let report = import_lines(db, text.as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let rebuilt = crate::totals::rebuild(db).await.unwrap();
    assert!(rebuilt.were_exact, "the totals moved with each event");
}

/// `"id user provider credits cost_usd created_at"`, succeeded.
fn generation(row: &str) -> Value {
    let fields: Vec<&str> = row.split_whitespace().collect();
    let [id, user, provider, credits, cost, created_at] = fields[..] else {
        panic!("a generation row has 6 fields: {row}")
    };
    json!({"kind": "generation", "id": id, "user_id": user, "provider": provider,
           "status": "succeeded", "credits": credits.parse::<i64>().unwrap(),
           "cost_usd": cost, "created_at": created_at})
}

fn user(id: &str, tier: &str) -> Value {
    json!({"kind": "user", "id": id, "tier": tier, "credits": 100})
}

fn refund(generation_id: &str, credits: i64, at: &str) -> Value {
    json!({"kind": "refund", "generation_id": generation_id, "credits": credits, "at": at})
}

/// The figures from the totals, after checking them against the raw rows.
async fn stats(
    db: &Db,
    settings: &ReportSettings,
    now: &str,
    range: Option<DateRange>,
) -> DashboardStats {
    let range = range.as_ref();
    let fast = load(db, settings, utc(now), range).await.unwrap();
    let raw = load_from(db, Source::RawRows, settings, utc(now), range)
        .await
        .unwrap();
    assert_eq!(
        fast, raw,
        "totals and raw rows disagree at {now} over {range:?}"
    );
    fast
}

fn micros(n: i64) -> Money {
    Money::from_micros(n)
}

/// Local New York times: the month began in EDT (-04:00), the clocks went back on the 1st
/// at 02:00, and the rest is EST (-05:00).
fn projection_events() -> Vec<Value> {
    vec![
        // 31 Oct 23:00 local, last month: the first generation ever.
        generation("g6 u1 NanoBanana 1 100 2026-10-31T23:00:00-04:00"),
        // 1 Nov, the 25-hour day.
        generation("g1 u1 NanoBanana 1 1 2026-11-01T01:30:00-05:00"),
        // 2 Nov 23:59, the day before the 7 days of 10 Nov.
        generation("g5 u1 NanoBanana 1 10 2026-11-02T23:59:00-05:00"),
        // 3 Nov 00:10, the first of the 7 days.
        generation("g2 u1 Seedream 1 2 2026-11-03T00:10:00-05:00"),
        // 9 Nov 23:50, the last of them.
        generation("g3 u1 Seedream 1 3.5 2026-11-09T23:50:00-05:00"),
        // 10 Nov 01:00: today.
        generation("g4 u1 Seedream 1 0.25 2026-11-10T01:00:00-05:00"),
    ]
}

#[tokio::test]
async fn the_month_end_projection_on_hand_computed_data() {
    on_each_backend(|db| async move {
        let ny = ReportSettings::in_zone(chrono_tz::America::New_York);
        import(&db, &projection_events()).await;

        // 10 Nov 12:00 EST: $16.75 so far (g1, g5, g2, g3, g4); the 7 days (3–9 Nov) cost
        // $5.50; 20.5 days are left until 1 Dec 00:00 EST. 16.75 + 5.5 × 20.5 / 7 =
        // 32.857142857…, to the micro-dollar.
        let s = stats(&db, &ny, "2026-11-10T17:00:00Z", None).await;
        assert_eq!(s.month_stats.cost, micros(16_750_000));
        assert_eq!(s.month_stats.projected_cost, Some(micros(32_857_143)));

        // 3 Nov 12:00 EST: data since 31 Oct, so 3 whole days (31 Oct, 1 and 2 Nov) of $111,
        // $37 a day; $13 so far (g1, g5, g2); 27.5 days left: 13 + 37 × 27.5 = 1030.5.
        let s = stats(&db, &ny, "2026-11-03T17:00:00Z", None).await;
        assert_eq!(s.month_stats.cost, micros(13_000_000));
        assert_eq!(s.month_stats.projected_cost, Some(micros(1_030_500_000)));

        // 31 Oct 23:30 EDT: the first generation is today's, no whole day yet.
        let s = stats(&db, &ny, "2026-11-01T03:30:00Z", None).await;
        assert_eq!(s.month_stats.cost, micros(100_000_000));
        assert_eq!(s.month_stats.projected_cost, None);

        // With a range chosen, there is no month to project.
        let range = DateRange::Preset(Preset::ThisMonth);
        let s = stats(&db, &ny, "2026-11-10T17:00:00Z", Some(range)).await;
        assert_eq!(s.month_stats.cost, micros(16_750_000));
        assert_eq!(s.month_stats.projected_cost, None);
    })
    .await;
}

fn margin_events() -> Vec<Value> {
    vec![
        user("u_free", "free"),
        user("u_plus", "plus"),
        user("u_pro", "pro"),
        generation("m1 u_plus NanoBanana 10 0.05 2026-11-02T10:00:00Z"),
        generation("m2 u_plus Seedream 10 0 2026-11-03T10:00:00Z"),
        refund("m2", 10, "2026-11-03T10:01:00Z"),
        generation("m3 u_pro Seedream 25 0.30 2026-11-04T10:00:00Z"),
        generation("m4 u_pro NanoBanana 5 0.02 2026-11-05T10:00:00Z"),
        refund("m4", 2, "2026-11-05T10:01:00Z"),
        generation("m5 u_free NanoBanana 4 0.04 2026-11-06T10:00:00Z"),
        // In the quarter of now, read from its raw rows.
        generation("m7 u_pro Seedream 1 0.001 2026-11-15T12:05:00Z"),
        // Last month.
        generation("m6 u_plus NanoBanana 7 0.5 2026-10-20T10:00:00Z"),
    ]
}

fn valued() -> ReportSettings {
    ReportSettings {
        credit_values: CreditValues {
            free: Some(Money::ZERO),
            plus: Some(micros(10_000)),
            pro: Some(micros(8_000)),
        },
        ..ReportSettings::in_zone(chrono_tz::UTC)
    }
}

/// (name, credits, revenue, cost, margin) in micro-dollars, per line.
fn lines(margin: &Margin) -> Vec<(String, i64, i64, i64, i64)> {
    let line = |name: String, f: &MarginFigures| {
        let m = |money: Money| money.micros();
        (
            name,
            f.credits_consumed,
            m(f.revenue),
            m(f.cost),
            m(f.margin),
        )
    };
    (margin.by_tier.iter())
        .map(|t| line(t.tier.as_str().to_owned(), &t.figures))
        .chain((margin.by_provider.iter()).map(|p| line(p.provider.clone(), &p.figures)))
        .chain([line("total".into(), &margin.total)])
        .collect()
}

#[tokio::test]
async fn margin_by_tier_and_provider_with_refunds_and_tier_values() {
    on_each_backend(|db| async move {
        import(&db, &margin_events()).await;
        let now = "2026-11-15T12:07:30Z";
        let s = stats(&db, &valued(), now, None).await;
        let margin = s.margin.expect("every tier's value is set");
        let owned = |v: &[(&str, i64, i64, i64, i64)]| -> Vec<(String, i64, i64, i64, i64)> {
            v.iter()
                .map(|&(n, c, r, k, m)| (n.to_owned(), c, r, k, m))
                .collect()
        };
        // pro: 25 + (5 − 2) + 1 credits × $0.008; plus: 10 + (10 − 10) × $0.01; free: 4 × $0.
        assert_eq!(
            lines(&margin),
            owned(&[
                ("pro", 29, 232_000, 321_000, -89_000),
                ("plus", 10, 100_000, 50_000, 50_000),
                ("free", 4, 0, 40_000, -40_000),
                ("Seedream", 26, 208_000, 301_000, -93_000),
                ("NanoBanana", 17, 124_000, 110_000, 14_000),
                ("total", 43, 332_000, 411_000, -79_000),
            ])
        );
        assert_eq!(margin.by_tier[1].figures.margin_percent, Some(50.0));
        assert_eq!(margin.by_tier[2].figures.margin_percent, None, "no revenue");
        let pro = margin.by_tier[0].figures.margin_percent.unwrap();
        assert!((pro - -89.0 / 232.0 * 100.0).abs() < 1e-9, "{pro}");
        assert!(s.credit_values_unset.is_empty());

        // October alone: m6, at the plus value.
        let october = DateRange::Preset(Preset::LastMonth);
        let s = stats(&db, &valued(), now, Some(october)).await;
        assert_eq!(
            lines(&s.margin.unwrap())[3..],
            owned(&[
                ("NanoBanana", 7, 70_000, 500_000, -430_000),
                ("total", 7, 70_000, 500_000, -430_000),
            ])
        );

        // Values follow the user's tier now: u_free moves to plus.
        import(&db, &[user("u_free", "plus")]).await;
        let s = stats(&db, &valued(), now, None).await;
        let moved = lines(&s.margin.unwrap());
        assert_eq!(moved[1], ("plus".into(), 14, 140_000, 90_000, 50_000));
        assert_eq!(moved[2], ("free".into(), 0, 0, 0, 0));

        // Unset values: no margin, and which are missing.
        let s = stats(&db, &ReportSettings::in_zone(chrono_tz::UTC), now, None).await;
        assert_eq!(
            (s.margin, s.credit_values_unset),
            (None, Tier::ALL.to_vec())
        );
        let mut partly = valued();
        partly.credit_values.plus = None;
        let s = stats(&db, &partly, now, None).await;
        assert_eq!((s.margin, s.credit_values_unset), (None, vec![Tier::Plus]));
    })
    .await;
}

/// The figures docs/api.md shows for the reference data set, with the example credit values.
#[tokio::test]
async fn the_reference_data_set_gives_the_documented_projection_and_margin() {
    on_each_backend(|db| async move {
        import(&db, &super::reference_events()).await;
        let s = stats(&db, &valued(), "2026-11-15T12:00:00Z", None).await;
        // $2.095001 so far; the 7 days from 8 Nov cost $0.295 (g6, g14, g7, g8); 15.5 days
        // are left: 2.095001 + 0.295 × 15.5 / 7 = 2.748215 (2.7482152857…).
        assert_eq!(s.month_stats.projected_cost, Some(micros(2_748_215)));
        let margin = s.margin.unwrap();
        let owned = |v: &[(&str, i64, i64, i64, i64)]| -> Vec<(String, i64, i64, i64, i64)> {
            v.iter()
                .map(|&(n, c, r, k, m)| (n.to_owned(), c, r, k, m))
                .collect()
        };
        // u_up's generations count for pro, its tier now; u_ghost is free.
        assert_eq!(
            lines(&margin),
            owned(&[
                ("pro", 14, 112_000, 1_860_000, -1_748_000),
                ("plus", 1, 10_000, 1, 9_999),
                ("free", 7, 0, 235_000, -235_000),
                ("NanoBanana", 13, 88_000, 1_810_000, -1_722_000),
                ("Seedream", 6, 24_000, 85_000, -61_000),
                ("Flux", 2, 10_000, 200_001, -190_001),
                ("Kling", 1, 0, 0, 0),
                ("total", 22, 122_000, 2_095_001, -1_973_001),
            ])
        );
        let json = serde_json::to_value(&margin).unwrap();
        assert_eq!(
            json["byTier"][0]["marginPercent"],
            json!(-1560.7142857142858)
        );
        assert_eq!(json["total"]["marginPercent"], json!(-1617.2139344262296));
    })
    .await;
}
