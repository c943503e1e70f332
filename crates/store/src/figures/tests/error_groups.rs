//! Error groups on messages with varied numbers and ids, on both backends: the totals'
//! side (the stored groups, read through the index) equals the raw rows grouped in Rust,
//! and each group's count equals the log's rows for its filter.

use super::*;
use model::error_group::ErrorGroup;
use model::log::LogQuery;

const NOW: &str = "2026-11-15T12:00:00Z";

/// Failures of the 7 days before [`NOW`] (and one before them), then the events that
/// change some of them.
fn first_events() -> Vec<Value> {
    let rate = |s: &str| format!("Provider rate limit exceeded (HTTP 429), retry after {s}");
    vec![
        failed(
            "r1 u1 NanoBanana 2 2026-11-15T10:00:00Z",
            Some(&rate("12s")),
        ),
        failed("r2 u2 Seedream 2 2026-11-14T09:00:00Z", Some(&rate("30s"))),
        failed("r3 u1 NanoBanana 2 2026-11-10T08:00:00Z", Some(&rate("5s"))),
        failed("r0 u1 NanoBanana 2 2026-11-01T00:00:00Z", Some(&rate("7s"))),
        failed(
            "c1 u2 Seedream 2 2026-11-15T11:00:00Z",
            Some("Content policy violation (request id: req_8f3a2b9c1d7e)"),
        ),
        failed(
            "c2 u3 Seedream 2 2026-11-15T11:00:00Z",
            Some("Content policy violation (request id: req_00a1b22c3d99)"),
        ),
        failed(
            "t1 u1 NanoBanana 2 2026-11-13T00:00:00Z",
            Some("Task 3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d failed: model overloaded"),
        ),
        failed(
            "t2 u3 WaveSpeed 2 2026-11-12T00:00:00Z",
            Some("Task 00000000-0000-4000-8000-000000000000 failed: model overloaded"),
        ),
        failed(
            "h0 u1 NanoBanana 2 2026-11-11T00:00:00Z",
            Some("Upstream error (HTTP 500)"),
        ),
        failed(
            "h2 u1 NanoBanana 2 2026-11-11T00:00:00Z",
            Some("Upstream error (HTTP 502)"),
        ),
        failed("n1 u2 Seedream 2 2026-11-09T00:00:00Z", None),
        generation("p1 u1 NanoBanana pending 2 0 2026-11-14T00:00:00Z"),
        failed(
            "x1 u1 NanoBanana 2 2026-11-14T01:00:00Z",
            Some("Network timeout after 100ms"),
        ),
        failed(
            "e1 u1 NanoBanana 2 2026-11-13T12:00:00Z",
            Some("Out of memory"),
        ),
        generation("ok u1 NanoBanana succeeded 2 0.01 2026-11-14T02:00:00Z"),
    ]
}

/// A pending generation fails, a failure is corrected to a success, another's error text
/// is corrected: each failure's group follows.
fn later_events() -> Vec<Value> {
    vec![
        failed(
            "p1 u1 NanoBanana 2 2026-11-14T00:00:00Z",
            Some("Network timeout after 3000ms"),
        ),
        generation("x1 u1 NanoBanana succeeded 2 0.01 2026-11-14T01:00:00Z"),
        failed(
            "e1 u1 NanoBanana 2 2026-11-13T12:00:00Z",
            Some("Network timeout after 42ms"),
        ),
    ]
}

/// `(pattern, count, providers, first seen, last seen, example)` of each group.
fn summary(groups: &[ErrorGroup]) -> Vec<(String, i64, String, String, String, String)> {
    let utc = |t: chrono::DateTime<FixedOffset>| t.with_timezone(&Utc).to_rfc3339();
    groups
        .iter()
        .map(|g| {
            let providers = g.providers.join(",");
            let (first, last) = (utc(g.first_seen), utc(g.last_seen));
            (
                g.pattern.clone(),
                g.count,
                providers,
                first,
                last,
                g.example.clone(),
            )
        })
        .collect()
}

fn group(
    pattern: &str,
    count: i64,
    providers: &str,
    first: &str,
    last: &str,
    example: &str,
) -> (String, i64, String, String, String, String) {
    let utc = |t: &str| utc(t).to_rfc3339();
    let (first, last) = (utc(first), utc(last));
    (
        pattern.into(),
        count,
        providers.into(),
        first,
        last,
        example.into(),
    )
}

fn expected() -> Vec<(String, i64, String, String, String, String)> {
    vec![
        group(
            "Content policy violation (request id: req_<id>)",
            2,
            "Seedream",
            "2026-11-15T11:00:00Z",
            "2026-11-15T11:00:00Z",
            "Content policy violation (request id: req_00a1b22c3d99)",
        ),
        group(
            "Provider rate limit exceeded (HTTP 429), retry after <n>s",
            3,
            "NanoBanana,Seedream",
            "2026-11-10T08:00:00Z",
            "2026-11-15T10:00:00Z",
            "Provider rate limit exceeded (HTTP 429), retry after 12s",
        ),
        group(
            "Network timeout after <n>ms",
            2,
            "NanoBanana",
            "2026-11-13T12:00:00Z",
            "2026-11-14T00:00:00Z",
            "Network timeout after 3000ms",
        ),
        group(
            "Task <uuid> failed: model overloaded",
            2,
            "NanoBanana,WaveSpeed",
            "2026-11-12T00:00:00Z",
            "2026-11-13T00:00:00Z",
            "Task 3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d failed: model overloaded",
        ),
        group(
            "Upstream error (HTTP 500)",
            1,
            "NanoBanana",
            "2026-11-11T00:00:00Z",
            "2026-11-11T00:00:00Z",
            "Upstream error (HTTP 500)",
        ),
        group(
            "Upstream error (HTTP 502)",
            1,
            "NanoBanana",
            "2026-11-11T00:00:00Z",
            "2026-11-11T00:00:00Z",
            "Upstream error (HTTP 502)",
        ),
        group(
            "Unknown error",
            1,
            "Seedream",
            "2026-11-09T00:00:00Z",
            "2026-11-09T00:00:00Z",
            "Unknown error",
        ),
    ]
}

/// The ids of the log for `group` over the last 7 days before [`NOW`], paged two at a time.
async fn log_of(db: &Db, group: &str) -> Vec<String> {
    let mut query = LogQuery {
        group: Some(group.into()),
        range: Some("7d".into()),
        ..LogQuery::default()
    };
    let mut ids = Vec::new();
    loop {
        let filter = query.filter().unwrap();
        let page = crate::log::page(db, &settings(chrono_tz::UTC), utc(NOW), &filter, 2)
            .await
            .unwrap();
        ids.extend(page.rows.iter().map(|r| r.id.clone()));
        match page.next {
            Some(before) => query.before = Some(before),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn failures_group_by_pattern_and_each_group_is_its_log() {
    on_each_backend(|db| async move {
        import(&db, &first_events()).await;
        import(&db, &later_events()).await;
        let stats = stats_at(&db, chrono_tz::UTC, NOW).await;
        assert_eq!(summary(&stats.error_groups), expected());
        for g in &stats.error_groups {
            let ids = log_of(&db, &g.pattern).await;
            assert_eq!(ids.len() as i64, g.count, "the log of {:?}", g.pattern);
        }
        assert_eq!(
            log_of(&db, "Network timeout after <n>ms").await,
            ["p1", "e1"]
        );
        assert!(log_of(&db, "Out of memory").await.is_empty());
        // The range's groups: only 10 Nov.
        let tenth = custom("2026-11-10", "2026-11-10");
        let stats = stats_in(&db, chrono_tz::UTC, NOW, tenth).await;
        let only = group(
            "Provider rate limit exceeded (HTTP 429), retry after <n>s",
            1,
            "NanoBanana",
            "2026-11-10T08:00:00Z",
            "2026-11-10T08:00:00Z",
            "Provider rate limit exceeded (HTTP 429), retry after 5s",
        );
        assert_eq!(summary(&stats.error_groups), [only]);
    })
    .await;
}

#[tokio::test]
async fn groups_stored_before_the_rule_are_filled_in_and_recomputed() {
    on_each_backend(|db| async move {
        import(&db, &first_events()).await;
        import(&db, &later_events()).await;
        // As migrated from before groups: failures without one, counted under ''.
        sqlx::query("UPDATE generations SET error_group = NULL")
            .execute(&db.pool)
            .await
            .unwrap();
        crate::totals::rebuild(&db).await.unwrap();
        let failed = 13;
        assert_eq!(
            crate::error_groups::fill_missing(&db).await.unwrap(),
            failed
        );
        assert_eq!(crate::error_groups::fill_missing(&db).await.unwrap(), 0);
        let totals_exact = || async { crate::totals::rebuild(&db).await.unwrap().were_exact };
        assert!(
            totals_exact().await,
            "filling in moved the failures' totals"
        );
        let stats = stats_at(&db, chrono_tz::UTC, NOW).await;
        assert_eq!(summary(&stats.error_groups), expected());
        // A rule changed by an upgrade: every failure's group is recomputed, others cleared.
        sqlx::query("UPDATE generations SET error_group = 'stale'")
            .execute(&db.pool)
            .await
            .unwrap();
        crate::totals::rebuild(&db).await.unwrap();
        let rows = 15;
        assert_eq!(crate::error_groups::recompute(&db).await.unwrap(), rows);
        assert_eq!(crate::error_groups::recompute(&db).await.unwrap(), 0);
        assert!(
            totals_exact().await,
            "recomputing moved the failures' totals"
        );
        let stats = stats_at(&db, chrono_tz::UTC, NOW).await;
        assert_eq!(summary(&stats.error_groups), expected());
    })
    .await;
}

#[tokio::test]
async fn at_most_twenty_groups_newest_first() {
    on_each_backend(|db| async move {
        let events: Vec<_> = (0..25)
            .map(|n| {
                let letter = char::from(b'a' + n as u8);
                failed(
                    &format!("f{n:02} u NanoBanana 1 2026-11-15T{:02}:00:00Z", n % 12),
                    Some(&format!("Failure of kind {letter}{letter} at step {n}")),
                )
            })
            .collect();
        import(&db, &events).await;
        let stats = stats_at(&db, chrono_tz::UTC, NOW).await;
        let kinds: Vec<_> = (stats.error_groups.iter())
            .map(|g| g.pattern.split(' ').nth(3).unwrap().to_owned())
            .collect();
        // Hours 11 down to 0, and kinds of the same hour by pattern.
        let mut all: Vec<(u32, String)> = (0..25u32)
            .map(|n| {
                let letter = char::from(b'a' + n as u8);
                (n % 12, format!("{letter}{letter}"))
            })
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let newest: Vec<_> = all.into_iter().take(20).map(|(_, k)| k).collect();
        assert_eq!(kinds, newest);
    })
    .await;
}

/// Failures at odd minutes over three weeks, some after `now`, some moved between groups and
/// out of failure: at every `now`, zone and range the groups from the totals and the raw
/// rows' edges equal those of the raw rows alone, so every bucket edge is read right.
#[tokio::test]
async fn groups_from_the_totals_equal_the_raw_rows_at_every_edge() {
    on_each_backend(|db| async move {
        let errors = [
            "Provider rate limit exceeded (HTTP 429), retry after 17s",
            "Upstream error (HTTP 500)",
            "Task 3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d failed: model overloaded",
            "Content policy violation (request id: req_8f3a2b9c1d7e)",
        ];
        let providers = ["NanoBanana", "Seedream", "WaveSpeed"];
        let start = utc("2026-11-01T00:00:00Z");
        let mut events: Vec<Value> = (0..240)
            .map(|n: i64| {
                let at = start + chrono::Duration::minutes(n * 131 + n % 7);
                let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let row = format!("f{n} u{} {} 1 {at}", n % 5, providers[n as usize % 3]);
                failed(&row, (n % 9 != 0).then(|| errors[n as usize % 4]))
            })
            .collect();
        // Corrections: another error text, a success, another provider and time.
        events.push(failed(
            "f10 u0 Seedream 1 2026-11-01T22:07:00Z",
            Some(errors[1]),
        ));
        events.push(generation(
            "f11 u1 Seedream succeeded 1 0.01 2026-11-01T23:59:00Z",
        ));
        events.push(failed(
            "f12 u2 WaveSpeed 1 2026-11-15T11:58:59Z",
            Some(errors[0]),
        ));
        // Just before the rolling windows' starts at 12:04 and after now, in their quarters.
        for (id, at) in [
            ("w1", "2026-11-08T12:01:00Z"),
            ("w2", "2026-11-14T12:02:00Z"),
            ("w3", "2026-11-15T12:10:00Z"),
        ] {
            events.push(failed(
                &format!("{id} u3 NanoBanana 1 {at}"),
                Some(errors[3]),
            ));
        }
        import(&db, &events).await;
        let nows = [
            "2026-11-15T12:04:00Z",
            "2026-11-15T00:00:00Z",
            "2026-11-09T03:44:00Z",
            "2026-11-20T23:59:59Z",
        ];
        let zones = [
            chrono_tz::UTC,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::America::New_York,
        ];
        let ranges = [
            None,
            custom("2026-11-03T05:17", "2026-11-10T17:43"),
            custom("2026-11-02", "2026-11-05"),
            custom("2026-10-01", "2026-12-31"),
        ];
        for now in nows {
            for zone in zones {
                for range in &ranges {
                    let stats = stats_in(&db, zone, now, *range).await;
                    if range.is_none() && now.starts_with("2026-11-15T12") {
                        assert!(stats.error_groups.len() >= 4, "{:?}", stats.error_groups);
                    }
                }
            }
        }
    })
    .await;
}
