//! The watcher: a task of `serve` that reads the health every `alert-check-seconds` (the
//! dashboard's own figures, shared with the pages), claims each change in the database and
//! sends its message without holding up the next check.

use super::delivery::{stopping, Sender, Stop};
use super::message::Message;
use super::store;
use super::AlertKind;
use crate::config::AlertSettings;
use crate::db::Db;
use crate::server::AppState;
use crate::stats::SystemHealth;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::task::JoinSet;

pub struct Watcher {
    db: Db,
    alerts: Arc<AlertSettings>,
    sender: Sender,
    /// Messages being sent; each finishes its log rows, also when the server stops.
    sending: JoinSet<()>,
}

impl Watcher {
    pub fn new(db: Db, alerts: Arc<AlertSettings>, sender: Sender) -> Watcher {
        Watcher {
            db,
            alerts,
            sender,
            sending: JoinSet::new(),
        }
    }

    /// Compares `health`, from figures computed `as_of`, with the health recorded; a
    /// change this server claims that deserves an alert starts being sent to every webhook.
    pub async fn check(
        &mut self,
        health: &SystemHealth,
        as_of: store::AsOf,
        stop: &Stop,
    ) -> Result<(), sqlx::Error> {
        // Deliveries that ended since the last check.
        while self.sending.try_join_next().is_some() {}
        let webhooks = self.alerts.redacted_webhooks();
        let Some(claim) = store::claim_change(&self.db, health.status, as_of, &webhooks).await?
        else {
            return Ok(());
        };
        tracing::info!(
            previous = claim.previous.map(|s| s.as_str()),
            status = health.status.as_str(),
            webhooks = claim.deliveries.len(),
            "alerts: health changed"
        );
        if claim.deliveries.is_empty() {
            return Ok(());
        }
        let body = Message {
            kind: AlertKind::Change,
            previous: claim.previous,
            health,
            at: as_of.started,
            dashboard: self.alerts.dashboard.as_deref(),
        }
        .body();
        let (db, alerts, sender, stop) = (
            self.db.clone(),
            self.alerts.clone(),
            self.sender.clone(),
            stop.clone(),
        );
        self.sending.spawn(async move {
            deliver(&db, &alerts, &sender, &claim.deliveries, &body, Some(stop)).await;
        });
        Ok(())
    }

    /// Waits for the messages being sent (cut short when the server stops).
    pub async fn finish_sending(&mut self) {
        while self.sending.join_next().await.is_some() {}
    }
}

/// Checks the health every `alert-check-seconds` until the server stops, then waits for
/// the messages under way to be logged.
pub async fn watch(state: AppState, sender: Sender, mut stop: Stop) {
    let alerts = Arc::new(state.settings.alerts.clone());
    let mut ticks = tokio::time::interval(alerts.check_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watcher = Watcher::new(state.db.clone(), alerts, sender);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stopping(Some(&mut stop)) => break,
        }
        // On failure the next check tries again; nothing was claimed. The shared figures
        // may be older than this check: the claim compares when they were computed.
        match state.figures_finished().await {
            Ok((figures, finished)) => {
                let as_of = store::AsOf {
                    started: figures.generated_at.with_timezone(&Utc),
                    finished,
                };
                let checked = watcher.check(&figures.system_health, as_of, &stop);
                if let Err(error) = checked.await {
                    tracing::warn!(%error, "alerts: the change could not be recorded");
                }
            }
            Err(error) => tracing::warn!(%error, "alerts: no health to check"),
        }
    }
    watcher.finish_sending().await;
}

/// Sends a test message to every webhook, waits for the outcomes, and logs them; the
/// deliveries' ids.
pub async fn announce_test(
    db: &Db,
    alerts: &AlertSettings,
    sender: &Sender,
    health: &SystemHealth,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let ids = store::log_test(db, health.status, now, &alerts.redacted_webhooks()).await?;
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
async fn deliver(
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
            if let Err(error) = store::finish(db, id, &finished, Utc::now()).await {
                tracing::error!(%error, delivery = id, "alerts: the outcome could not be logged");
            }
            if finished.outcome != super::Outcome::Delivered {
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
