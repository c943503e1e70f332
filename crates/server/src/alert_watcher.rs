//! The watcher: a task of `serve` that reads the health and the budgets every
//! `alert-check-seconds` (the dashboard's own figures, shared with the pages), claims each
//! change and each budget crossing in the database and sends its message without holding
//! up the next check.

use app::delivery::announce::deliver;
use app::delivery::sender::{stopping, Sender, Stop};
use app::delivery::AlertSettings;
use app::state::AppState;
use chrono::Utc;
use model::alerts::AlertKind;
use model::dashboard::{DashboardStats, SystemHealth};
use std::sync::Arc;
use store::alerts as alert_store;
use store::alerts::message::Message;
use store::budgets::crossings;
use store::db::Db;
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
        as_of: alert_store::AsOf,
        stop: &Stop,
    ) -> Result<(), sqlx::Error> {
        // Deliveries that ended since the last check.
        while self.sending.try_join_next().is_some() {}
        let webhooks = self.alerts.redacted_webhooks();
        let Some(claim) =
            alert_store::claim_change(&self.db, health.status, as_of, &webhooks).await?
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
        self.send(claim.deliveries, body, stop);
        Ok(())
    }

    /// Starts sending `body` to the claimed `deliveries` without holding up the next check.
    fn send(&mut self, deliveries: Vec<String>, body: serde_json::Value, stop: &Stop) {
        let (db, alerts, sender, stop) = (
            self.db.clone(),
            self.alerts.clone(),
            self.sender.clone(),
            stop.clone(),
        );
        self.sending.spawn(async move {
            deliver(&db, &alerts, &sender, &deliveries, &body, Some(stop)).await;
        });
    }

    /// Claims the budget crossings in `stats` (the default figures, computed at their
    /// `generated_at`) that no server has claimed, and starts sending their messages.
    pub async fn check_budgets(
        &mut self,
        stats: &DashboardStats,
        stop: &Stop,
    ) -> Result<(), sqlx::Error> {
        let webhooks = self.alerts.redacted_webhooks();
        let now = Utc::now();
        let mut claimed = crossings::claim_budgets(&self.db, stats, now, &webhooks).await?;
        if let (Some(limit), true) = (
            stats.budgets.per_user_limit,
            stats.budgets.users_over_limit > 0,
        ) {
            let at = stats.generated_at.with_timezone(&Utc);
            let (day, _) = crossings::periods(stats.generated_at);
            let users = crossings::claim_users(&self.db, limit, at, &day, now, &webhooks);
            claimed.extend(users.await?);
        }
        for claim in claimed {
            tracing::info!(crossed = %claim.crossed, "alerts: budget crossed");
            let body = crossings::message(
                &claim,
                &stats.time_zone,
                now,
                self.alerts.dashboard.as_deref(),
            );
            self.send(claim.deliveries, body, stop);
        }
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
                let as_of = alert_store::AsOf {
                    started: figures.generated_at.with_timezone(&Utc),
                    finished,
                };
                let checked = watcher.check(&figures.system_health, as_of, &stop);
                if let Err(error) = checked.await {
                    tracing::warn!(%error, "alerts: the change could not be recorded");
                }
                if let Err(error) = watcher.check_budgets(&figures, &stop).await {
                    tracing::warn!(%error, "alerts: the budgets could not be checked");
                }
            }
            Err(error) => tracing::warn!(%error, "alerts: no health to check"),
        }
    }
    watcher.finish_sending().await;
}
