//! The access rules over real HTTP, against a real server on SQLite and on PostgreSQL.

use super::guard::{HEALTH_PATH, INGEST_PATH, READY_PATH, STATS_PATH};
use crate::testing::TestServer;
use app::config::Settings;
use reqwest::header::{self, HeaderMap};
use reqwest::{Client, Method, Response, StatusCode};
use std::net::IpAddr;
use std::time::Duration;
use store::auth::accounts::create_admin;
use store::auth::token::{self, Scope};
use store::db::testing::{fresh_sqlite, on_each_backend};
use store::db::Db;

pub(crate) const EMAIL: &str = "ann@example.com";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) fn client_from(address: &str) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

pub(crate) fn client() -> Client {
    client_from("127.0.0.1")
}

pub(crate) async fn server_with_admin(db: Db, settings: Settings) -> TestServer {
    create_admin(&db, EMAIL, PASSWORD, false).await.unwrap();
    TestServer::start(db, settings).await
}

pub(crate) async fn post_login(
    client: &Client,
    server: &TestServer,
    email: &str,
    password: &str,
) -> Response {
    client
        .post(format!("{}/login?next=%2Fadmin%2Fcredits", server.url))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Signs in and returns the `Cookie` header value for the session.
pub(crate) async fn sign_in(client: &Client, server: &TestServer) -> String {
    let response = post_login(client, server, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    cookie_of(&response)
}

pub(crate) fn cookie_of(response: &Response) -> String {
    let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

fn location(response: &Response) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

/// Every page Leptos serves, every server function, and every JSON route.
fn every_door() -> Vec<(Method, String)> {
    let mut doors: Vec<(Method, String)> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|route| (Method::GET, route.path().to_owned()))
        .collect();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        doors.push((
            Method::from_bytes(method.as_str().as_bytes()).unwrap(),
            path.to_owned(),
        ));
    }
    doors.extend([
        (Method::GET, STATS_PATH.to_owned()),
        (Method::GET, "/api/admin/export/generations.csv".to_owned()),
        (Method::GET, "/api/admin/export/providers.csv".to_owned()),
        (Method::POST, INGEST_PATH.to_owned()),
        (Method::GET, HEALTH_PATH.to_owned()),
        (Method::GET, READY_PATH.to_owned()),
        (Method::GET, "/".to_owned()),
        (Method::GET, "/admin".to_owned()),
        // Paths nobody has written yet are closed too.
        (Method::GET, "/admin/not-yet-written".to_owned()),
        (Method::POST, "/api/not-yet-written".to_owned()),
        // Last: it ends the session.
        (Method::POST, "/logout".to_owned()),
    ]);
    doors
}

#[tokio::test]
async fn every_route_and_server_function_needs_a_session() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let client = client();
        let doors = every_door();
        assert!(
            doors
                .iter()
                .filter(|(_, p)| p.starts_with("/api/get_dashboard"))
                .count()
                >= 2,
            "the server functions are listed: {doors:?}"
        );
        for (method, path) in &doors {
            let response = client
                .request(method.clone(), format!("{}{path}", server.url))
                .send()
                .await
                .unwrap();
            let status = response.status();
            match path.as_str() {
                "/login" | "/setup" => assert_eq!(status, StatusCode::OK, "{method} {path}"),
                // Public, and they say only "up" and "database reachable".
                HEALTH_PATH | READY_PATH => {
                    assert_eq!(status, StatusCode::OK, "{method} {path}");
                    assert!(!response.headers().contains_key(header::SET_COOKIE));
                    let body = response.text().await.unwrap();
                    let expected = if path == HEALTH_PATH { "ok" } else { "ready" };
                    assert_eq!(body, expected, "{path}");
                }
                _ if path.starts_with("/api/") => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
                    let body: serde_json::Value = response.json().await.unwrap();
                    assert!(body["error"].is_string(), "{method} {path}: {body}");
                }
                _ => {
                    assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}");
                    assert!(location(&response).starts_with("/login"), "{method} {path}");
                }
            }
        }

        // With a session the same doors open (the ingest API takes tokens only).
        let cookie = sign_in(&client, &server).await;
        for (method, path) in &doors {
            let response = client
                .request(method.clone(), format!("{}{path}", server.url))
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .send()
                .await
                .unwrap();
            let status = response.status();
            match path.as_str() {
                INGEST_PATH => assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}"),
                "/login" => assert_eq!(status, StatusCode::SEE_OTHER, "signed in: {path}"),
                "/" | "/admin" | "/logout" => assert!(status.is_redirection(), "{path}"),
                "/admin/not-yet-written" | "/api/not-yet-written" => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}")
                }
                // The page of a user called "{id}", whom nobody sent.
                _ if path.contains("{id}") => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}")
                }
                // No webhook is configured: nothing to send a test alert to.
                _ if path.contains("send_test_alert") => {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}")
                }
                // Let in, and refused for want of the budgets it is to save.
                _ if path.contains("save_budgets") => {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}")
                }
                _ => assert_eq!(status, StatusCode::OK, "{method} {path}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_page_redirects_to_login_and_login_comes_back_to_it() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let client = client();
        let response = client
            .get(format!("{}/admin/credits?view=x", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            location(&response),
            "/login?next=%2Fadmin%2Fcredits%3Fview%3Dx"
        );

        let response = client
            .post(format!(
                "{}/login?next=%2Fadmin%2Fcredits%3Fview%3Dx",
                server.url
            ))
            .form(&[("email", " Ann@Example.com "), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/admin/credits?view=x");
        let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(
            set_cookie.starts_with("usage_monitor_session="),
            "{set_cookie}"
        );
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set_cookie.contains(attribute), "{set_cookie}");
        }
        let cookie = cookie_of(&response);
        let page = client
            .get(format!("{}/admin/credits", server.url))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("data-testid=\"sign-out\""));

        // Another login gets another session id; neither is taken from the client.
        let second = sign_in(&client, &server).await;
        assert_ne!(second, cookie);
        let fixed = client
            .post(format!("{}/login", server.url))
            .header(header::COOKIE, "usage_monitor_session=chosen-by-attacker")
            .form(&[("email", EMAIL), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert!(!cookie_of(&fixed).contains("chosen-by-attacker"));
        // A next that leaves the site goes home instead.
        let response = client
            .post(format!(
                "{}/login?next=https%3A%2F%2Fevil.example%2F",
                server.url
            ))
            .form(&[("email", EMAIL), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/admin/credits");
    })
    .await;
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let client = client();
        let cookie = sign_in(&client, &server).await;
        let response = client
            .post(format!("{}/logout", server.url))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/login");
        assert!(response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        // The old cookie, replayed, no longer opens anything.
        let replayed = client
            .get(format!("{}/api/admin/credit-stats", server.url))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    on_each_backend(|db| async move {
        let mut settings = Settings::defaults();
        settings.access.session.idle = Duration::from_secs(1);
        let server = server_with_admin(db, settings).await;
        let client = client();
        let cookie = sign_in(&client, &server).await;
        let stats = || {
            client
                .get(format!("{}{STATS_PATH}", server.url))
                .header(header::COOKIE, &cookie)
                .send()
        };
        assert_eq!(stats().await.unwrap().status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(stats().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_only() {
    let (db, _folder) = fresh_sqlite().await;
    let mut settings = Settings::defaults();
    settings.access.public_url = Some("https://usage.example.com".into());
    settings.access.session.secure_cookie = true;
    let server = server_with_admin(db, settings).await;
    let response = post_login(&client(), &server, EMAIL, PASSWORD).await;
    let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with("__Host-usage_monitor_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(!set_cookie.contains("Domain="), "{set_cookie}");
}

/// The page without its per-response nonce (which Leptos writes in several attributes),
/// to compare two answers.
fn without_nonce(html: &str) -> String {
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .filter(|nonce| !nonce.is_empty());
    match nonce {
        Some(nonce) => html.replace(nonce, "NONCE"),
        None => html.to_owned(),
    }
}

#[tokio::test]
async fn wrong_email_and_wrong_password_get_the_same_answer_in_the_same_time() {
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let client = client();
    let mut answers = Vec::new();
    for (email, password) in [
        ("nobody@example.com", PASSWORD),
        (EMAIL, "wrong password here"),
        ("nobody2@example.com", PASSWORD),
        (EMAIL, "another wrong one"),
        ("nobody3@example.com", PASSWORD),
        (EMAIL, "and a third wrong"),
    ] {
        let checks_before = server.state.hashing.checks();
        let response = post_login(&client, &server, email, password).await;
        let checks = server.state.hashing.checks() - checks_before;
        let status = response.status();
        let body = without_nonce(&response.text().await.unwrap());
        answers.push((status, body, checks));
    }
    let (status, body, _) = &answers[0];
    assert_eq!(*status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Wrong email or password."));
    for (other_status, other_body, _) in &answers {
        assert_eq!(other_status, status);
        assert_eq!(other_body, body);
    }
    // Both kinds check one argon2 hash, so they take as long: without the decoy hash an
    // unknown email would answer in a fraction of the time a hash takes. Counted, not
    // timed, so that a busy machine cannot make the test fail or pass by chance.
    for (n, (_, _, checks)) in answers.iter().enumerate() {
        assert_eq!(*checks, 1, "answer {n} checked {checks} hashes");
    }
}

#[tokio::test]
async fn failed_logins_are_slowed_then_refused_from_that_address_until_the_lockout_ends() {
    on_each_backend(|db| async move {
        let mut settings = Settings::defaults();
        settings.access.login_lockout = Duration::from_secs(3);
        let server = server_with_admin(db, settings).await;
        let attacker = client_from("127.0.0.2");
        // Three free failures, and a fourth that paces the account. The fifth is checked,
        // or refused for the pace if it comes sooner; either way it counts at the address.
        for _ in 0..4 {
            let response = post_login(&attacker, &server, EMAIL, "guessing wrong").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let fifth = post_login(&attacker, &server, EMAIL, "guessing wrong").await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&fifth.status()),
            "{fifth:?}"
        );

        // The account at that address is locked, even for the right password...
        let refused = post_login(&attacker, &server, EMAIL, PASSWORD).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = refused.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3).contains(&retry_after), "{retry_after}");
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins"));
        // ...but not the account: its admin at another address gets in, after the pace
        // the last failure set (a second at most)...
        let admin = client_from("127.0.0.3");
        let mut response = post_login(&admin, &server, EMAIL, PASSWORD).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
            tokio::time::sleep(Duration::from_secs(1)).await;
            response = post_login(&admin, &server, EMAIL, PASSWORD).await;
        }
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        // ...and the lock ends with the lockout.
        tokio::time::sleep(Duration::from_secs(retry_after)).await;
        let response = post_login(&attacker, &server, EMAIL, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn an_address_guessing_many_accounts_is_refused_while_others_sign_in() {
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let attacker = client_from("127.0.0.4");
    let guesses = (0..20).map(|n| {
        let attacker = attacker.clone();
        let server_url = server.url.clone();
        async move {
            attacker
                .post(format!("{server_url}/login"))
                .form(&[
                    ("email", format!("user{n}@example.com")),
                    ("password", "guess".into()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    for status in futures::future::join_all(guesses).await {
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let refused = post_login(&attacker, &server, EMAIL, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    let response = post_login(&client_from("127.0.0.5"), &server, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn api_tokens_open_only_their_own_door() {
    on_each_backend(|db| async move {
        let read = token::create(&db, "grafana", Scope::Read).await.unwrap();
        let ingest = token::create(&db, "platform", Scope::Ingest).await.unwrap();
        let server = server_with_admin(db.clone(), Settings::defaults()).await;
        let client = client();
        let stats = |token: &str| {
            client
                .get(format!("{}{STATS_PATH}", server.url))
                .bearer_auth(token)
                .send()
        };
        let events = |token: &str| {
            client
                .post(format!("{}{INGEST_PATH}", server.url))
                .bearer_auth(token)
                .json(&serde_json::json!({"kind": "user", "id": "u1", "tier": "pro", "credits": 5}))
                .send()
        };
        let response = stats(&read).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let figures: serde_json::Value = response.json().await.unwrap();
        assert!(figures["systemHealth"]["status"].is_string());
        assert_eq!(
            stats(&ingest).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            events(&read).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(events(&ingest).await.unwrap().status(), StatusCode::OK);
        // The exports are reads too.
        let export = |token: &str| {
            client
                .get(format!("{}/api/admin/export/providers.csv", server.url))
                .bearer_auth(token)
                .send()
        };
        assert_eq!(export(&read).await.unwrap().status(), StatusCode::OK);
        assert_eq!(
            export(&ingest).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        // A read token is not a session: server functions stay closed to it.
        for (path, _) in leptos::server_fn::axum::server_fn_paths() {
            let response = client
                .post(format!("{}{path}", server.url))
                .bearer_auth(&read)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        }
        let anonymous = client
            .get(format!("{}{STATS_PATH}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.headers()[header::WWW_AUTHENTICATE], "Bearer");

        token::revoke(&db, "grafana").await.unwrap();
        assert_eq!(
            stats(&read).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            stats("um_read_made-up").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[tokio::test]
async fn requests_that_change_state_from_another_site_are_refused() {
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let client = client();
    let cookie = sign_in(&client, &server).await;
    let host = server.url.trim_start_matches("http://").to_owned();
    let attempt = |path: &str, headers: &[(&str, String)]| {
        let mut request = client
            .post(format!("{}{path}", server.url))
            .header(header::COOKIE, &cookie)
            .form(&[("email", EMAIL), ("password", PASSWORD)]);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send()
    };
    let stats_fn = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .find(|path| path.contains("get_dashboard_stats"))
        .unwrap();
    for path in ["/login", "/logout", stats_fn.as_str()] {
        for cross_site in [
            vec![("sec-fetch-site", "cross-site".to_owned())],
            vec![("sec-fetch-site", "same-site".to_owned())],
            vec![("origin", "https://evil.example".to_owned())],
            vec![("origin", "null".to_owned())],
        ] {
            let response = attempt(path, &cross_site).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} {cross_site:?}"
            );
        }
    }
    for same_site in [
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![("origin", format!("http://{host}"))],
        vec![],
    ] {
        let response = attempt("/login", &same_site).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{same_site:?}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let client = client();
    let cookie = sign_in(&client, &server).await;
    let check = |headers: &HeaderMap, what: &str| {
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{what}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin", "{what}");
        csp.to_owned()
    };
    for (path, with_cookie) in [
        ("/admin/credits", true),
        ("/admin/credits", false),
        ("/login", false),
        (STATS_PATH, true),
        (STATS_PATH, false),
        ("/admin/nothing-here", true),
        ("/favicon.svg", false),
    ] {
        let mut request = client.get(format!("{}{path}", server.url));
        if with_cookie {
            request = request.header(header::COOKIE, &cookie);
        }
        let response = request.send().await.unwrap();
        check(response.headers(), path);
    }
    // A page's scripts carry the nonce its policy names, and only they run.
    let page = client
        .get(format!("{}/admin/credits", server.url))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let csp = check(page.headers(), "page");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the page's policy names a nonce")
        .to_owned();
    let html = page.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("<script nonce=\"{nonce}\"")).count()
            + html.matches("<script type=\"module\" nonce=\"").count(),
        scripts,
        "{html}"
    );
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db.clone(), Settings::defaults()).await;
        let token = server.state.setup.open();
        let client = client();
        let setup = |token: &str, password: &str, confirm: &str| {
            client
                .post(format!("{}/setup?token={token}", server.url))
                .form(&[
                    ("email", "first@example.com"),
                    ("password", password),
                    ("password_confirm", confirm),
                ])
                .send()
        };
        let page = client
            .get(format!("{}/setup?token=wrong", server.url))
            .send()
            .await
            .unwrap();
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("This setup link is not valid"));
        let page = client
            .get(format!("{}/setup?token={token}", server.url))
            .send()
            .await
            .unwrap();
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("name=\"password_confirm\""));

        assert_eq!(
            setup("wrong", PASSWORD, PASSWORD).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        let short = setup(&token, "short", "short").await.unwrap();
        assert_eq!(short.status(), StatusCode::BAD_REQUEST);
        assert!(short.text().await.unwrap().contains("at least 12"));
        assert_eq!(
            setup(&token, PASSWORD, "something else")
                .await
                .unwrap()
                .status(),
            StatusCode::BAD_REQUEST
        );

        let created = setup(&token, PASSWORD, PASSWORD).await.unwrap();
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&created), "/admin/credits");
        let cookie = cookie_of(&created);
        let page = client
            .get(format!("{}/admin/credits", server.url))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        // Used once, the link is closed.
        assert_eq!(
            setup(&token, PASSWORD, PASSWORD).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(store::auth::accounts::admin_count(&db).await.unwrap(), 1);
    })
    .await;
}

/// What a hostile request may get: a page, a redirect, or a 4xx; never a 5xx.
fn assert_no_server_error(status: StatusCode, what: &str) {
    assert!(
        status.is_success() || status.is_redirection() || status.is_client_error(),
        "{what}: {status}"
    );
}

/// Every text of the hostile corpus (`crates/server/src/tests/hostile/events.jsonl`), and huge ones.
fn hostile_values() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = crate::tests::hostile::corpus()
        .into_iter()
        .map(|case| case.bytes)
        .collect();
    values.extend([
        Vec::new(),
        b"ann\0@example.com".to_vec(),
        b"\0\x01\x1b[31m\x7f".to_vec(),
        b"javascript:alert(1)".to_vec(),
        b"/\\evil.example".to_vec(),
        b"/admin/credits\r\nSet-Cookie: x=1".to_vec(),
        "/admin/cr\u{e9}dits\u{202e}".as_bytes().to_vec(),
        vec![b'x'; 1 << 20],
    ]);
    values
}

fn encoded(value: &[u8]) -> String {
    form_urlencoded::byte_serialize(value).collect()
}

/// For a query: an address is at most 64 KiB (the `http` crate's limit), so longer values
/// are cut; whole ones go in bodies, and `raw_requests_with_hostile_bytes_get_a_4xx` sends
/// a longer address.
fn encoded_for_query(value: &[u8]) -> String {
    encoded(&value[..value.len().min(10_000)])
}

#[tokio::test]
async fn hostile_sign_in_and_setup_forms_get_a_4xx_or_the_form_again() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db.clone(), Settings::defaults()).await;
        server.state.setup.open();
        for (n, value) in hostile_values().iter().enumerate() {
            // An address of its own for each value, so that the forms answer rather than the
            // throttle (which would refuse all after 20 failures from one address).
            let client = client_from(&format!("127.0.{}.{}", n / 250 + 1, n % 250 + 2));
            let query = encoded_for_query(value);
            let value = encoded(value);
            let bodies = [
                format!("email={value}&password=wrong+password+here"),
                format!("email=ann%40example.com&password={value}"),
                format!("email={value}&password={value}&password_confirm={value}"),
                value.clone(),
            ];
            for body in bodies {
                for path in [
                    format!("/login?next={query}"),
                    format!("/setup?token={query}"),
                ] {
                    let response = client
                        .post(format!("{}{path}", server.url))
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    assert_no_server_error(status, &format!("POST {:.80} {:.80}", path, body));
                    assert_ne!(
                        status,
                        StatusCode::SEE_OTHER,
                        "{path:.80} {body:.80}: let in"
                    );
                }
            }
        }
        // The raw bytes of each value as the whole body, and bodies no form can be.
        let client = client_from("127.0.3.1");
        for value in hostile_values() {
            for path in ["/login", "/setup"] {
                let status = client
                    .post(format!("{}{path}", server.url))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(value.clone())
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_no_server_error(status, path);
            }
        }
        for (content_type, body, expected) in [
            (
                "application/x-www-form-urlencoded",
                vec![b'x'; 3 << 20],
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                "application/json",
                br#"{"email":"ann@example.com"}"#.to_vec(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                "multipart/form-data",
                b"--x--".to_vec(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                "application/x-www-form-urlencoded",
                b"email=ann%40example.com".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ] {
            for path in ["/login", "/setup"] {
                let response = client
                    .post(format!("{}{path}", server.url))
                    .header(header::CONTENT_TYPE, content_type)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), expected, "{path} {content_type}");
            }
        }
        // Nothing got in, and the setup link still works once.
        assert_eq!(store::auth::accounts::admin_count(&db).await.unwrap(), 1);
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(sessions, 0);
    })
    .await;
}

#[tokio::test]
async fn hostile_query_parameters_never_get_a_server_error() {
    on_each_backend(|db| async move {
        let read = token::create(&db, "hostile-read", Scope::Read)
            .await
            .unwrap();
        let ingest = token::create(&db, "hostile-ingest", Scope::Ingest)
            .await
            .unwrap();
        let server = server_with_admin(db, Settings::defaults()).await;
        server.state.setup.open();
        let client = client();
        let cookie = sign_in(&client, &server).await;
        let server_fns: Vec<String> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_owned())
            .collect();
        for value in hostile_values() {
            let value = encoded_for_query(&value);
            let mut requests = vec![
                (Method::GET, format!("/login?next={value}"), None),
                (Method::GET, format!("/login?next={value}"), Some(&cookie)),
                (Method::GET, format!("/setup?token={value}"), None),
                (Method::GET, format!("/?next={value}"), None),
                (Method::GET, format!("/admin/credits?{value}={value}"), None),
                (
                    Method::GET,
                    format!("/admin/credits?{value}={value}"),
                    Some(&cookie),
                ),
                (
                    Method::GET,
                    format!("{STATS_PATH}?{value}={value}"),
                    Some(&cookie),
                ),
                (Method::GET, format!("/pkg/{value}"), None),
                (Method::GET, format!("/admin/{value}"), Some(&cookie)),
            ];
            for path in &server_fns {
                requests.push((
                    Method::POST,
                    format!("{path}?{value}={value}"),
                    Some(&cookie),
                ));
                requests.push((
                    Method::GET,
                    format!("{path}?{value}={value}"),
                    Some(&cookie),
                ));
            }
            for (method, path, session) in requests {
                let mut request = client.request(method.clone(), format!("{}{path}", server.url));
                if let Some(cookie) = session {
                    request = request.header(header::COOKIE, cookie);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                assert_no_server_error(status, &format!("{method} {path:.100}"));
                if let Some(location) = response.headers().get(header::LOCATION) {
                    let location = String::from_utf8_lossy(location.as_bytes());
                    assert!(
                        location.starts_with('/') && !location.starts_with("//"),
                        "{path:.100} leads off the site: {location}"
                    );
                }
            }
            // Server functions with the value as their body, and tokens made of it.
            for path in &server_fns {
                let status = client
                    .post(format!("{}{path}", server.url))
                    .header(header::COOKIE, &cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(value.clone())
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_no_server_error(status, path);
            }
            for (path, token) in [(STATS_PATH, &read), (INGEST_PATH, &ingest)] {
                let status = client
                    .get(format!("{}{path}", server.url))
                    .header(
                        header::AUTHORIZATION,
                        format!("Bearer {token}{value:.1000}"),
                    )
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_no_server_error(status, path);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn raw_requests_with_hostile_bytes_get_a_4xx() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let long_address = format!(
        "GET /login?next={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "x".repeat(1 << 20)
    );
    let requests: [&[u8]; 7] = [
        long_address.as_bytes(),
        b"GET /login?next=<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /login?next=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /login?next=a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\n\xff\xfe\x00\x01\x02",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET /admin/credits HTTP/1.1\r\nHost: x\r\nCookie: usage_monitor_session=\xff\xfe\r\n\r\n",
    ];
    for request in requests {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = vec![0; 12];
        stream.read_exact(&mut answer).await.unwrap();
        let status = String::from_utf8_lossy(&answer[9..12]).into_owned();
        let what = String::from_utf8_lossy(request);
        assert!(
            matches!(status.as_bytes()[0], b'2' | b'3' | b'4'),
            "{what:?}: {status}"
        );
    }
}

mod door;
