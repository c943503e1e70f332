//! Alerts: when health turns degraded or critical (and back), a JSON message to each
//! configured webhook, once per change however many servers share the database, retried,
//! and logged; `/admin/alerts` shows the log and sends a test alert.
//!
//! What the page needs is shared; the watcher, the messages and the sending run on the
//! server only. Webhooks come from the configuration alone, never from the page.

use crate::dashboard::HealthStatus;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Deliveries the page lists, newest first.
pub const LOG_ROWS: usize = 50;

/// What `/admin/alerts` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertsPage {
    /// The configured webhooks, scheme and host only (the rest is a secret).
    pub webhooks: Vec<String>,
    pub check_seconds: u64,
    /// The health last recorded (changes that deserve no alert are recorded too), `None`
    /// before the first check.
    pub recorded: Option<RecordedHealth>,
    /// The newest [`LOG_ROWS`] deliveries.
    pub deliveries: Vec<Delivery>,
    pub time_zone: String,
}

/// The health the watcher last recorded, and since when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedHealth {
    pub status: HealthStatus,
    /// In the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub since: DateTime<FixedOffset>,
}

/// Why a message was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// Health changed.
    Change,
    /// An admin pressed "Send test alert".
    Test,
    /// A budget's warning level was reached, or users passed the per-user limit.
    Budget,
}

/// Where a message to one webhook stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Claimed and not finished: being sent, or cut off by a crash.
    Sending,
    Delivered,
    Failed,
}

impl AlertKind {
    pub const ALL: [AlertKind; 3] = [AlertKind::Change, AlertKind::Test, AlertKind::Budget];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Change => "change",
            AlertKind::Test => "test",
            AlertKind::Budget => "budget",
        }
    }
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Sending, Outcome::Delivered, Outcome::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sending => "sending",
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
        }
    }
}

/// One message to one webhook, as the log lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    /// When the change was claimed or the test asked for, in the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub created_at: DateTime<FixedOffset>,
    /// When the last attempt ended.
    #[serde(default, deserialize_with = "crate::dates::rfc3339::option")]
    pub attempted_at: Option<DateTime<FixedOffset>>,
    pub kind: AlertKind,
    /// The health before a change; `None` for the first check, tests and budgets.
    pub previous: Option<HealthStatus>,
    /// The health; `None` for a budget alert.
    pub status: Option<HealthStatus>,
    /// What a budget alert says was crossed: `Daily budget 80% (2026-03-08): $4.10 of $5.00`.
    #[serde(default)]
    pub crossed: Option<String>,
    /// Scheme and host only.
    pub webhook: String,
    pub attempts: i64,
    pub outcome: Outcome,
    /// The receiver's answer to the last attempt, if it answered.
    pub http_status: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
}

/// Why there is nothing to send.
pub const NO_WEBHOOKS: &str =
    "No webhooks are configured (alert-webhooks in Leptos.toml, or USAGE_MONITOR_ALERT_WEBHOOKS), so nothing would be sent.";
