//! Budget alerts below the browser: two watchers on one database (their own connections,
//! as two servers have) and a real webhook receiver, on SQLite and on PostgreSQL, with the
//! figures computed at chosen instants around the spring clock change in New York.

use crate::alert_watcher::Watcher;
use crate::tests::alerts::{alerts_to, never_stopping, Receiver, QUICK};
use app::config::Settings;
use app::delivery::sender::{Sender, Stop};
use axum::http::StatusCode;
use model::alerts::AlertKind;
use model::budgets::BudgetSettings;
use serde_json::Value;
use store::budgets::testing::{generations, money, new_york, utc, MARCH};
use store::db::testing::on_each_backend;
use store::db::Db;
use store::figures::load;
use store::report::ReportSettings;

/// Both watchers check the figures at `now` at once; the messages they started, sent.
async fn check_both(
    watchers: &mut [Watcher; 2],
    db: &Db,
    report: &ReportSettings,
    now: &str,
    stop: &Stop,
) {
    let stats = load(db, report, utc(now), None).await.unwrap();
    let [one, two] = watchers;
    let (first, second) = tokio::join!(
        one.check_budgets(&stats, stop),
        two.check_budgets(&stats, stop)
    );
    first.unwrap();
    second.unwrap();
    one.finish_sending().await;
    two.finish_sending().await;
}

/// `budget period levels` of each message received since `seen`, sorted.
fn received(hook: &Receiver, seen: &mut usize) -> Vec<String> {
    let bodies = hook.bodies();
    let mut new: Vec<String> = bodies[*seen..]
        .iter()
        .map(|body| {
            let users: Vec<&str> = body["users"]
                .as_array()
                .map(|users| users.iter().filter_map(|u| u["userId"].as_str()).collect())
                .unwrap_or_default();
            format!(
                "{} {} {} {}",
                body["budget"].as_str().unwrap(),
                body["period"].as_str().unwrap(),
                body["levels"],
                users.join(",")
            )
            .trim_end()
            .to_owned()
        })
        .collect();
    *seen = bodies.len();
    new.sort();
    new
}

#[tokio::test]
async fn each_crossing_is_announced_once_by_one_of_two_servers_and_afresh_each_day() {
    on_each_backend(|db| async move {
        generations(&db, MARCH).await;
        let hook = Receiver::start(&[]).await;
        let alerts = alerts_to(&[&hook.url]);
        let (_keep, stop) = never_stopping();
        let url = db.pool.connect_options().database_url.to_string();
        let other_db = Db::connect(&url, store::db::testing::TIMEOUTS)
            .await
            .unwrap();
        let start = |db: &Db| Watcher::new(db.clone(), alerts.clone(), Sender::new(QUICK).unwrap());
        let mut watchers = [start(&db), start(&other_db)];
        let report = new_york(BudgetSettings {
            daily: Some(money("5")),
            monthly: Some(money("12")),
            per_user: Some(money("4")),
            levels: vec![80, 100],
        });
        let mut seen = 0;

        // 8 March, 01:00 EST: today $2.00 of $5.00, but u1 spent $5.00 in 24 hours.
        let now = "2026-03-08T06:00:00Z";
        check_both(&mut watchers, &db, &report, now, &stop).await;
        assert_eq!(received(&hook, &mut seen), ["user 2026-03-08 [] u1"]);
        // 05:00 EDT: $4.50, 90 %.
        let now = "2026-03-08T09:00:00Z";
        check_both(&mut watchers, &db, &report, now, &stop).await;
        assert_eq!(received(&hook, &mut seen), ["daily 2026-03-08 [80]"]);
        let daily = &hook.bodies()[1];
        assert_eq!(
            daily["text"],
            "usage-monitor: today's cost reached 80% of the daily budget: $4.50 of $5.00 (2026-03-08, America/New_York)."
        );
        assert_eq!((daily["spent"].clone(), daily["amount"].clone()), (Value::from(4.5), Value::from(5.0)));

        // Restarted servers: nothing again.
        watchers = [start(&db), start(&other_db)];
        check_both(&mut watchers, &db, &report, now, &stop).await;
        assert!(received(&hook, &mut seen).is_empty());

        // 23:45 EDT, still 8 March in a 23-hour day: $5.50.
        let now = "2026-03-09T03:45:00Z";
        check_both(&mut watchers, &db, &report, now, &stop).await;
        assert_eq!(received(&hook, &mut seen), ["daily 2026-03-08 [100]"]);

        // 9 March, 00:45 EDT: a new day starts afresh; the month passes both levels at
        // once (one message, at the highest); u3 is over, u1 no longer.
        let now = "2026-03-09T04:45:00Z";
        check_both(&mut watchers, &db, &report, now, &stop).await;
        assert_eq!(
            received(&hook, &mut seen),
            [
                "daily 2026-03-09 [80]",
                "monthly 2026-03 [80,100]",
                "user 2026-03-09 [] u3"
            ]
        );
        check_both(&mut watchers, &db, &report, "2026-03-09T05:00:00Z", &stop).await;
        assert!(received(&hook, &mut seen).is_empty());

        // The log says what was crossed.
        let alerts = Settings::defaults().alerts;
        let (webhooks, every) = (alerts.redacted_webhooks(), alerts.check_every);
        let log = store::alerts::page(&db, &report, webhooks, every, 100)
            .await
            .unwrap()
            .deliveries;
        assert_eq!(log.len(), 6);
        assert!(log.iter().all(|d| d.kind == AlertKind::Budget && d.status.is_none()));
        let mut crossed: Vec<_> = log.iter().filter_map(|d| d.crossed.clone()).collect();
        crossed.sort();
        assert_eq!(
            crossed,
            [
                "Daily budget 100% (2026-03-08): $5.50 of $5.00",
                "Daily budget 80% (2026-03-08): $4.50 of $5.00",
                "Daily budget 80% (2026-03-09): $4.50 of $5.00",
                "Monthly budget 100% (2026-03): $13.00 of $12.00",
                "Per-user limit $4.00 (2026-03-08): u1 ($5.00)",
                "Per-user limit $4.00 (2026-03-09): u3 ($4.50)",
            ]
        );
        other_db.close().await;
    })
    .await;
}

#[tokio::test]
async fn budgets_change_only_from_an_admin_on_this_site_with_valid_amounts() {
    use crate::auth::tests::{client, server_with_admin, sign_in};
    on_each_backend(|db| async move {
        let server = server_with_admin(db.clone(), Settings::defaults()).await;
        let client = client();
        let path = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_owned())
            .find(|path| path.contains("save_budgets"))
            .unwrap();
        let save = |cookie: Option<&str>, site: &str, form: &str| {
            let mut request = client
                .post(format!("{}{path}", server.url))
                .header("sec-fetch-site", site)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.to_owned());
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send()
        };
        let saved = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM budget_changes")
                .fetch_one(&db.pool)
                .await
                .unwrap()
        };
        let form = "daily=5&monthly=&per_user=2.50&levels=80%2C+100";
        let anonymous = save(None, "same-origin", form).await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let cookie = sign_in(&client, &server).await;
        let forged = save(Some(&cookie), "cross-site", form).await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(saved().await, 0);

        for (bad, says) in [
            (
                "daily=-5&monthly=&per_user=&levels=80",
                "cannot be negative",
            ),
            (
                "daily=five&monthly=&per_user=&levels=80",
                "amount of dollars",
            ),
            (
                "daily=&monthly=1e99&per_user=&levels=80",
                "amount of dollars",
            ),
            (
                "daily=&monthly=&per_user=&levels=",
                "at least one warning level",
            ),
            (
                "daily=&monthly=&per_user=&levels=80%2C+abc",
                "whole percentages",
            ),
        ] {
            let refused = save(Some(&cookie), "same-origin", bad).await.unwrap();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
            let text = refused.text().await.unwrap();
            assert!(text.contains(says), "{bad}: {text}");
        }
        assert_eq!(saved().await, 0);

        let done = save(Some(&cookie), "same-origin", form).await.unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        let page: model::budgets::BudgetsPage = done.json().await.unwrap();
        assert_eq!(page.settings.daily, Some(money("5")));
        assert_eq!(page.settings.monthly, None);
        assert_eq!(page.settings.per_user, Some(money("2.5")));
        assert_eq!(page.changes.len(), 1);
        assert_eq!(saved().await, 1);
    })
    .await;
}
