//! Alerts end to end below the browser: real webhook receivers (axum on a loopback port)
//! and a fresh SQLite database and a fresh PostgreSQL one.

use crate::alert_watcher::Watcher;
use app::config::Settings;
use app::delivery::announce::announce_test;
use app::delivery::sender::{RetrySchedule, Sender, Stop};
use app::delivery::webhook::Webhook;
use app::delivery::AlertSettings;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{TimeZone, Utc};
use model::alerts::{AlertKind, Delivery, Outcome};
use model::dashboard::{HealthStatus, SystemHealth};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::alerts as alert_store;
use store::db::testing::on_each_backend;
use store::db::Db;
use store::report::ReportSettings;
use tokio::sync::watch;
use HealthStatus::*;

/// Three attempts, as in production, without the waiting.
pub(super) const QUICK: RetrySchedule = RetrySchedule {
    pauses: &[Duration::from_millis(10), Duration::from_millis(20)],
};

/// A webhook receiver: answers with the statuses it is given, in turn, then 200; keeps
/// every body it was sent.
#[derive(Clone)]
pub(super) struct Receiver {
    pub(super) url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<u16>>>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    pub(super) async fn start(answers: &[u16]) -> Receiver {
        let script = Script {
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
            ..Script::default()
        };
        let bodies = script.bodies.clone();
        let app = Router::new()
            .route(
                "/hook/{secret}",
                post(
                    |State(script): State<Script>, Json(body): Json<Value>| async move {
                        script.bodies.lock().unwrap().push(body);
                        let answer = script.answers.lock().unwrap().pop_front().unwrap_or(200);
                        StatusCode::from_u16(answer).unwrap()
                    },
                ),
            )
            .with_state(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/hook/SECRET-TOKEN",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, bodies }
    }

    pub(super) fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// `(previous, status)` of each message received.
    fn changes(&self) -> Vec<(Value, Value)> {
        self.bodies()
            .iter()
            .map(|body| (body["previous"].clone(), body["status"].clone()))
            .collect()
    }
}

pub(super) fn alerts_to(urls: &[&str]) -> Arc<AlertSettings> {
    Arc::new(AlertSettings {
        webhooks: urls
            .iter()
            .map(|url| Webhook::parse(url).unwrap())
            .collect(),
        check_every: Duration::from_secs(60),
        dashboard: None,
    })
}

fn health(status: HealthStatus) -> SystemHealth {
    let (failed, tasks) = match status {
        Healthy => (1, 100),
        Degraded => (10, 100),
        Critical => (40, 100),
        Idle => (0, 0),
    };
    SystemHealth {
        status,
        tasks_last_24h: tasks,
        failure_last_24h: failed,
        failure_rate: model::dashboard::percent_of(failed, tasks - failed),
    }
}

/// A stop signal that never fires while the sender is kept.
pub(super) fn never_stopping() -> (watch::Sender<bool>, Stop) {
    watch::channel(false)
}

fn watcher(db: &Db, alerts: &Arc<AlertSettings>) -> Watcher {
    Watcher::new(db.clone(), alerts.clone(), Sender::new(QUICK).unwrap())
}

/// Figures computed in the first second of minute `minute` of a day.
fn at_minute(minute: u32) -> alert_store::AsOf {
    let started = Utc.with_ymd_and_hms(2026, 11, 3, 9, minute, 0).unwrap();
    alert_store::AsOf {
        started,
        finished: started + chrono::TimeDelta::milliseconds(20),
    }
}

/// One check at minute `minute` of a day, and the messages it started, sent.
async fn check(watcher: &mut Watcher, status: HealthStatus, minute: u32, stop: &Stop) {
    watcher
        .check(&health(status), at_minute(minute), stop)
        .await
        .unwrap();
    watcher.finish_sending().await;
}

async fn log(db: &Db) -> Vec<Delivery> {
    let alerts = Settings::defaults().alerts;
    let report = ReportSettings::in_zone(chrono_tz::UTC);
    let (webhooks, every) = (alerts.redacted_webhooks(), alerts.check_every);
    alert_store::page(db, &report, webhooks, every, 1000)
        .await
        .unwrap()
        .deliveries
}

#[tokio::test]
async fn each_change_is_sent_once_to_every_webhook_and_a_restart_sends_nothing_again() {
    on_each_backend(|db| async move {
        let (a, b) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
        let alerts = alerts_to(&[&a.url, &b.url]);
        let (_keep, stop) = never_stopping();
        let mut watcher = watcher(&db, &alerts);
        // The first check records a healthy start and says nothing; neither does idle.
        for (minute, status) in [(0, Healthy), (1, Healthy), (2, Idle), (3, Healthy)] {
            check(&mut watcher, status, minute, &stop).await;
        }
        assert_eq!(a.bodies().len(), 0);
        for (minute, status) in [
            (4, Degraded),
            (5, Degraded),
            (6, Critical),
            (7, Critical),
            (8, Healthy),
            (9, Healthy),
        ] {
            check(&mut watcher, status, minute, &stop).await;
        }
        let expected = [
            ("healthy", "degraded"),
            ("degraded", "critical"),
            ("critical", "healthy"),
        ]
        .map(|(from, to)| (Value::from(from), Value::from(to)));
        assert_eq!(a.changes(), expected);
        assert_eq!(b.changes(), expected);
        assert_eq!(
            a.bodies()[1]["text"],
            "usage-monitor: health is critical (was degraded). 40.0% of finished generations failed in the last 24 h (40 failed of 100 tasks)."
        );
        assert_eq!(a.bodies()[1]["at"], "2026-11-03T09:06:00Z");

        // The log: one delivery per change and webhook, newest first, the URL's secret
        // part nowhere.
        let log = log(&db).await;
        assert_eq!(log.len(), 6);
        let minute = |d: &Delivery| d.created_at.format("%H:%M").to_string();
        let newest = &log[0];
        assert_eq!(minute(newest), "09:08");
        assert_eq!(
            (newest.kind, newest.previous, newest.status),
            (AlertKind::Change, Some(Critical), Some(Healthy))
        );
        assert_eq!(
            (newest.outcome, newest.attempts, newest.http_status),
            (Outcome::Delivered, 1, Some(200))
        );
        assert_eq!(minute(&log[5]), "09:04");
        assert!(log.iter().all(|d| !d.webhook.contains("SECRET")));
        assert_eq!(
            log.iter().filter(|d| d.webhook == alerts.redacted_webhooks()[1]).count(),
            3
        );

        // A restarted server (a new watcher) finds the health it announced recorded.
        let mut restarted = self::watcher(&db, &alerts);
        check(&mut restarted, Healthy, 10, &stop).await;
        assert_eq!(a.bodies().len(), 3);
        assert_eq!(alert_store::recorded(&db).await.unwrap(), Some(Healthy));
    })
    .await;
}

#[tokio::test]
async fn a_first_check_in_bad_health_alerts_with_no_previous_status() {
    on_each_backend(|db| async move {
        let hook = Receiver::start(&[]).await;
        let (_keep, stop) = never_stopping();
        let mut watcher = watcher(&db, &alerts_to(&[&hook.url]));
        check(&mut watcher, Critical, 0, &stop).await;
        check(&mut watcher, Critical, 1, &stop).await;
        assert_eq!(hook.changes(), [(Value::Null, Value::from("critical"))]);
        assert_eq!(log(&db).await[0].previous, None);
    })
    .await;
}

#[tokio::test]
async fn servers_racing_on_one_database_send_each_change_once() {
    on_each_backend(|db| async move {
        let hook = Receiver::start(&[]).await;
        let alerts = alerts_to(&[&hook.url]);
        let (_keep, stop) = never_stopping();
        // A second server: its own connections to the same database.
        let url = db.pool.connect_options().database_url.to_string();
        let other_db = Db::connect(&url, store::db::testing::TIMEOUTS)
            .await
            .unwrap();
        let (mut one, mut two) = (watcher(&db, &alerts), watcher(&other_db, &alerts));
        let statuses = [Healthy, Degraded, Critical, Healthy, Critical, Idle];
        for (minute, status) in (0..).zip(statuses) {
            let health = health(status);
            let (first, second) = tokio::join!(
                one.check(&health, at_minute(minute), &stop),
                two.check(&health, at_minute(minute), &stop)
            );
            first.unwrap();
            second.unwrap();
            one.finish_sending().await;
            two.finish_sending().await;
        }
        let expected: Vec<_> = [
            ("healthy", "degraded"),
            ("degraded", "critical"),
            ("critical", "healthy"),
            ("healthy", "critical"),
            ("critical", "idle"),
        ]
        .iter()
        .map(|&(from, to)| (Value::from(from), Value::from(to)))
        .collect();
        assert_eq!(hook.changes(), expected);
        assert_eq!(log(&db).await.len(), expected.len());
        other_db.close().await;
    })
    .await;
}

#[tokio::test]
async fn figures_older_than_the_recorded_change_announce_nothing() {
    on_each_backend(|db| async move {
        let hook = Receiver::start(&[]).await;
        let alerts = alerts_to(&[&hook.url]);
        let (_keep, stop) = never_stopping();
        let (mut one, mut two) = (watcher(&db, &alerts), watcher(&db, &alerts));
        check(&mut one, Healthy, 0, &stop).await;
        check(&mut one, Critical, 5, &stop).await;
        // The other server's shared figures: computed before the change was recorded,
        // and while it was being computed (begun before its reads had ended).
        let stale = [at_minute(4), {
            let recorded = at_minute(5);
            alert_store::AsOf {
                started: recorded.finished - chrono::TimeDelta::milliseconds(1),
                finished: recorded.finished + chrono::TimeDelta::milliseconds(30),
            }
        }];
        for as_of in stale {
            two.check(&health(Healthy), as_of, &stop).await.unwrap();
            two.finish_sending().await;
        }
        assert_eq!(alert_store::recorded(&db).await.unwrap(), Some(Critical));
        // Figures begun after the change was recorded may undo it.
        check(&mut two, Healthy, 6, &stop).await;
        let expected = [("healthy", "critical"), ("critical", "healthy")]
            .map(|(from, to)| (Value::from(from), Value::from(to)));
        assert_eq!(hook.changes(), expected);
    })
    .await;
}

#[tokio::test]
async fn server_errors_are_tried_again_and_refusals_are_not() {
    on_each_backend(|db| async move {
        let recovers = Receiver::start(&[500, 500, 200]).await;
        let refuses = Receiver::start(&[404]).await;
        let overloaded = Receiver::start(&[503, 429, 503, 200]).await;
        // A port nobody listens on.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/hook", listener.local_addr().unwrap())
        };
        let alerts = alerts_to(&[&recovers.url, &refuses.url, &overloaded.url, &closed]);
        let sender = Sender::new(QUICK).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap();
        let ids = announce_test(&db, &alerts, &sender, &health(Healthy), now)
            .await
            .unwrap();
        let report = ReportSettings::in_zone(chrono_tz::UTC);
        let logged = alert_store::deliveries(&db, &report, &ids).await.unwrap();
        let outcome = |d: &Delivery| (d.outcome, d.attempts, d.http_status, d.error.clone());
        assert_eq!(
            outcome(&logged[0]),
            (Outcome::Delivered, 3, Some(200), None)
        );
        assert_eq!(
            outcome(&logged[1]),
            (Outcome::Failed, 1, Some(404), Some("HTTP Not Found".into()))
        );
        assert_eq!(
            outcome(&logged[2]),
            (
                Outcome::Failed,
                3,
                Some(503),
                Some("HTTP Service Unavailable".into())
            )
        );
        let (state, attempts, status, error) = outcome(&logged[3]);
        assert_eq!((state, attempts, status), (Outcome::Failed, 3, None));
        let error = error.unwrap();
        assert!(error.starts_with("could not connect"), "{error}");
        assert!(!error.contains("/hook"), "{error}");
        assert_eq!(recovers.bodies().len(), 3);
        assert_eq!(refuses.bodies().len(), 1);
        assert_eq!(overloaded.bodies().len(), 3);
        // Every attempt carried the same Slack-compatible test message.
        let body = &recovers.bodies()[0];
        assert_eq!(body["kind"], "test");
        assert!(body["text"]
            .as_str()
            .unwrap()
            .starts_with("Test alert from usage-monitor"));
        assert!(recovers.bodies().iter().all(|b| b == body));
        assert!(logged.iter().all(|d| d.kind == AlertKind::Test
            && d.attempted_at.is_some()
            && d.created_at.timestamp() == now.timestamp()));
    })
    .await;
}

#[tokio::test]
async fn stopping_the_server_cuts_the_retries_short() {
    let failing = Receiver::start(&[500, 500, 500]).await;
    const PATIENT: RetrySchedule = RetrySchedule {
        pauses: &[Duration::from_secs(30), Duration::from_secs(30)],
    };
    let sender = Sender::new(PATIENT).unwrap();
    let webhook = Webhook::parse(&failing.url).unwrap();
    let (stop_now, mut stop) = watch::channel(false);
    let started = std::time::Instant::now();
    let sending = sender.send(&webhook, &Value::Null, Some(&mut stop));
    let stopping = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop_now.send(true).unwrap();
    };
    let (finished, ()) = tokio::join!(sending, stopping);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(finished.outcome, Outcome::Failed);
    assert_eq!(finished.attempts, 1);
    assert_eq!(
        finished.error.as_deref(),
        Some("interrupted: the server stopped")
    );
}

#[tokio::test]
async fn the_test_button_needs_an_admin_on_this_site() {
    use crate::auth::tests::{client, server_with_admin, sign_in};
    on_each_backend(|db| async move {
        let hook = Receiver::start(&[]).await;
        let mut settings = Settings::defaults();
        settings.alerts = AlertSettings::clone(&alerts_to(&[&hook.url]));
        let server = server_with_admin(db, settings).await;
        let client = client();
        let path = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_owned())
            .find(|path| path.contains("send_test_alert"))
            .unwrap();
        let send = |cookie: Option<&str>, site: &str| {
            let mut request = client
                .post(format!("{}{path}", server.url))
                .header("sec-fetch-site", site)
                .header("content-type", "application/x-www-form-urlencoded");
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send()
        };
        let anonymous = send(None, "same-origin").await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let cookie = sign_in(&client, &server).await;
        let forged = send(Some(&cookie), "cross-site").await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(hook.bodies().is_empty());

        let sent = send(Some(&cookie), "same-origin").await.unwrap();
        assert_eq!(sent.status(), StatusCode::OK);
        let deliveries: Vec<Delivery> = sent.json().await.unwrap();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].outcome, Outcome::Delivered);
        assert_eq!(
            deliveries[0].webhook,
            alerts_to(&[&hook.url]).redacted_webhooks()[0]
        );
        assert_eq!(hook.bodies().len(), 1);
        assert_eq!(hook.bodies()[0]["kind"], "test");
    })
    .await;
}
