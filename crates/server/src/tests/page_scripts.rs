//! Every inline script of every page carries the nonce that the page's own
//! Content-Security-Policy names, on both backends: a script without it would be refused by
//! the browser and leave the page without its data or without hydration.

use crate::auth::tests::{client, server_with_admin, sign_in, EMAIL};
use app::config::Settings;
use chrono::{Duration, Utc};
use futures::future::join_all;
use reqwest::{header, Client, StatusCode};
use store::db::testing::on_each_backend;

/// Every kind of page, with filters and ranges, and pages that are not found.
fn pages() -> Vec<String> {
    let today = Utc::now().date_naive();
    let from = today - Duration::days(5);
    let mut pages: Vec<String> = [
        "/admin/credits",
        "/admin/credits?range=7d",
        "/admin/credits?range=last-month",
        "/admin/credits?range=24h&provider=Seedream",
        "/admin/credits?range=nonsense",
        "/admin/generations",
        "/admin/generations?status=failed",
        "/admin/generations?problem=unrefunded&range=30d",
        "/admin/generations?before=nonsense",
        "/admin/users/nobody",
        "/admin/alerts",
        "/admin/no-such-page",
    ]
    .map(str::to_owned)
    .to_vec();
    pages.push(format!("/admin/credits?from={from}&to={today}"));
    pages
}

/// The nonce of a `Content-Security-Policy` value.
fn policy_nonce(policy: &str) -> Option<&str> {
    policy.split("'nonce-").nth(1)?.split('\'').next()
}

/// The opening tags of the page's `<script>` elements.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script")
        .map(|(at, _)| &html[at..at + html[at..].find('>').map_or(html.len() - at, |end| end + 1)])
        .collect()
}

/// Fetches `path` and checks that each of its scripts carries the nonce its policy names;
/// returns the nonce.
async fn page_nonce(client: &Client, url: &str, path: &str, cookie: Option<&str>) -> String {
    let mut request = client.get(format!("{url}{path}"));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert!(
        [StatusCode::OK, StatusCode::NOT_FOUND].contains(&status),
        "{path}: {status}"
    );
    scripts_nonce(response, path).await
}

/// Checks that each script of the page answered carries the nonce its policy names.
async fn scripts_nonce(response: reqwest::Response, path: &str) -> String {
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = policy_nonce(&policy)
        .unwrap_or_else(|| panic!("{path}: the policy names no nonce: {policy}"))
        .to_owned();
    let html = response.text().await.unwrap();
    let scripts = script_tags(&html);
    assert!(!scripts.is_empty(), "{path}: no scripts at all");
    for tag in scripts {
        assert!(
            tag.contains(&format!(" nonce=\"{nonce}\"")),
            "{path}: a script without the page's nonce: {tag}"
        );
    }
    nonce
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inline_script_of_every_page_carries_the_pages_nonce() {
    on_each_backend(|db| async move {
        store::demo::fill(&db, Utc::now(), chrono_tz::UTC)
            .await
            .unwrap();
        let server = server_with_admin(db, Settings::defaults()).await;
        let client = client();
        let cookie = sign_in(&client, &server).await;
        let user = sqlx::query_scalar::<_, String>("SELECT user_id FROM generations LIMIT 1")
            .fetch_one(&server.state.db.pool)
            .await
            .unwrap();
        let mut pages = pages();
        pages.push(format!("/admin/users/{user}"));
        pages.push(format!("/admin/generations?user={user}"));
        let signed_out = [
            "/login",
            "/login?next=%2Fadmin%2Fgenerations",
            "/setup?token=wrong",
        ];
        let requests: Vec<(&str, Option<&str>)> = pages
            .iter()
            .map(|path| (path.as_str(), Some(cookie.as_str())))
            .chain(signed_out.map(|path| (path, None)))
            .collect();
        // All at once, and again, beside requests for files, as a browser sends them: a
        // response must not take another's headers, whatever runs beside it.
        let mut nonces = Vec::new();
        for _ in 0..3 {
            let pages = requests
                .iter()
                .map(|(path, cookie)| page_nonce(&client, &server.url, path, *cookie));
            let files = (0..requests.len())
                .map(|_| client.get(format!("{}/favicon.svg", server.url)).send());
            let (found, _) = futures::join!(join_all(pages), join_all(files));
            nonces.extend(found);
        }
        // The forms' pages drawn again after a refused POST, with what went wrong.
        let wrong = [("email", EMAIL), ("password", "not the right password")];
        let login = client
            .post(format!("{}/login", server.url))
            .form(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
        nonces.push(scripts_nonce(login, "POST /login").await);
        let setup = [
            ("email", "b@example.com"),
            ("password", "x"),
            ("password_confirm", "y"),
        ];
        let url = format!("{}/setup?token=wrong", server.url);
        let setup = client.post(url).form(&setup).send().await.unwrap();
        assert_eq!(setup.status(), StatusCode::BAD_REQUEST);
        nonces.push(scripts_nonce(setup, "POST /setup").await);
        let count = nonces.len();
        nonces.sort();
        nonces.dedup();
        assert_eq!(nonces.len(), count, "every response has a nonce of its own");
    })
    .await;
}

#[test]
fn script_tags_are_read_whole() {
    let html = r#"<p>x</p><script nonce="a">1</script><script type="module" nonce="b">2"#;
    assert_eq!(
        script_tags(html),
        [
            "<script nonce=\"a\">",
            "<script type=\"module\" nonce=\"b\">"
        ]
    );
    assert_eq!(
        policy_nonce("script-src 'self' 'nonce-xyz'; x"),
        Some("xyz")
    );
    assert_eq!(policy_nonce("script-src 'self'"), None);
}
