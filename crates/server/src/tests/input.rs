//! What a client may send and what it gets for too much or for text the database cannot
//! keep, over real HTTP against a real server: every body has a bound, and a NUL character
//! in a filter or an id is the client's mistake (400 naming the field, or the page saying
//! so), never a "database unavailable".

use crate::auth::tests::{client, server_with_admin, sign_in};
use crate::export::EXPORT_PREFIX;
use crate::limits::{BODY_DEADLINE, SERVER_FN_MAX_BODY_BYTES};
use app::config::Settings;
use model::paths::{LOG_PATH, USERS_PATH};
use reqwest::{header, StatusCode};
use std::time::Duration;
use store::db::testing::{fresh_sqlite, on_each_backend};

/// The path of the server function whose name contains `name`.
fn server_fn(name: &str) -> String {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .find(|path| path.contains(name))
        .unwrap()
}

#[tokio::test]
async fn a_nul_in_a_filter_or_an_id_is_a_bad_request_naming_the_field() {
    on_each_backend(|db| async move {
        let server = server_with_admin(db, Settings::defaults()).await;
        let client = client();
        let cookie = sign_in(&client, &server).await;
        let get = |path: String| {
            client
                .get(format!("{}{path}", server.url))
                .header(header::COOKIE, &cookie)
                .send()
        };
        let post = |path: String, form: String| {
            client
                .post(format!("{}{path}", server.url))
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form)
                .send()
        };
        let (mut requests, mut pages) = (Vec::new(), Vec::new());
        for (field, value) in [
            ("provider", "Nano%00Banana"),
            ("user", "u%001"),
            ("group", "time%00out"),
            ("before", "1763200000000000.g%001"),
        ] {
            let query = format!("{field}={value}");
            requests.push((
                field,
                get(format!("{EXPORT_PREFIX}generations.csv?{query}")),
            ));
            pages.push((field, get(format!("{LOG_PATH}?{query}"))));
            requests.push((
                field,
                post(
                    server_fn("get_generations"),
                    format!("query[{field}]={value}"),
                ),
            ));
        }
        requests.push((
            "provider",
            get(format!("{EXPORT_PREFIX}trend.csv?provider=Nano%00Banana")),
        ));
        pages.push(("id", get(format!("{USERS_PATH}/u%001"))));
        requests.push(("id", post(server_fn("get_user"), "id=u%001".to_owned())));
        for (field, request) in requests {
            let response = request.await.unwrap();
            let what = response.url().to_string();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
            let text = response.text().await.unwrap();
            assert!(text.contains(&format!("{field}: ")), "{what}: {text:.300}");
            assert!(text.contains("NUL"), "{what}: {text:.300}");
        }
        // A page explains a bad filter in place, as it does any other.
        for (field, request) in pages {
            let response = request.await.unwrap();
            let what = response.url().to_string();
            assert!(
                response.status().as_u16() < 500,
                "{what}: {}",
                response.status()
            );
            let text = response.text().await.unwrap();
            assert!(
                text.contains(&format!("{field}: must not contain the NUL")),
                "{what}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_server_function_refuses_a_body_over_its_limit() {
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let client = client();
    let cookie = sign_in(&client, &server).await;
    let path = server_fn("get_generations");
    let post = |body: Vec<u8>, chunked: bool| {
        let request = client
            .post(format!("{}{path}", server.url))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let request = if chunked {
            // No Content-Length: the limit holds as the body arrives.
            let chunks = body
                .chunks(1 << 14)
                .map(|chunk| {
                    let chunk = axum::body::Bytes::copy_from_slice(chunk);
                    Ok::<_, std::io::Error>(http_body::Frame::data(chunk))
                })
                .collect::<Vec<_>>();
            let stream = futures_util::stream::iter(chunks);
            request.body(reqwest::Body::wrap(http_body_util::StreamBody::new(stream)))
        } else {
            request.body(body)
        };
        request.send()
    };
    let filler = |size: usize| {
        let mut body = b"query[user]=".to_vec();
        body.resize(size, b'x');
        body
    };
    for chunked in [false, true] {
        let within = post(filler(SERVER_FN_MAX_BODY_BYTES), chunked)
            .await
            .unwrap();
        assert_eq!(within.status(), StatusCode::OK, "chunked {chunked}");
        let over = post(filler(SERVER_FN_MAX_BODY_BYTES + 1), chunked)
            .await
            .unwrap();
        assert_eq!(
            over.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "chunked {chunked}"
        );
        let huge = post(filler(64 << 20), chunked).await.unwrap();
        assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_at_its_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (db, _folder) = fresh_sqlite().await;
    let server = server_with_admin(db, Settings::defaults()).await;
    let cookie = sign_in(&client(), &server).await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nquery",
        server_fn("get_generations")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        BODY_DEADLINE + Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "still waiting after the body's deadline");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.200}");
}
