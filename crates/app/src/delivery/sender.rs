//! Sending one message to one webhook: a POST of JSON, tried again after a pause when the
//! receiver may accept it later (5xx, 429, no answer), not when it refused it (other 4xx).

use super::webhook::Webhook;
use model::alerts::Outcome;
use std::time::Duration;
use store::alerts::Finished;
use tokio::sync::watch;

/// A request's longest wait: for the connection, and for the whole answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The pauses between attempts; one attempt more than pauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    pub pauses: &'static [Duration],
}

impl RetrySchedule {
    /// Three attempts: now, after 1 s, after 5 s more.
    pub const STANDARD: RetrySchedule = RetrySchedule {
        pauses: &[Duration::from_secs(1), Duration::from_secs(5)],
    };

    pub fn attempts(self) -> usize {
        self.pauses.len() + 1
    }
}

/// What one attempt's answer means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// The receiver may take it later.
    TryAgain,
    /// The receiver refused it (a wrong or revoked URL): asking again changes nothing.
    Refused,
}

/// 2xx delivered; 429 and 5xx try again; anything else refused (redirects are not
/// followed: a webhook that moved must be configured anew).
pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        429 | 500..=599 => Verdict::TryAgain,
        _ => Verdict::Refused,
    }
}

/// The server's "stopping" signal: true once shutdown began.
pub type Stop = watch::Receiver<bool>;

/// Resolves once `stop` says the server is stopping; never without one, or once its sender
/// is gone without having said so.
pub async fn stopping(stop: Option<&mut Stop>) {
    let said_so = match stop {
        Some(stop) => stop.wait_for(|stopping| *stopping).await.is_ok(),
        None => false,
    };
    if !said_so {
        std::future::pending::<()>().await;
    }
}

/// An HTTP client and the retry schedule.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    schedule: RetrySchedule,
}

impl Sender {
    pub fn new(schedule: RetrySchedule) -> Result<Sender, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            // A redirect could lead the POST anywhere, inside the network included.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("usage-monitor/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender { client, schedule })
    }

    /// Posts `body` until it is delivered, refused, or the attempts are used up; gives up
    /// at once when the server stops.
    pub async fn send(
        &self,
        webhook: &Webhook,
        body: &serde_json::Value,
        mut stop: Option<&mut Stop>,
    ) -> Finished {
        let mut finished = Finished {
            outcome: Outcome::Failed,
            attempts: 0,
            http_status: None,
            error: None,
        };
        for attempt in 0..self.schedule.attempts() {
            if let Some(pause) = attempt.checked_sub(1).map(|i| self.schedule.pauses[i]) {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stopping(stop.as_deref_mut()) => return interrupted(finished),
                }
            }
            finished.attempts += 1;
            let request = self.client.post(webhook.url().clone()).json(body).send();
            let answer = tokio::select! {
                answer = request => answer,
                () = stopping(stop.as_deref_mut()) => return interrupted(finished),
            };
            let verdict = match answer {
                Ok(response) => {
                    let status = response.status();
                    finished.http_status = Some(status.as_u16());
                    finished.error = (!status.is_success())
                        .then(|| format!("HTTP {}", status.canonical_reason().unwrap_or("error")));
                    verdict(status.as_u16())
                }
                Err(error) => {
                    finished.http_status = None;
                    finished.error = Some(describe(error));
                    Verdict::TryAgain
                }
            };
            match verdict {
                Verdict::Delivered => {
                    finished.outcome = Outcome::Delivered;
                    return finished;
                }
                Verdict::Refused => return finished,
                Verdict::TryAgain => {}
            }
        }
        finished
    }
}

fn interrupted(finished: Finished) -> Finished {
    Finished {
        outcome: Outcome::Failed,
        error: Some("interrupted: the server stopped".into()),
        ..finished
    }
}

/// Why a request got no answer, without its URL (which is a secret).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // The innermost cause says what happened ("Connection refused", a TLS problem).
    let mut cause: &dyn std::error::Error = &error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    format!("{kind}: {cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_delivered_overload_and_server_errors_are_tried_again() {
        assert_eq!(verdict(200), Verdict::Delivered);
        assert_eq!(verdict(204), Verdict::Delivered);
        assert_eq!(verdict(429), Verdict::TryAgain);
        assert_eq!(verdict(500), Verdict::TryAgain);
        assert_eq!(verdict(503), Verdict::TryAgain);
        assert_eq!(verdict(301), Verdict::Refused);
        assert_eq!(verdict(400), Verdict::Refused);
        assert_eq!(verdict(403), Verdict::Refused);
        assert_eq!(verdict(404), Verdict::Refused);
        assert_eq!(verdict(410), Verdict::Refused);
    }

    #[test]
    fn three_attempts_a_second_then_five_apart() {
        let standard = RetrySchedule::STANDARD;
        assert_eq!(standard.attempts(), 3);
        assert_eq!(
            standard.pauses,
            [Duration::from_secs(1), Duration::from_secs(5)]
        );
    }
}
