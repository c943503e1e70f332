//! The alert state and the delivery log in the database (`migrations/0008_alerts.sql`).

pub mod message;

use crate::db::Db;
use crate::report::{from_micros, in_zone, ReportSettings};
use chrono::{DateTime, Utc};
use message::deserves_alert;
use model::alerts::{AlertKind, AlertsPage, Delivery, Outcome, RecordedHealth};
use model::dashboard::HealthStatus;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::time::Duration;

/// How a delivery ended, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub outcome: Outcome,
    pub attempts: i64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// The `alert_state` row of the health.
const HEALTH: &str = "health";

/// When figures were computed: their reads began after `started` (their `now`) and had
/// ended by `finished`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsOf {
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
}

/// A change this server claimed: it alone announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// `None` at the very first check.
    pub previous: Option<HealthStatus>,
    /// The deliveries logged as sending, one per webhook in order; none when the change
    /// deserves no alert (healthy to idle, say).
    pub deliveries: Vec<String>,
}

/// The health last recorded.
pub async fn recorded(db: &Db) -> Result<Option<HealthStatus>, sqlx::Error> {
    let row = sqlx::query("SELECT status FROM alert_state WHERE name = $1")
        .bind(HEALTH)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|row| health(&row.try_get::<String, _>("status")?))
        .transpose()
}

/// Records `current`, the health in figures computed `as_of`, if it is not what is
/// recorded, and if the change deserves an alert logs a delivery to each of `webhooks`
/// (their redacted forms), in one transaction. The change is claimed by a conditional write
/// (from the status read to `current`), so that of several servers on one database one
/// claims it; and only from figures whose reads began after those of the recorded change
/// had ended (`changed_at`): a server may hold shared figures computed before another
/// server recorded the change they would undo. `None` when nothing changed, another server
/// was first, or the figures are too old to say.
pub async fn claim_change(
    db: &Db,
    current: HealthStatus,
    as_of: AsOf,
    webhooks: &[String],
) -> Result<Option<Claim>, sqlx::Error> {
    let previous = recorded(db).await?;
    if previous == Some(current) {
        return Ok(None);
    }
    let mut tx = db.writer().begin().await?;
    let finished = as_of.finished.timestamp_micros();
    let claim = match previous {
        None => sqlx::query(
            "INSERT INTO alert_state (name, status, changed_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(HEALTH)
        .bind(current.as_str())
        .bind(finished),
        Some(previous) => sqlx::query(
            "UPDATE alert_state SET status = $2, changed_at = $3
             WHERE name = $1 AND status = $4 AND changed_at < $5",
        )
        .bind(HEALTH)
        .bind(current.as_str())
        .bind(finished)
        .bind(previous.as_str())
        .bind(as_of.started.timestamp_micros()),
    };
    if claim.execute(&mut *tx).await?.rows_affected() == 0 {
        return Ok(None);
    }
    let deliveries = if deserves_alert(previous, current) {
        log_sending(
            &mut tx,
            AlertKind::Change,
            previous,
            current,
            as_of.started,
            webhooks,
        )
        .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(Some(Claim {
        previous,
        deliveries,
    }))
}

/// Logs a test message to each of `webhooks` as sending; their ids in order.
pub async fn log_test(
    db: &Db,
    current: HealthStatus,
    now: DateTime<Utc>,
    webhooks: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    let ids = log_sending(&mut tx, AlertKind::Test, None, current, now, webhooks).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Logs a budget alert saying what was `crossed` to each of `webhooks` as sending; their
/// ids in order.
pub(crate) async fn log_budget_sending(
    conn: &mut AnyConnection,
    crossed: &str,
    now: DateTime<Utc>,
    webhooks: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let what = Logged {
        kind: AlertKind::Budget,
        previous: None,
        status: None,
        crossed: Some(crossed),
    };
    what.log_sending(conn, now, webhooks).await
}

fn delivery_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

async fn log_sending(
    conn: &mut AnyConnection,
    kind: AlertKind,
    previous: Option<HealthStatus>,
    status: HealthStatus,
    now: DateTime<Utc>,
    webhooks: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let what = Logged {
        kind,
        previous: previous.map(HealthStatus::as_str),
        status: Some(status.as_str()),
        crossed: None,
    };
    what.log_sending(conn, now, webhooks).await
}

/// What a delivery log row says: a health change or test (`previous`, `status`), or a
/// budget crossed.
struct Logged<'a> {
    kind: AlertKind,
    previous: Option<&'a str>,
    status: Option<&'a str>,
    crossed: Option<&'a str>,
}

impl Logged<'_> {
    /// Logs it to each of `webhooks` as sending; their ids in order.
    async fn log_sending(
        &self,
        conn: &mut AnyConnection,
        now: DateTime<Utc>,
        webhooks: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut ids = Vec::with_capacity(webhooks.len());
        for webhook in webhooks {
            let id = delivery_id();
            sqlx::query(
                "INSERT INTO alert_deliveries
                     (id, created_at, kind, previous, status, webhook, attempts, outcome, crossed)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
            )
            .bind(&id)
            .bind(now.timestamp_micros())
            .bind(self.kind.as_str())
            .bind(self.previous)
            .bind(self.status)
            .bind(webhook)
            .bind(Outcome::Sending.as_str())
            .bind(self.crossed)
            .execute(&mut *conn)
            .await?;
            ids.push(id);
        }
        Ok(ids)
    }
}

/// Writes how delivery `id` ended.
pub async fn finish(
    db: &Db,
    id: &str,
    finished: &Finished,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE alert_deliveries
         SET attempted_at = $2, attempts = $3, outcome = $4, http_status = $5, error = $6
         WHERE id = $1",
    )
    .bind(id)
    .bind(at.timestamp_micros())
    .bind(finished.attempts)
    .bind(finished.outcome.as_str())
    .bind(finished.http_status.map(i64::from))
    .bind(finished.error.as_deref())
    .execute(db.writer())
    .await?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "id, created_at, attempted_at, kind, previous, status, webhook,
     attempts, outcome, http_status, error, crossed";

/// The deliveries `ids`, in that order.
pub async fn deliveries(
    db: &Db,
    report: &ReportSettings,
    ids: &[String],
) -> Result<Vec<Delivery>, sqlx::Error> {
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
        found.push(delivery(&row, report)?);
    }
    Ok(found)
}

/// What `/admin/alerts` shows: the `webhooks` (their redacted forms) checked
/// `check_every`, the health recorded and the newest `limit` deliveries.
pub async fn page(
    db: &Db,
    report: &ReportSettings,
    webhooks: Vec<String>,
    check_every: Duration,
    limit: usize,
) -> Result<AlertsPage, sqlx::Error> {
    let state = sqlx::query("SELECT status, changed_at FROM alert_state WHERE name = $1")
        .bind(HEALTH)
        .fetch_optional(&db.pool)
        .await?;
    let recorded = match state {
        Some(row) => Some(RecordedHealth {
            status: health(&row.try_get::<String, _>("status")?)?,
            since: in_zone(from_micros(row.try_get("changed_at")?), report.time_zone),
        }),
        None => None,
    };
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries
         ORDER BY created_at DESC, webhook, id LIMIT $1"
    ))
    .bind(limit as i64)
    .fetch_all(&db.pool)
    .await?;
    Ok(AlertsPage {
        webhooks,
        check_seconds: check_every.as_secs(),
        recorded,
        deliveries: rows
            .iter()
            .map(|row| delivery(row, report))
            .collect::<Result<_, _>>()?,
        time_zone: report.time_zone.name().to_owned(),
    })
}

fn delivery(row: &AnyRow, report: &ReportSettings) -> Result<Delivery, sqlx::Error> {
    let at = |micros: i64| in_zone(from_micros(micros), report.time_zone);
    Ok(Delivery {
        id: row.try_get("id")?,
        created_at: at(row.try_get("created_at")?),
        attempted_at: row.try_get::<Option<i64>, _>("attempted_at")?.map(at),
        kind: named(
            &row.try_get::<String, _>("kind")?,
            &AlertKind::ALL,
            AlertKind::as_str,
        )?,
        previous: row
            .try_get::<Option<String>, _>("previous")?
            .map(|name| health(&name))
            .transpose()?,
        status: row
            .try_get::<Option<String>, _>("status")?
            .map(|name| health(&name))
            .transpose()?,
        crossed: row.try_get("crossed")?,
        webhook: row.try_get("webhook")?,
        attempts: row.try_get("attempts")?,
        outcome: named(
            &row.try_get::<String, _>("outcome")?,
            &Outcome::ALL,
            Outcome::as_str,
        )?,
        http_status: row.try_get("http_status")?,
        error: row.try_get("error")?,
    })
}

fn health(name: &str) -> Result<HealthStatus, sqlx::Error> {
    named(name, &HealthStatus::ALL, HealthStatus::as_str)
}

/// The one of `all` called `name`; a name the code does not know is a decoding error.
fn named<T: Copy>(name: &str, all: &[T], name_of: fn(T) -> &'static str) -> Result<T, sqlx::Error> {
    all.iter()
        .copied()
        .find(|value| name_of(*value) == name)
        .ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown value {name:?} in the alert tables").into())
        })
}
