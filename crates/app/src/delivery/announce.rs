//! Sending an alert's message to every webhook and logging how each delivery ended: for
//! the watcher's health changes and for the Alerts page's test message.

use super::sender::{Sender, Stop};
use super::AlertSettings;
use chrono::{DateTime, Utc};
use model::alerts::{AlertKind, Outcome};
use model::dashboard::SystemHealth;
use store::alerts::message::Message;
use store::db::Db;

/// Sends a test message to every webhook, waits for the outcomes, and logs them; the
/// deliveries' ids.
pub async fn announce_test(
    db: &Db,
    alerts: &AlertSettings,
    sender: &Sender,
    health: &SystemHealth,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let ids = store::alerts::log_test(db, health.status, now, &alerts.redacted_webhooks()).await?;
    let body = Message {
        kind: AlertKind::Test,
        previous: None,
        health,
        at: now,
        dashboard: alerts.dashboard.as_deref(),
    }
    .body();
    deliver(db, alerts, sender, &ids, &body, None).await;
    Ok(ids)
}

/// Sends `body` to every webhook at once (delivery `ids[i]` to webhook `i`) and logs how
/// each ended.
pub async fn deliver(
    db: &Db,
    alerts: &AlertSettings,
    sender: &Sender,
    ids: &[String],
    body: &serde_json::Value,
    stop: Option<Stop>,
) {
    let each = alerts.webhooks.iter().zip(ids).map(|(webhook, id)| {
        let mut stop = stop.clone();
        async move {
            let finished = sender.send(webhook, body, stop.as_mut()).await;
            if let Err(error) = store::alerts::finish(db, id, &finished, Utc::now()).await {
                tracing::error!(%error, delivery = id, "alerts: the outcome could not be logged");
            }
            if finished.outcome != Outcome::Delivered {
                tracing::warn!(
                    webhook = webhook.redacted(),
                    attempts = finished.attempts,
                    error = finished.error.as_deref(),
                    "alerts: a message was not delivered"
                );
            }
        }
    });
    futures_util::future::join_all(each).await;
}
