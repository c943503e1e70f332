//! The login form attacked as an attacker would, over real HTTP against a real server, on
//! SQLite and on PostgreSQL (docs/security.md, rules 1 to 7). Several server processes on
//! one database, and memory under 400 parallel logins, are in `tests/door.rs`.

use super::super::forms::MAX_FORM_BYTES;
use super::super::guard::STATS_PATH;
use super::super::tests::{client_from, cookie_of, post_login, server_with_admin, EMAIL, PASSWORD};
use crate::testing::TestServer;
use app::config::parse_proxy;
use app::config::Settings;
use reqwest::header;
use reqwest::{Client, StatusCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use store::db::testing::{fresh_sqlite, on_each_backend};

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn stats_with(client: &Client, server: &TestServer, cookie: &str) -> StatusCode {
    client
        .get(format!("{}{STATS_PATH}", server.url))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_burst_of_forty_checks_at_most_five_and_the_right_password_then_waits() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let attacker = client_from("127.0.0.6");
        let (refused, mut first_refusal) = tokio::sync::watch::channel(false);
        let wrong = (0..40).map(|n| {
            let (attacker, server, refused) = (&attacker, &server, &refused);
            async move {
                let response = post_login(attacker, server, EMAIL, &format!("guess {n:02}")).await;
                if response.status() == StatusCode::TOO_MANY_REQUESTS {
                    assert!(retry_after(&response) >= 1);
                    refused.send_replace(true);
                }
                response.status()
            }
        });
        // The right password, sent while the burst is under way, once the limit is reached.
        let right = async {
            let limit_reached = first_refusal.wait_for(|refused| *refused);
            tokio::time::timeout(Duration::from_secs(60), limit_reached)
                .await
                .expect("no attempt of the burst was refused")
                .unwrap();
            post_login(&attacker, &server, EMAIL, PASSWORD)
                .await
                .status()
        };
        let (statuses, right) = tokio::join!(futures::future::join_all(wrong), right);
        let checked = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let throttled = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(checked + throttled, 40, "{statuses:?}");
        assert!((1..=5).contains(&checked), "{checked} passwords checked");
        assert_eq!(server.state.hashing.checks(), checked as u64);
        assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(server.state.hashing.checks(), checked as u64);
    })
    .await;
}

#[tokio::test]
async fn the_admin_gets_in_from_elsewhere_while_one_address_keeps_failing() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let attacker = client_from("127.0.0.7");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let hammer = |n: usize| {
            let (attacker, server, stopped) = (&attacker, &server, stopped.clone());
            async move {
                let mut statuses = Vec::new();
                while !*stopped.borrow() {
                    let guess = format!("guess {n} {}", statuses.len());
                    statuses.push(post_login(attacker, server, EMAIL, &guess).await.status());
                }
                statuses
            }
        };
        let admin = async {
            let admin = client_from("127.0.0.8");
            for _ in 0..3 {
                // The account may be paced for a moment by the attacker's first failures
                // (1.5 s in all, from one address), never locked: short waits, then in.
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                let mut response = post_login(&admin, &server, EMAIL, PASSWORD).await;
                while response.status() == StatusCode::TOO_MANY_REQUESTS {
                    let wait = retry_after(&response);
                    assert!(wait <= 4, "the admin was refused for {wait} s");
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the admin is kept out"
                    );
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    response = post_login(&admin, &server, EMAIL, PASSWORD).await;
                }
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            stop.send_replace(true);
        };
        let (attacks, ()) = tokio::join!(futures::future::join_all((0..4).map(hammer)), admin);
        let statuses: Vec<StatusCode> = attacks.into_iter().flatten().collect();
        let checked = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        assert!(statuses.len() > 20, "{statuses:?}");
        assert!(
            checked <= 5,
            "{checked} of the attacker's passwords checked"
        );
        assert!(statuses
            .iter()
            .all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)));
    })
    .await;
}

#[tokio::test]
async fn checks_beyond_the_bound_and_its_queue_get_503_and_retry_after() {
    on_each_backend(|db| async move {
        let mut settings = Settings::defaults();
        settings.access.login_hash_concurrency = 1;
        settings.access.login_hash_queue = 2;
        let server = server_with_admin(db, settings).await;
        // Each from an address of its own, so that the throttle lets all through.
        let logins = (0..30).map(|n| {
            let server = &server;
            async move {
                let client = client_from(&format!("127.0.1.{}", n + 1));
                let email = format!("nobody{n}@example.com");
                let response = post_login(&client, server, &email, "wrong password").await;
                let status = response.status();
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    assert_eq!(retry_after(&response), 2);
                    let page = response.text().await.unwrap();
                    assert!(page.contains("The server is busy checking other sign-ins"));
                }
                status
            }
        });
        let statuses = futures::future::join_all(logins).await;
        let busy = statuses
            .iter()
            .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
            .count();
        let checked = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        assert_eq!(busy + checked, 30, "{statuses:?}");
        assert!(busy > 0 && checked >= 3, "{statuses:?}");
        assert_eq!(server.state.hashing.checks(), checked as u64);
        // An attempt turned away was not counted against anyone.
        let counted: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM login_attempts
             WHERE key LIKE 'address:%'",
        )
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap();
        assert_eq!(counted, checked as i64);
    })
    .await;
}

#[tokio::test]
async fn overlong_fields_and_bodies_are_refused_before_any_work() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let setup_token = server.state.setup.open();
        let client = client_from("127.0.0.9");
        let long_email = format!("{}@example.com", "a".repeat(243));
        let long_password = "p".repeat(1025);
        for path in ["/login".to_owned(), format!("/setup?token={setup_token}")] {
            for (email, password, reason) in [
                (long_email.as_str(), PASSWORD, "the email has 255 bytes"),
                (EMAIL, long_password.as_str(), "the password has 1025 bytes"),
            ] {
                let response = client
                    .post(format!("{}{path}", server.url))
                    .form(&[
                        ("email", email),
                        ("password", password),
                        ("password_confirm", password),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
                let page = response.text().await.unwrap();
                assert!(page.contains(reason), "{path}: {reason}");
                assert!(!page.contains(&long_password[..1025]), "{path}");
            }
            let body = format!("email=a&password={}", "x".repeat(MAX_FORM_BYTES));
            let response = client
                .post(format!("{}{path}", server.url))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        }
        // Nothing was hashed or counted, and the setup link was not used up.
        assert_eq!(server.state.hashing.checks(), 0);
        let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts")
            .fetch_one(&server.state.db.pool)
            .await
            .unwrap();
        assert_eq!(counted, 0);
        assert!(server.state.setup.accepts(&setup_token));
        // At the limits, a form is an ordinary one.
        let email = format!("{}@example.com", "a".repeat(242));
        let response = post_login(&client, &server, &email, &"p".repeat(1024)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    on_each_backend(|db| async move {
        let mut settings = Settings::defaults();
        settings.access.trusted_proxies = vec![parse_proxy("127.0.0.1").unwrap()];
        let server = server_with_admin(db, settings).await;
        let (proxy, stranger) = (client_from("127.0.0.1"), client_from("127.0.0.10"));
        let login = |client: &Client, forwarded: String, email: String, password: &str| {
            client
                .post(format!("{}/login", server.url))
                .header("x-forwarded-for", forwarded)
                .form(&[("email", email.as_str()), ("password", password)])
                .send()
        };
        // Twenty failures (other accounts each) lock an address.
        for client in [&proxy, &stranger] {
            let failures = (0..20).map(|n| {
                let forwarded = format!("198.51.100.{n}, 203.0.113.1");
                login(client, forwarded, format!("user{n}@example.com"), "wrong")
            });
            for response in futures::future::join_all(failures).await {
                assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);
            }
        }
        let status = |client, forwarded: &str| {
            let response = login(client, forwarded.to_owned(), EMAIL.into(), PASSWORD);
            async { response.await.unwrap().status() }
        };
        // Through the trusted proxy, the client's address was counted, not the proxy's:
        // that client is refused, another behind the same proxy is not.
        assert_eq!(
            status(&proxy, "203.0.113.1").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(status(&proxy, "203.0.113.2").await, StatusCode::SEE_OTHER);
        // From anyone else the header is ignored: the peer itself is locked, whatever it says.
        assert_eq!(
            status(&stranger, "203.0.113.3").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        let addresses: Vec<String> = sqlx::query_scalar(
            "SELECT key FROM login_attempts WHERE key LIKE 'address:%' ORDER BY key",
        )
        .fetch_all(&server.state.db.pool)
        .await
        .unwrap();
        assert_eq!(
            addresses,
            [
                "address:127.0.0.10",
                "address:203.0.113.1",
                "address:203.0.113.2"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn logging_in_again_ends_the_session_the_browser_presented() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let client = client_from("127.0.0.11");
        let first = cookie_of(&post_login(&client, &server, EMAIL, PASSWORD).await);
        assert_eq!(stats_with(&client, &server, &first).await, StatusCode::OK);
        let again = client
            .post(format!("{}/login", server.url))
            .header(header::COOKIE, &first)
            .form(&[("email", EMAIL), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        let second = cookie_of(&again);
        assert_ne!(second, first);
        assert_eq!(
            stats_with(&client, &server, &first).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(stats_with(&client, &server, &second).await, StatusCode::OK);
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&server.state.db.pool)
            .await
            .unwrap();
        assert_eq!(sessions, 1);
    })
    .await;
}

#[tokio::test]
async fn a_malformed_session_cookie_is_refused_without_asking_the_database() {
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let client = client_from("127.0.0.12");
    let cookie = cookie_of(&post_login(&client, &server, EMAIL, PASSWORD).await);
    let id = cookie.split_once('=').unwrap().1.to_owned();
    // With the database gone, any request that asks it gets a 503.
    server.state.db.close().await;
    let well_formed_unknown = format!(
        "usage_monitor_session={}",
        store::auth::secret::random_secret()
    );
    assert_eq!(
        stats_with(&client, &server, &well_formed_unknown).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "a well-formed id is looked up"
    );
    for malformed in [
        format!("{id}x"),
        id[1..].to_owned(),
        format!("+{}", &id[1..]),
        format!("{}%3D", &id[..40]),
        "x".repeat(10_000),
        "'; DROP TABLE sessions; --".into(),
    ] {
        let cookie = format!("usage_monitor_session={malformed}");
        assert_eq!(
            stats_with(&client, &server, &cookie).await,
            StatusCode::UNAUTHORIZED,
            "{malformed:.50}"
        );
    }
}

#[tokio::test]
async fn strict_transport_security_only_when_the_public_url_is_https() {
    let (db, _folder) = fresh_sqlite().await;
    let plain = TestServer::start(db.clone(), Settings::defaults()).await;
    let mut settings = Settings::defaults();
    settings.access.public_url = Some("https://usage.example.com".into());
    settings.access.session.secure_cookie = true;
    let https = TestServer::start(db, settings).await;
    let client = client_from("127.0.0.13");
    for path in ["/login", "/healthz", "/admin/credits", STATS_PATH] {
        let response = client
            .get(format!("{}{path}", https.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000",
            "{path}"
        );
        let response = client
            .get(format!("{}{path}", plain.url))
            .send()
            .await
            .unwrap();
        assert!(
            !response
                .headers()
                .contains_key(header::STRICT_TRANSPORT_SECURITY),
            "{path}"
        );
    }
}

/// A login through the trusted proxy at 127.0.0.1, from `address`, with `cookie` if any.
async fn login_from(
    server: &TestServer,
    address: &str,
    password: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = client_from("127.0.0.1")
        .post(format!("{}/login", server.url))
        .header("x-forwarded-for", address)
        .form(&[("email", EMAIL), ("password", password)]);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

/// The device cookie a sign-in set, as a `Cookie` header value.
fn device_cookie_of(response: &reqwest::Response) -> String {
    let set_cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("usage_monitor_device="))
        .expect("a sign-in sets a device cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=31536000"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Tasks sending wrong passwords through the trusted proxy, each attempt from a new
/// address that `address` makes from a random number, until `stopped`; their statuses.
async fn rotating_attack(
    server: &TestServer,
    tasks: usize,
    address: fn(u64) -> String,
    stopped: tokio::sync::watch::Receiver<bool>,
    made: &AtomicUsize,
) -> Vec<StatusCode> {
    let attack = (0..tasks).map(|_| {
        let stopped = stopped.clone();
        async move {
            let mut statuses = Vec::new();
            while !*stopped.borrow() {
                let from = address(fastrand::u64(..));
                let guess = format!("guess {}", statuses.len());
                statuses.push(login_from(server, &from, &guess, None).await.status());
                made.fetch_add(1, Ordering::Relaxed);
            }
            statuses
        }
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(attack)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(statuses
        .iter()
        .all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)));
    statuses
}

/// Signs in from `address` with the right password, waiting as `Retry-After` says; how
/// long it took. Fails past `deadline`.
async fn admin_signs_in(server: &TestServer, address: &str, deadline: Duration) -> Duration {
    let start = std::time::Instant::now();
    loop {
        let response = login_from(server, address, PASSWORD, None).await;
        if response.status() == StatusCode::SEE_OTHER {
            return start.elapsed();
        }
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait = Duration::from_secs(retry_after(&response));
        assert!(
            start.elapsed() + wait < deadline,
            "the admin is kept out: told to wait {wait:?} after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(wait).await;
    }
}

/// The attack runs at least this long, whenever the admin gets in, and makes at least
/// [`ATTEMPTS`]: on a busy machine it runs longer, and its bound grows with it.
const ATTACK: Duration = Duration::from_secs(4);
const ATTEMPTS: usize = 40;

#[tokio::test]
async fn rotating_ipv6_addresses_keep_no_admin_out_and_get_few_passwords_checked() {
    on_each_backend(|db| async move {
        let mut settings = Settings::defaults();
        settings.access.trusted_proxies = vec![parse_proxy("127.0.0.1").unwrap()];
        let server = server_with_admin(db, settings).await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let made = AtomicUsize::new(0);
        let started = std::time::Instant::now();
        // Half from new addresses inside one /64, half from new /64s of one /48.
        let in_one_64 = rotating_attack(
            &server,
            4,
            |n| format!("2001:db8:1:1::{:x}", n as u16),
            stopped.clone(),
            &made,
        );
        let across_64s = rotating_attack(
            &server,
            4,
            |n| format!("2001:db8:1:{:x}::1", n as u16),
            stopped,
            &made,
        );
        let admin = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let took = admin_signs_in(&server, "2001:db8:ad::1", Duration::from_secs(10)).await;
            while started.elapsed() < ATTACK || made.load(Ordering::Relaxed) < ATTEMPTS {
                assert!(started.elapsed() < Duration::from_secs(60), "the attack stalled");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stop.send_replace(true);
            took
        };
        let (one, across, took) = tokio::join!(in_one_64, across_64s, admin);
        let lasted = started.elapsed();
        let checked = one
            .iter()
            .chain(&across)
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        eprintln!(
            "{} attempts in {lasted:?}: {checked} checked; the admin got in after {took:?}",
            one.len() + across.len(),
        );
        assert!(one.len() + across.len() >= ATTEMPTS);
        // What the account's pacing lets through over the attack, the admin's own included.
        let paced = server.state.throttle.policy().account_attempts_within(lasted);
        assert!(
            checked <= paced as usize,
            "{checked} of the attacker's passwords checked in {lasted:?}, over the {paced} the pacing allows"
        );
    })
    .await;
}

#[tokio::test]
async fn the_admins_device_cookie_gets_them_in_at_once_during_any_attack() {
    on_each_backend(|db| async move {
        let mut settings = Settings::defaults();
        settings.access.trusted_proxies = vec![parse_proxy("127.0.0.1").unwrap()];
        let server = server_with_admin(db, settings).await;
        let signed_in = login_from(&server, "2001:db8:ad::1", PASSWORD, None).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        let device = device_cookie_of(&signed_in);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let made = AtomicUsize::new(0);
        // From anywhere: new addresses of one /64, and new /48s, so no address limit helps.
        let near = rotating_attack(
            &server,
            4,
            |n| format!("2001:db8:1:1::{:x}", n as u16),
            stopped.clone(),
            &made,
        );
        let anywhere = rotating_attack(
            &server,
            4,
            |n| format!("2001:db8:{:x}:{:x}::1", n as u16, (n >> 16) as u16),
            stopped,
            &made,
        );
        let admin = async {
            // Once the account is paced and that /64 locked, both by the attacker...
            let watch = async {
                loop {
                    let response = login_from(&server, "2001:db8:1:1::ad", "probe", None).await;
                    if response.status() == StatusCode::TOO_MANY_REQUESTS
                        && retry_after(&response) > 60
                    {
                        return;
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(10), watch)
                .await
                .expect("the attacker's /64 was not locked");
            // ...the admin's browser, even at an address of that /64, gets in at once,
            // every time.
            for _ in 0..3 {
                let response =
                    login_from(&server, "2001:db8:1:1::ad", PASSWORD, Some(&device)).await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
                let response =
                    login_from(&server, "2001:db8:beef::1", PASSWORD, Some(&device)).await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
            }
            stop.send_replace(true);
        };
        let (near, anywhere, ()) = tokio::join!(near, anywhere, admin);
        eprintln!("{} attempts", near.len() + anywhere.len());
        // The device has a bound of its own: five wrong passwords, then it is refused too.
        for _ in 0..5 {
            let response = login_from(&server, "2001:db8:ad::2", "wrong", Some(&device)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let response = login_from(&server, "2001:db8:ad::2", PASSWORD, Some(&device)).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}
