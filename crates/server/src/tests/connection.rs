//! Connections that move nothing are closed at their idle deadline, over real TCP against
//! a real server: one that sends nothing, half a request, an idle keep-alive, and a
//! download its client stopped reading.

use crate::export::tests::stall::{loaded_server, stalled_download};
use crate::testing::TestServer;
use app::config::Settings;
use std::time::Duration;
use store::db::testing::{fresh_sqlite, on_each_backend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: Duration = Duration::from_secs(1);
/// Long past the deadline: a connection still open then was not closed for idling.
const CLOSED_WITHIN: Duration = Duration::from_secs(8);

fn settings() -> Settings {
    Settings {
        connection_idle: IDLE,
        ..Settings::defaults()
    }
}

/// Reads until the server closes the connection (or resets it); what came, or `None` if it
/// was still open after [`CLOSED_WITHIN`].
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let reading = async {
        let mut buffer = [0; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(CLOSED_WITHIN, reading).await.ok()?;
    Some(seen)
}

#[tokio::test]
async fn a_connection_that_moves_nothing_is_closed_at_its_deadline() {
    let (db, _folder) = fresh_sqlite().await;
    let server = TestServer::start(db, settings()).await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let connect = || TcpStream::connect(address.clone());

    let mut silent = connect().await.unwrap();
    assert_eq!(until_closed(&mut silent).await, Some(Vec::new()), "silent");

    let mut half = connect().await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(until_closed(&mut half).await.is_some(), "half a request");

    // A whole request is answered, and the connection kept alive is then closed.
    let mut kept = connect().await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut kept).await.expect("kept alive forever");
    let answered = String::from_utf8_lossy(&answered);
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(answered.ends_with("ok"), "{answered}");
}

#[tokio::test]
async fn a_download_its_client_stopped_reading_loses_its_connection() {
    on_each_backend(|db| async move {
        let (server, read, _) = loaded_server(db, settings()).await;
        let (status, mut stalled) = stalled_download(&server, &read).await;
        assert_eq!(status, 200);
        // The client takes nothing for longer than the deadline (what is tested is time).
        tokio::time::sleep(IDLE * 2).await;
        assert!(until_closed(&mut stalled).await.is_some(), "still open");
    })
    .await;
}
