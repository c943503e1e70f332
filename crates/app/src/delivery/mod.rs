//! Alerts' messages sent over HTTP: the webhooks from the settings, the client that posts
//! to them with retries, and the sending of a message to every webhook with its outcome
//! logged in the store (which decides what is due and keeps the delivery log).

pub mod announce;
pub mod sender;
pub mod webhook;

use std::time::Duration;
use webhook::Webhook;

/// Where health changes are announced, and how often health is checked.
#[derive(Clone, Debug)]
pub struct AlertSettings {
    /// Secrets: shown and logged only as [`Webhook::redacted`].
    pub webhooks: Vec<Webhook>,
    pub check_every: Duration,
    /// The dashboard's address for the messages' link, when `public-url` is set.
    pub dashboard: Option<String>,
}

impl AlertSettings {
    pub fn redacted_webhooks(&self) -> Vec<String> {
        self.webhooks.iter().map(Webhook::redacted).collect()
    }
}
