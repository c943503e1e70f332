//! The log's and the user page's SQL, the same text on both backends.
//!
//! A page reads the index of `created_at` backwards from where the last page ended and
//! stops after one row more than it shows (to know whether there is a next page). Rows with
//! the same `created_at` are ordered by id within it; neither backend needs an index of
//! `(created_at, id)` for that: SQLite sorts each run of equal times as it goes and
//! PostgreSQL does the same with an incremental sort, so no index is added and importing
//! costs what it did.

use super::{Cursor, LogFilter, LogPage, LogRow, UserPage, USER_FAILURES};
use crate::db::Db;
use crate::stats::query::{from_micros, in_zone, ReportSettings};
use crate::stats::windows::{Window, Windows};
use crate::stats::{Money, Tier};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::any::AnyRow;
use sqlx::Row;

const ROW_COLUMNS: &str = "
    SELECT g.id, g.user_id, g.provider, g.model, g.status, g.credits, g.cost_micros,
           g.created_at, g.completed_at, g.error,
           (SELECT r.credits FROM refunds r WHERE r.generation_id = g.id)
    FROM generations g
    WHERE 1 = 1";

/// A value bound to a numbered parameter.
enum Value {
    Int(i64),
    Text(String),
}

/// The log's statement: the filters given, in order, with their values.
#[derive(Default)]
struct Statement {
    conditions: String,
    values: Vec<Value>,
}

impl Statement {
    /// The statement of the rows that pass `filter`, within `window` if there is one.
    fn of(filter: &LogFilter, window: Option<Window>) -> Statement {
        let mut statement = Statement::default();
        if let Some(window) = window {
            let start = statement.bind(Value::Int(window.start.timestamp_micros()));
            let end = statement.bind(Value::Int(window.end.timestamp_micros()));
            statement.and(format!("g.created_at >= {start} AND g.created_at < {end}"));
        }
        if let Some(Cursor { created_at, id }) = &filter.before {
            let at = statement.bind(Value::Int(*created_at));
            let id = statement.bind(Value::Text(id.clone()));
            // The range of the index first, then the ties at its end.
            statement.and(format!(
                "g.created_at <= {at} AND (g.created_at < {at} OR g.id < {id})"
            ));
        }
        for (column, value) in [
            ("g.provider", &filter.provider),
            ("g.status", &filter.status.map(str::to_owned)),
            ("g.user_id", &filter.user),
        ] {
            if let Some(value) = value {
                let value = statement.bind(Value::Text(value.clone()));
                statement.and(format!("{column} = {value}"));
            }
        }
        statement
    }

    /// The next parameter's `$n`, bound to `value`.
    fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    fn and(&mut self, condition: String) {
        self.conditions.push_str(" AND ");
        self.conditions.push_str(&condition);
    }

    /// The first `limit` rows, newest first.
    async fn fetch(
        self,
        conn: &mut sqlx::AnyConnection,
        limit: usize,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let sql = format!(
            "{ROW_COLUMNS}{} ORDER BY g.created_at DESC, g.id DESC LIMIT {limit}",
            self.conditions
        );
        let mut query = sqlx::query(&sql);
        for value in self.values {
            query = match value {
                Value::Int(n) => query.bind(n),
                Value::Text(text) => query.bind(text),
            };
        }
        query.fetch_all(conn).await
    }
}

/// The generations that pass `filter`, newest first: at most `limit`, and where the next
/// page starts if there are more.
pub async fn page(
    db: &Db,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    filter: &LogFilter,
    limit: usize,
) -> Result<LogPage, sqlx::Error> {
    let zone = settings.time_zone;
    let range = filter
        .range
        .as_ref()
        .map(|range| (range, Windows::at(now, zone).of_range(range, zone)));
    let statement = Statement::of(filter, range.map(|(_, window)| window));
    let rows = statement
        .fetch(&mut *db.pool.acquire().await?, limit + 1)
        .await?;
    let mut rows = read_rows(&rows, zone)?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        let last = &rows[limit - 1];
        Cursor {
            created_at: last.created_at.timestamp_micros(),
            id: last.id.clone(),
        }
        .to_string()
    });
    Ok(LogPage {
        rows,
        next,
        range: range.map(|(range, window)| window.named(range, zone)),
        time_zone: zone.name().to_owned(),
    })
}

fn read_rows(rows: &[AnyRow], zone: Tz) -> Result<Vec<LogRow>, sqlx::Error> {
    rows.iter().map(|row| read_row(row, zone)).collect()
}

fn read_row(row: &AnyRow, zone: Tz) -> Result<LogRow, sqlx::Error> {
    let at = |micros: i64| in_zone(from_micros(micros), zone);
    Ok(LogRow {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        provider: row.try_get(2)?,
        model: row.try_get(3)?,
        status: row.try_get(4)?,
        credits: row.try_get(5)?,
        cost: Money::from_micros(row.try_get(6)?),
        created_at: at(row.try_get(7)?),
        completed_at: row.try_get::<Option<i64>, _>(8)?.map(at),
        error: row.try_get(9)?,
        refunded: row.try_get(10)?,
    })
}

const USER: &str = "SELECT tier, credits FROM users WHERE id = $1";

const USER_GENERATIONS: &str = "
    SELECT COUNT(*),
           COUNT(*) FILTER (WHERE g.status = 'succeeded'),
           COUNT(*) FILTER (WHERE g.status = 'failed'),
           COUNT(*) FILTER (WHERE g.status = 'pending'),
           CAST(COALESCE(SUM(g.cost_micros), 0) AS BIGINT),
           CAST(COALESCE(SUM(g.credits), 0) AS BIGINT),
           MIN(g.created_at), MAX(g.created_at),
           CAST(COALESCE(SUM(r.credits), 0) AS BIGINT)
    FROM generations g
    LEFT JOIN refunds r ON r.generation_id = g.id
    WHERE g.user_id = $1";

/// A user's page, read in one snapshot; `None` if there is no such user.
pub async fn user(
    db: &Db,
    settings: &ReportSettings,
    id: &str,
) -> Result<Option<UserPage>, sqlx::Error> {
    let zone = settings.time_zone;
    let mut tx = db.pool.begin().await?;
    let Some(user) = sqlx::query(USER).bind(id).fetch_optional(&mut *tx).await? else {
        return Ok(None);
    };
    let totals = sqlx::query(USER_GENERATIONS)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let failed = LogFilter {
        user: Some(id.to_owned()),
        status: Some("failed"),
        ..LogFilter::default()
    };
    let failures = Statement::of(&failed, None)
        .fetch(&mut tx, USER_FAILURES)
        .await?;
    tx.commit().await?;
    let tier: String = user.try_get(0)?;
    let at = |micros: Option<i64>| micros.map(|m| in_zone(from_micros(m), zone));
    Ok(Some(UserPage {
        id: id.to_owned(),
        tier: Tier::parse(&tier).unwrap_or(Tier::Free),
        balance: user.try_get(1)?,
        generations: totals.try_get(0)?,
        succeeded: totals.try_get(1)?,
        failed: totals.try_get(2)?,
        pending: totals.try_get(3)?,
        spend: Money::from_micros(totals.try_get(4)?),
        credits_used: totals.try_get(5)?,
        first_generation: at(totals.try_get(6)?),
        last_generation: at(totals.try_get(7)?),
        credits_refunded: totals.try_get(8)?,
        recent_failures: read_rows(&failures, zone)?,
        time_zone: zone.name().to_owned(),
    }))
}
