//! The throttle's counting, on SQLite and PostgreSQL, with the clock given by the test.

use super::*;
use crate::store::db::testing::on_each_backend;
use chrono::TimeDelta;

const ANN: &str = "ann@example.com";

fn throttle() -> LoginThrottle {
    LoginThrottle::new(ThrottlePolicy::with_lockout(Duration::from_secs(15 * 60)))
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    "2026-12-01T08:00:00Z".parse().unwrap()
}

fn allowed(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Allow(_))
}

/// Another connection pool on the same database, as another server process has.
async fn another_server(db: &Db) -> Db {
    let url = db.pool.connect_options().database_url.to_string();
    Db::connect(&url, crate::store::db::testing::TIMEOUTS)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_burst_on_three_servers_is_counted_as_one() {
    on_each_backend(|db| async move {
        let servers = [
            db.clone(),
            another_server(&db).await,
            another_server(&db).await,
        ];
        let throttles = [throttle(), throttle(), throttle()];
        let now = t0();
        let attempts = (0..60).map(|n| {
            let (db, throttle) = (&servers[n % 3], &throttles[n % 3]);
            async move {
                throttle
                    .reserve(db, ANN, ip("10.0.0.1"), now)
                    .await
                    .unwrap()
            }
        });
        let verdicts = futures::future::join_all(attempts).await;
        // Three free attempts and a fourth that paces the account: then it refuses.
        assert_eq!(verdicts.iter().filter(|v| allowed(v)).count(), 4);
        let paced = verdicts.iter().find(|v| !allowed(v)).unwrap();
        assert_eq!(
            *paced,
            Verdict::Refuse {
                retry_after: Duration::from_millis(500)
            }
        );
        for other in &servers[1..] {
            other.close().await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_account_at_an_address_is_locked_but_the_account_is_only_paced() {
    on_each_backend(|db| async move {
        let t = throttle();
        let mut now = t0();
        let mut delays = Vec::new();
        for _ in 0..5 {
            match t.reserve(&db, ANN, ip("10.0.0.1"), now).await.unwrap() {
                Verdict::Allow(reservation) => delays.push(reservation.pace),
                refused => panic!("{refused:?}"),
            }
            now += TimeDelta::seconds(5);
        }
        let ms = Duration::from_millis;
        assert_eq!(delays, [ms(0), ms(0), ms(0), ms(500), ms(1000)]);
        // The sixth from the same address is refused until the lockout has passed since
        // the last attempt let through...
        assert_eq!(
            t.reserve(&db, ANN, ip("10.0.0.1"), now).await.unwrap(),
            Verdict::Refuse {
                retry_after: Duration::from_secs(15 * 60 - 5)
            }
        );
        // ...while the admin at another address gets in, paced only.
        let Verdict::Allow(admin) = t.reserve(&db, ANN, ip("10.0.0.2"), now).await.unwrap() else {
            panic!("the admin is locked out")
        };
        assert_eq!(admin.pace, Duration::from_secs(2));
        // A success gives its own attempt back (and only its own), and lifts the pace.
        t.give_back(&db, &admin, GivenBack::RightPassword, now)
            .await
            .unwrap();
        let account = || async {
            let row = sqlx::query(
                "SELECT attempts, not_before FROM login_attempts WHERE key LIKE 'account:%'",
            )
            .fetch_one(&db.pool)
            .await
            .unwrap();
            (row.get::<i64, _>(0), row.get::<i64, _>(1))
        };
        assert_eq!(account().await, (5, now.timestamp_micros()));
        let Verdict::Allow(unchecked) = t.reserve(&db, ANN, ip("10.0.0.2"), now).await.unwrap()
        else {
            panic!("paced after a success")
        };
        // An attempt never checked gives back its count, not its pace.
        t.give_back(&db, &unchecked, GivenBack::NotChecked, now)
            .await
            .unwrap();
        let paced_until = now + TimeDelta::seconds(2);
        assert_eq!(account().await, (5, paced_until.timestamp_micros()));
        let later = now + TimeDelta::minutes(15);
        assert!(allowed(
            &t.reserve(&db, ANN, ip("10.0.0.1"), later).await.unwrap()
        ));
    })
    .await;
}

#[tokio::test]
async fn an_address_guessing_many_accounts_is_locked_and_old_rows_are_deleted() {
    on_each_backend(|db| async move {
        let t = throttle();
        let now = t0();
        for n in 0..20 {
            let email = format!("user{n}@example.com");
            assert!(allowed(
                &t.reserve(&db, &email, ip("10.0.0.9"), now).await.unwrap()
            ));
        }
        assert!(!allowed(
            &t.reserve(&db, ANN, ip("10.0.0.9"), now).await.unwrap()
        ));
        assert!(allowed(
            &t.reserve(&db, ANN, ip("10.0.0.10"), now).await.unwrap()
        ));
        let rows = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM login_attempts")
                .fetch_one(&db.pool)
                .await
                .unwrap()
        };
        // 20 accounts, 20 accounts at the address, the address; ann twice, the other address.
        assert_eq!(rows().await, 20 + 20 + 1 + 3);
        // A server deletes the rows whose window has passed, not only ignores them.
        let fresh = throttle();
        let later = now + TimeDelta::minutes(16);
        assert!(allowed(
            &fresh
                .reserve(&db, ANN, ip("10.0.0.9"), later)
                .await
                .unwrap()
        ));
        assert_eq!(rows().await, 3);
    })
    .await;
}

#[tokio::test]
async fn emails_of_any_bytes_are_counted_without_being_stored() {
    on_each_backend(|db| async move {
        let t = throttle();
        let hostile = "ann\0@example.com'; DROP TABLE admins; --\u{202e}";
        assert!(allowed(
            &t.reserve(&db, hostile, ip("::1"), t0()).await.unwrap()
        ));
        let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM login_attempts")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().all(|key| !key.contains("ann")), "{keys:?}");
        assert!(keys.contains(&"address:::1".to_owned()), "{keys:?}");
    })
    .await;
}

#[test]
fn delays_double_and_stop_growing() {
    let policy = ThrottlePolicy::with_lockout(Duration::from_secs(60));
    assert_eq!(policy.delay_after(3), Duration::ZERO);
    assert_eq!(policy.delay_after(4), Duration::from_millis(500));
    assert_eq!(policy.delay_after(6), Duration::from_secs(2));
    assert_eq!(policy.delay_after(40), Duration::from_secs(4));
    assert_eq!(policy.delay_after(i64::MAX), Duration::from_secs(4));
}
