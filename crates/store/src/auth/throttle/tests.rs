//! The throttle's counting, on SQLite and PostgreSQL, with the clock given by the test.

use super::*;
use crate::db::testing::on_each_backend;
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

/// Whether `t` lets an attempt for `email` from `address` through, without a device cookie.
async fn lets_in(
    t: &LoginThrottle,
    db: &Db,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> bool {
    allowed(&t.reserve(db, email, ip(address), None, now).await.unwrap())
}

/// Another connection pool on the same database, as another server process has.
async fn another_server(db: &Db) -> Db {
    let url = db.pool.connect_options().database_url.to_string();
    Db::connect(&url, crate::db::testing::TIMEOUTS)
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
                    .reserve(db, ANN, ip("10.0.0.1"), None, now)
                    .await
                    .unwrap()
            }
        });
        let verdicts = futures::future::join_all(attempts).await;
        // Three free attempts and a fourth that paces the account: then it refuses, and
        // that refusal is the fifth attempt counted at the address, which locks it.
        assert_eq!(verdicts.iter().filter(|v| allowed(v)).count(), 4);
        let refused = |retry_after| {
            let verdict = Verdict::Refuse { retry_after };
            verdicts.iter().filter(|v| **v == verdict).count()
        };
        assert_eq!(refused(Duration::from_millis(500)), 1);
        assert_eq!(refused(Duration::from_secs(15 * 60)), 55);
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
            match t
                .reserve(&db, ANN, ip("10.0.0.1"), None, now)
                .await
                .unwrap()
            {
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
            t.reserve(&db, ANN, ip("10.0.0.1"), None, now)
                .await
                .unwrap(),
            Verdict::Refuse {
                retry_after: Duration::from_secs(15 * 60 - 5)
            }
        );
        // ...while the admin at another address gets in, paced only.
        let Verdict::Allow(admin) = t
            .reserve(&db, ANN, ip("10.0.0.2"), None, now)
            .await
            .unwrap()
        else {
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
        let Verdict::Allow(unchecked) = t
            .reserve(&db, ANN, ip("10.0.0.2"), None, now)
            .await
            .unwrap()
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
        assert!(lets_in(&t, &db, ANN, "10.0.0.1", later).await);
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
            assert!(lets_in(&t, &db, &email, "10.0.0.9", now).await);
        }
        assert!(!lets_in(&t, &db, ANN, "10.0.0.9", now).await);
        assert!(lets_in(&t, &db, ANN, "10.0.0.10", now).await);
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
                .reserve(&db, ANN, ip("10.0.0.9"), None, later)
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
            &t.reserve(&db, hostile, ip("::1"), None, t0())
                .await
                .unwrap()
        ));
        let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM login_attempts")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(keys.len(), 4);
        assert!(keys.iter().all(|key| !key.contains("ann")), "{keys:?}");
        assert!(keys.contains(&"address:::/64".to_owned()), "{keys:?}");
        assert!(keys.contains(&"network:::/48".to_owned()), "{keys:?}");
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

#[tokio::test]
async fn addresses_of_one_ipv6_network_are_counted_together() {
    on_each_backend(|db| async move {
        let t = throttle();
        let mut now = t0();
        // New addresses of one /64 are one client: five attempts, then it is locked.
        for n in 1..=5 {
            let address = ip(&format!("2001:db8:1:1::{n:x}"));
            assert!(allowed(
                &t.reserve(&db, ANN, address, None, now).await.unwrap()
            ));
            now += TimeDelta::seconds(5);
        }
        assert_eq!(
            t.reserve(&db, ANN, ip("2001:db8:1:1:ffff::1"), None, now)
                .await
                .unwrap(),
            Verdict::Refuse {
                retry_after: Duration::from_secs(15 * 60 - 5)
            }
        );
        // New /64s of one /48: the network is refused after its limit, whatever the accounts.
        for n in 0..ThrottlePolicy::with_lockout(Duration::ZERO).network_limit {
            let (email, address) = (
                format!("user{n}@example.com"),
                format!("2001:db8:2:{n:x}::1"),
            );
            assert!(lets_in(&t, &db, &email, &address, now).await);
        }
        assert!(!lets_in(&t, &db, ANN, "2001:db8:2:ffff::1", now).await);
        assert!(lets_in(&t, &db, ANN, "2001:db8:3::1", now).await);
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT key FROM login_attempts WHERE key NOT LIKE 'account%' ORDER BY key",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert!(
            keys.contains(&"address:2001:db8:1:1::/64".to_owned()),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"network:2001:db8:2::/48".to_owned()),
            "{keys:?}"
        );
        assert!(
            keys.iter().all(|key| !key.contains("2001:db8:1:1::1")),
            "{keys:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refusal_for_the_accounts_pace_is_charged_to_the_address() {
    on_each_backend(|db| async move {
        let t = throttle();
        let now = t0();
        for _ in 0..4 {
            assert!(lets_in(&t, &db, ANN, "10.0.0.1", now).await);
        }
        // The account is paced: each new address of one /64 is refused for the pace, and
        // each refusal counts, so the /64 is soon locked for the lockout.
        let verdicts: Vec<Verdict> = futures::future::join_all((1..=8).map(|n| {
            let (t, db) = (&t, &db);
            async move {
                let address = ip(&format!("2001:db8::{n:x}"));
                t.reserve(db, ANN, address, None, now).await.unwrap()
            }
        }))
        .await;
        let paced = Verdict::Refuse {
            retry_after: Duration::from_millis(500),
        };
        let locked = Verdict::Refuse {
            retry_after: Duration::from_secs(15 * 60),
        };
        assert_eq!(verdicts.iter().filter(|v| **v == paced).count(), 5);
        assert_eq!(verdicts.iter().filter(|v| **v == locked).count(), 3);
    })
    .await;
}

#[tokio::test]
async fn reservations_and_give_backs_at_once_on_two_servers_never_deadlock() {
    on_each_backend(|db| async move {
        let servers = [db.clone(), another_server(&db).await];
        let generous = ThrottlePolicy {
            free_attempts: 10_000,
            account_address_limit: 10_000,
            address_limit: 10_000,
            ..ThrottlePolicy::with_lockout(Duration::from_secs(60))
        };
        let t = LoginThrottle::new(generous);
        let now = t0();
        let attempts = (0..200).map(|n| {
            let (db, t) = (&servers[n % 2], &t);
            async move {
                let address = ip(&format!("10.0.0.{}", n % 3));
                let Verdict::Allow(reservation) = t.reserve(db, ANN, address, None, now).await?
                else {
                    panic!("refused")
                };
                let why = [GivenBack::NotChecked, GivenBack::RightPassword][n % 2];
                t.give_back(db, &reservation, why, now).await
            }
        });
        for result in futures::future::join_all(attempts).await {
            result.unwrap();
        }
        servers[1].close().await;
    })
    .await;
}

#[tokio::test]
async fn a_device_cookie_is_counted_apart_for_its_own_account_only() {
    on_each_backend(|db| async move {
        let t = throttle();
        let now = t0();
        let cookie = t.device_cookie(&db, ANN).await.unwrap();
        // Others pace the account and lock an address...
        for _ in 0..4 {
            assert!(lets_in(&t, &db, ANN, "10.0.0.1", now).await);
        }
        for n in 0..20 {
            let email = format!("user{n}@example.com");
            assert!(lets_in(&t, &db, &email, "10.0.0.9", now).await);
        }
        assert!(!lets_in(&t, &db, ANN, "10.0.0.2", now).await);
        // ...which hold back no attempt with the device cookie, up to the device's own limit.
        for _ in 0..5 {
            let verdict = t.reserve(&db, ANN, ip("10.0.0.9"), Some(&cookie), now);
            assert!(allowed(&verdict.await.unwrap()));
        }
        assert_eq!(
            t.reserve(&db, ANN, ip("10.0.0.3"), Some(&cookie), now)
                .await
                .unwrap(),
            Verdict::Refuse {
                retry_after: Duration::from_secs(15 * 60)
            }
        );
        // For another account, or forged, the cookie is no device: an ordinary attempt.
        let other = if cookie.starts_with('A') { "B" } else { "A" };
        let forged = format!("{other}{}", &cookie[1..]);
        for (email, cookie) in [("bob@example.com", cookie.as_str()), (ANN, forged.as_str())] {
            let verdict = t.reserve(&db, email, ip("10.0.0.9"), Some(cookie), now);
            assert!(!allowed(&verdict.await.unwrap()), "{email} {cookie}");
        }
        let devices: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE key LIKE 'device:%'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(devices, 1);
    })
    .await;
}

#[test]
fn pacing_lets_the_free_attempts_through_at_once_then_one_after_each_doubling_pause() {
    let policy = ThrottlePolicy::with_lockout(Duration::from_secs(60));
    let within = |millis| policy.account_attempts_within(Duration::from_millis(millis));
    // Three free and the first paced one at once; then pauses of 0.5, 1, 2 and 4 s.
    assert_eq!(within(0), 4);
    assert_eq!(within(499), 4);
    assert_eq!(within(500), 5);
    assert_eq!(within(1_500), 6);
    assert_eq!(within(3_500), 7);
    assert_eq!(within(7_499), 7);
    assert_eq!(within(7_500), 8);
    assert_eq!(within(11_500), 9);
}
