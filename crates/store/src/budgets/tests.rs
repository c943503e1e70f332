//! Budgets in the figures and in the database, on a fresh SQLite database and a fresh
//! PostgreSQL one: the spend and the users over the limit against straightforward SQL,
//! around the days clocks change in America/New_York; saving, its log, and the defaults.

use super::testing::*;
use super::*;
use crate::db::testing::on_each_backend;
use crate::figures::{load, load_from};
use crate::parts::Source;
use model::budgets::{BudgetSettings, Budgets};
use model::dashboard::{DashboardStats, DateRange, Preset};

/// The figures at `now`, from the totals, after checking that the raw rows agree.
async fn budgets_at(db: &Db, report: &ReportSettings, now: &str) -> Budgets {
    let fast = load(db, report, utc(now), None).await.unwrap();
    let raw = load_from(db, Source::RawRows, report, utc(now), None)
        .await
        .unwrap();
    assert_eq!(fast, raw, "totals and raw rows disagree at {now}");
    fast.budgets
}

/// Cost of `[start, end)` and users whose cost in it passed `limit`, the plain way.
async fn by_hand(db: &Db, start: &str, end: &str, limit: Money) -> (Money, i64) {
    let (start, end) = (utc(start).timestamp_micros(), utc(end).timestamp_micros());
    let cost: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM generations
         WHERE created_at >= $1 AND created_at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let users: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT user_id FROM generations
         WHERE created_at >= $1 AND created_at < $2
         GROUP BY user_id HAVING SUM(cost_micros) > $3) over",
    )
    .bind(start)
    .bind(end)
    .bind(limit.micros())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    (Money::from_micros(cost), users)
}

#[tokio::test]
async fn spend_and_users_over_the_limit_match_plain_sql_across_a_23_hour_day() {
    on_each_backend(|db| async move {
        generations(&db, MARCH).await;
        let report = new_york(BudgetSettings {
            daily: Some(money("5")),
            monthly: Some(money("12")),
            per_user: Some(money("4")),
            levels: vec![80, 100],
        });
        // (now, local midnight, first of the month, the cost today and this month, users over)
        for (now, midnight, first, today, month, over) in [
            (
                "2026-03-08T09:00:00Z",
                "2026-03-08T05:00:00Z",
                "2026-03-01T05:00:00Z",
                "4.5",
                "7.5",
                1,
            ),
            (
                "2026-03-09T03:45:00Z",
                "2026-03-08T05:00:00Z",
                "2026-03-01T05:00:00Z",
                "5.5",
                "8.5",
                1,
            ),
            (
                "2026-03-09T04:45:00Z",
                "2026-03-09T04:00:00Z",
                "2026-03-01T05:00:00Z",
                "4.5",
                "13",
                1,
            ),
            (
                "2026-03-10T05:00:00Z",
                "2026-03-10T04:00:00Z",
                "2026-03-01T05:00:00Z",
                "0",
                "13",
                0,
            ),
        ] {
            let budgets = budgets_at(&db, &report, now).await;
            let day_before = (utc(now) - chrono::Duration::hours(24)).to_rfc3339();
            let (spent_today, _) = by_hand(&db, midnight, now, money("4")).await;
            let (spent_month, _) = by_hand(&db, first, now, money("4")).await;
            let (_, users) = by_hand(&db, &day_before, now, money("4")).await;
            let daily = budgets.daily.clone().unwrap();
            let monthly = budgets.monthly.clone().unwrap();
            assert_eq!(
                (daily.spent, daily.budget),
                (spent_today, money("5")),
                "{now}"
            );
            assert_eq!(monthly.spent, spent_month, "{now}");
            assert_eq!(budgets.users_over_limit, users, "{now}");
            // And the hand-computed answers, so that neither side can be wrong alike.
            let written =
                |dollars: &str| Money::from_micros((dollars.parse::<f64>().unwrap() * 1e6) as i64);
            assert_eq!(
                (daily.spent, monthly.spent),
                (written(today), written(month)),
                "{now}"
            );
            assert_eq!(budgets.users_over_limit, over, "{now}");
            let listed = users_over_limit(&db, money("4"), utc(now), 100)
                .await
                .unwrap();
            assert_eq!(listed.len() as i64, over, "{now}");
        }
        // A chosen range changes the cards, not the budgets.
        let now = utc("2026-03-09T03:45:00Z");
        let week = DateRange::Preset(Preset::Last7Days);
        let ranged = load(&db, &report, now, Some(&week)).await.unwrap();
        let default = load(&db, &report, now, None).await.unwrap();
        assert_eq!(ranged.budgets, default.budgets);
        assert_ne!(ranged.today_stats.cost, default.today_stats.cost);
    })
    .await;
}

#[tokio::test]
async fn the_25_hour_day_is_one_budget_day() {
    on_each_backend(|db| async move {
        generations(
            &db,
            &[
                ("n1", "u4", "4.00", "2026-11-01T04:30:00Z"), // 1 November, 00:30 EDT
                ("n2", "u4", "1.50", "2026-11-02T04:30:00Z"), // 1 November, 23:30 EST
            ],
        )
        .await;
        let report = new_york(BudgetSettings {
            daily: Some(money("5")),
            ..BudgetSettings::default()
        });
        let late = budgets_at(&db, &report, "2026-11-02T04:45:00Z").await;
        assert_eq!(late.daily.unwrap().spent, money("5.5"));
        assert_eq!(late.monthly, None);
        let next = budgets_at(&db, &report, "2026-11-02T05:15:00Z").await;
        assert_eq!(next.daily.unwrap().spent, Money::ZERO);
    })
    .await;
}

#[tokio::test]
async fn saved_budgets_replace_the_defaults_and_each_change_is_logged() {
    on_each_backend(|db| async move {
        generations(&db, MARCH).await;
        let defaults = BudgetSettings {
            daily: Some(money("5")),
            per_user: Some(money("4")),
            ..BudgetSettings::default()
        };
        let report = new_york(defaults.clone());
        let now = "2026-03-09T03:45:00Z";
        // Until an admin saves, Leptos.toml's.
        let before = budgets_at(&db, &report, now).await;
        assert_eq!(before.daily.unwrap().budget, money("5"));
        assert_eq!(before.users_over_limit, 1);
        let page0 = page(&db, &report, utc(now)).await.unwrap();
        assert!(page0.from_config);
        assert_eq!(page0.users_over_limit.len(), 1);
        assert_eq!(page0.users_over_limit[0].user_id, "u1");

        // Saved with the per-user limit emptied: off, though Leptos.toml sets one.
        let saved = BudgetSettings {
            daily: None,
            monthly: Some(money("100")),
            per_user: None,
            levels: vec![50, 90],
        };
        save(&db, &defaults, &saved, "ann@example.com", utc(now))
            .await
            .unwrap();
        let after = budgets_at(&db, &report, now).await;
        assert_eq!(after.daily, None);
        assert_eq!(after.monthly.unwrap().budget, money("100"));
        assert_eq!((after.per_user_limit, after.users_over_limit), (None, 0));
        assert_eq!(after.levels, vec![50, 90]);

        let again = BudgetSettings {
            per_user: Some(money("1")),
            ..saved.clone()
        };
        save(
            &db,
            &defaults,
            &again,
            "bob@example.com",
            utc(now) + chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
        let page = page(&db, &report, utc(now)).await.unwrap();
        assert!(!page.from_config);
        assert_eq!(page.settings, again);
        let changes: Vec<_> = page
            .changes
            .iter()
            .map(|c| (c.admin.as_str(), c.old.as_str(), c.new.as_str()))
            .collect();
        assert_eq!(
            changes,
            [
                (
                    "bob@example.com",
                    "daily off, monthly $100.00, per user off, levels 50, 90",
                    "daily off, monthly $100.00, per user $1.00, levels 50, 90"
                ),
                (
                    "ann@example.com",
                    "daily $5.00, monthly off, per user $4.00, levels 80, 100 (Leptos.toml)",
                    "daily off, monthly $100.00, per user off, levels 50, 90"
                ),
            ]
        );
        // u1 $5.00 and u2 $3.50 pass $1; u3 has spent nothing yet.
        let listed: Vec<_> = page
            .users_over_limit
            .iter()
            .map(|u| u.user_id.as_str())
            .collect();
        assert_eq!(listed, ["u1", "u2"]);
        let budgets: DashboardStats = load(&db, &report, utc(now), None).await.unwrap();
        assert_eq!(budgets.budgets.users_over_limit, 2);
    })
    .await;
}

#[test]
fn a_user_id_in_slacks_text_is_shown_not_read() {
    use crate::budgets::crossings::{message, Budget, Claimed};
    use model::budgets::UserOverLimit;
    let claimed = Claimed {
        budget: Budget::PerUser,
        period: "2026-03-09".to_owned(),
        levels: Vec::new(),
        spent: money("5"),
        amount: money("4"),
        users: vec![UserOverLimit {
            user_id: "<!channel> & <https://evil.example|click>".to_owned(),
            cost: money("5"),
        }],
        crossed: String::new(),
        deliveries: Vec::new(),
    };
    let body = message(&claimed, "UTC", utc("2026-03-09T12:00:00Z"), None);
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; ($5.00)"),
        "{text}"
    );
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    // The fields beside the text carry the id as it is.
    assert_eq!(
        body["users"][0]["userId"],
        "<!channel> & <https://evil.example|click>"
    );
}

#[tokio::test]
async fn two_admins_saving_at_once_each_log_what_they_replaced() {
    on_each_backend(|db| async move {
        let defaults = BudgetSettings::default();
        let amount = |n: u32| BudgetSettings {
            daily: Some(money(&n.to_string())),
            ..BudgetSettings::default()
        };
        for round in 0..10 {
            let (one, two) = (amount(2 * round + 1), amount(2 * round + 2));
            let at = utc("2026-03-09T03:45:00Z") + chrono::Duration::minutes(round.into());
            let (a, b) = tokio::join!(
                save(&db, &defaults, &one, "ann@example.com", at),
                save(&db, &defaults, &two, "bob@example.com", at),
            );
            a.unwrap();
            b.unwrap();
        }
        // Every change replaced what the one before it saved: the log is one chain.
        let rows = sqlx::query("SELECT old, new FROM budget_changes")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        let changes: Vec<(String, String)> = rows
            .iter()
            .map(|row| (row.get("old"), row.get("new")))
            .collect();
        let mut olds: Vec<&str> = changes.iter().map(|(old, _)| old.as_str()).collect();
        let mut news: Vec<&str> = changes.iter().map(|(_, new)| new.as_str()).collect();
        olds.sort_unstable();
        olds.dedup();
        assert_eq!(
            olds.len(),
            changes.len(),
            "two changes replaced the same: {changes:?}"
        );
        news.sort_unstable();
        let replaced_a_save = olds.iter().filter(|old| news.contains(old)).count();
        assert_eq!(replaced_a_save, changes.len() - 1, "{changes:?}");
    })
    .await;
}
