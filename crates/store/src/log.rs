//! The log's and the user page's SQL, the same text on both backends but for SQLite's
//! `INDEXED BY`.
//!
//! A page reads an index by time that fits its filters ([`fitting_index`]) backwards from
//! where the last page ended, and stops after one row more than it shows (to know whether
//! there is a next page). Rows with the same `created_at` are ordered by id within it;
//! neither backend needs the id in the index for that: SQLite sorts each run of equal
//! times as it goes and PostgreSQL does the same with an incremental sort.

pub mod export;
#[cfg(test)]
mod tests;

use crate::db::bulk::id_lists;
use crate::db::Db;
use crate::parts::range as range_of;
use crate::report::{from_micros, in_zone, ReportSettings};
use crate::totals::users::LONG_SPAN;
use crate::user_ranking;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::dashboard::DateRange;
use model::dashboard::{Money, Tier};
use model::event::Status;
use model::log::{
    Cursor, LogFilter, LogPage, LogRow, Problem, TopUser, TopUsers, UserPage, TOP_USERS,
    USER_FAILURES,
};
use model::windows::{Window, Windows};
use sqlx::any::AnyRow;
use sqlx::{Column, Row};

const ROW_COLUMNS: &str = "
    SELECT g.id, g.user_id, g.provider, g.model, g.status, g.credits, g.cost_micros,
           g.created_at, g.completed_at, g.error, g.refunded_credits AS refunded
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
    /// The index its pages are read through.
    index: &'static str,
}

/// The index by time that fits `filter`: every filter's rows are read newest first, a page
/// at a time, from one of these. Each partial index's condition is among the statement's.
fn fitting_index(filter: &LogFilter) -> &'static str {
    match filter {
        LogFilter {
            user: Some(_),
            status: Some("failed"),
            ..
        } => "generations_failed_user_created_at",
        LogFilter { user: Some(_), .. } => "generations_user_id_created_at",
        LogFilter {
            problem: Some(Problem::OverRefunded),
            ..
        } => "generations_over_refunded_created_at",
        LogFilter { group: Some(_), .. } => "generations_failed_group_created_at",
        LogFilter {
            status: Some("failed"),
            ..
        }
        | LogFilter {
            problem: Some(Problem::Unrefunded),
            ..
        } => "generations_failed_created_at_group",
        LogFilter {
            status: Some("pending"),
            ..
        } => "generations_pending_created_at",
        LogFilter {
            provider: Some(_), ..
        } => "generations_provider_created_at",
        _ => "generations_created_at",
    }
}

impl Statement {
    /// The statement of the rows that pass `filter` as of `now`: within its range if it has
    /// one; a failure is overdue for its refund once `refund-grace-minutes` have passed.
    fn of(filter: &LogFilter, settings: &ReportSettings, now: DateTime<Utc>) -> Statement {
        let overdue_before = now - settings.refund_grace;
        let mut statement = Statement::default();
        if let Some(window) = window_of(filter, settings, now) {
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
        // Written in, not bound: one of three words (checked when the filter was read), and
        // the partial indexes of failed and of pending rows serve only a statement that
        // names their status.
        if let Some(status) = filter.status.and_then(Status::parse) {
            statement.and(format!("g.status = '{}'", status.as_str()));
        }
        for (column, value) in [
            ("g.provider", &filter.provider),
            ("g.user_id", &filter.user),
        ] {
            if let Some(value) = value {
                let value = statement.bind(Value::Text(value.clone()));
                statement.and(format!("{column} = {value}"));
            }
        }
        if let Some(group) = &filter.group {
            let group = statement.bind(Value::Text(group.clone()));
            // Read through the index of failures by group and creation time.
            statement.and(format!("g.status = 'failed' AND g.error_group = {group}"));
        }
        match filter.problem {
            None => {}
            Some(Problem::Unrefunded) => {
                let before = statement.bind(Value::Int(overdue_before.timestamp_micros()));
                statement.and(format!(
                    "g.status = 'failed' AND g.created_at < {before} AND g.refunded_credits IS NULL"
                ));
            }
            // The very condition of the partial index of such generations.
            Some(Problem::OverRefunded) => statement.and("g.refunded_credits > g.credits".into()),
        }
        statement.index = fitting_index(filter);
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

    /// The statement's text, newest first, with at most `limit` rows if given.
    ///
    /// SQLite is told the index: given `ANALYZE`'s samples, its planner sorted all the
    /// matches of a status or a range for each page instead. PostgreSQL's planner weighs
    /// the page's `LIMIT` and needs no telling.
    fn sql(&self, limit: Option<usize>, sqlite: bool) -> String {
        let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        let columns = match sqlite {
            true => ROW_COLUMNS.replace(
                "FROM generations g",
                &format!("FROM generations g INDEXED BY {}", self.index),
            ),
            false => ROW_COLUMNS.to_owned(),
        };
        format!(
            "{columns}{} ORDER BY g.created_at DESC, g.id DESC{limit}",
            self.conditions
        )
    }

    /// `sql` with the statement's values bound.
    fn bound<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        self.values
            .iter()
            .fold(sqlx::query(sql), |query, value| match value {
                Value::Int(n) => query.bind(*n),
                Value::Text(text) => query.bind(text.as_str()),
            })
    }

    /// The first `limit` rows, newest first.
    async fn fetch(
        self,
        conn: &mut sqlx::AnyConnection,
        limit: usize,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let sql = self.sql(Some(limit), conn.backend_name() == "SQLite");
        self.bound(&sql).fetch_all(conn).await
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
    let mut rows = first_rows(db, settings, now, filter, limit + 1).await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        cursor_after(&rows[limit - 1]).to_string()
    });
    Ok(LogPage {
        rows,
        next,
        range: (filter.range.as_ref())
            .zip(window_of(filter, settings, now))
            .map(|(range, window)| window.named(range, zone)),
        time_zone: zone.name().to_owned(),
    })
}

/// The first `limit` generations that pass `filter`, newest first, read on a connection
/// of the pool that goes back to it before they are returned.
async fn first_rows(
    db: &Db,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    filter: &LogFilter,
    limit: usize,
) -> Result<Vec<LogRow>, sqlx::Error> {
    let rows = Statement::of(filter, settings, now)
        .fetch(&mut *db.pool.acquire().await?, limit)
        .await?;
    read_rows(&rows, settings.time_zone)
}

/// Where the rows after `row` start.
fn cursor_after(row: &LogRow) -> Cursor {
    Cursor {
        created_at: row.created_at.timestamp_micros(),
        id: row.id.clone(),
    }
}

/// A tier as stored; the table's check admits no other.
fn read_tier(row: &AnyRow, column: &str) -> Result<Tier, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Tier::parse(&text).ok_or_else(|| sqlx::Error::Decode(format!("unknown tier {text}").into()))
}

/// The instants of a filter's time range, as of `now`.
fn window_of(filter: &LogFilter, settings: &ReportSettings, now: DateTime<Utc>) -> Option<Window> {
    let zone = settings.time_zone;
    (filter.range.as_ref()).map(|range| Windows::at(now, zone).of_range(range, zone))
}

fn read_rows(rows: &[AnyRow], zone: Tz) -> Result<Vec<LogRow>, sqlx::Error> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns = LogColumns::of(first)?;
    rows.iter().map(|row| columns.read(row, zone)).collect()
}

/// Where each of [`ROW_COLUMNS`] is in a statement's rows: found by name once, so that an
/// export of millions of rows does not look eleven names up in every one.
struct LogColumns {
    id: usize,
    user_id: usize,
    provider: usize,
    model: usize,
    status: usize,
    credits: usize,
    cost_micros: usize,
    created_at: usize,
    completed_at: usize,
    error: usize,
    refunded: usize,
}

impl LogColumns {
    fn of(row: &AnyRow) -> Result<LogColumns, sqlx::Error> {
        let at = |name: &str| row.try_column(name).map(|column| column.ordinal());
        Ok(LogColumns {
            id: at("id")?,
            user_id: at("user_id")?,
            provider: at("provider")?,
            model: at("model")?,
            status: at("status")?,
            credits: at("credits")?,
            cost_micros: at("cost_micros")?,
            created_at: at("created_at")?,
            completed_at: at("completed_at")?,
            error: at("error")?,
            refunded: at("refunded")?,
        })
    }

    fn read(&self, row: &AnyRow, zone: Tz) -> Result<LogRow, sqlx::Error> {
        let at = |micros: i64| in_zone(from_micros(micros), zone);
        Ok(LogRow {
            id: row.try_get(self.id)?,
            user_id: row.try_get(self.user_id)?,
            provider: row.try_get(self.provider)?,
            model: row.try_get(self.model)?,
            status: row.try_get(self.status)?,
            credits: row.try_get(self.credits)?,
            cost: Money::from_micros(row.try_get(self.cost_micros)?),
            created_at: at(row.try_get(self.created_at)?),
            completed_at: row.try_get::<Option<i64>, _>(self.completed_at)?.map(at),
            error: row.try_get(self.error)?,
            refunded: row.try_get(self.refunded)?,
        })
    }
}

const USER: &str = "SELECT tier, credits FROM users WHERE id = $1";

/// A user's totals over all time: the sum of their rows of the longest span.
const USER_GENERATIONS: &str = "
    SELECT CAST(COALESCE(SUM(generations), 0) AS BIGINT) AS generations,
           CAST(COALESCE(SUM(succeeded), 0) AS BIGINT) AS succeeded,
           CAST(COALESCE(SUM(failed), 0) AS BIGINT) AS failed,
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) AS spend,
           CAST(COALESCE(SUM(credits), 0) AS BIGINT) AS credits_used,
           CAST(COALESCE(SUM(refunded), 0) AS BIGINT) AS credits_refunded,
           (SELECT MIN(created_at) FROM generations WHERE user_id = $1) AS first_generation,
           (SELECT MAX(created_at) FROM generations WHERE user_id = $1) AS last_generation
    FROM user_totals
    WHERE user_id = $1 AND span = $2";

/// A user's page, read in one snapshot; `None` if there is no such user.
pub async fn user(
    db: &Db,
    settings: &ReportSettings,
    id: &str,
) -> Result<Option<UserPage>, sqlx::Error> {
    let zone = settings.time_zone;
    let mut tx = db.begin_snapshot().await?;
    let Some(user) = sqlx::query(USER).bind(id).fetch_optional(&mut *tx).await? else {
        return Ok(None);
    };
    let totals = sqlx::query(USER_GENERATIONS)
        .bind(id)
        .bind(LONG_SPAN)
        .fetch_one(&mut *tx)
        .await?;
    let failed = LogFilter {
        user: Some(id.to_owned()),
        status: Some("failed"),
        ..LogFilter::default()
    };
    let failures = Statement::of(&failed, settings, Utc::now())
        .fetch(&mut tx, USER_FAILURES)
        .await?;
    tx.commit().await?;
    let at = |micros: Option<i64>| micros.map(|m| in_zone(from_micros(m), zone));
    let generations: i64 = totals.try_get("generations")?;
    let succeeded: i64 = totals.try_get("succeeded")?;
    let failed: i64 = totals.try_get("failed")?;
    Ok(Some(UserPage {
        id: id.to_owned(),
        tier: read_tier(&user, "tier")?,
        balance: user.try_get("credits")?,
        generations,
        succeeded,
        failed,
        pending: generations - succeeded - failed,
        spend: Money::from_micros(totals.try_get("spend")?),
        credits_used: totals.try_get("credits_used")?,
        first_generation: at(totals.try_get("first_generation")?),
        last_generation: at(totals.try_get("last_generation")?),
        credits_refunded: totals.try_get("credits_refunded")?,
        recent_failures: read_rows(&failures, zone)?,
        time_zone: zone.name().to_owned(),
    }))
}

/// The top users by cost this month as of `now`, or in the chosen `range`, ranked from the
/// per-user totals ([`crate::user_ranking`]); only their tiers are read besides, in
/// one statement.
pub async fn top_users(
    db: &Db,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    range: Option<&DateRange>,
) -> Result<TopUsers, sqlx::Error> {
    let zone = settings.time_zone;
    let window = Windows::chosen(now, zone, range).this_month;
    let mut tx = db.begin_snapshot().await?;
    let ranked = user_ranking::costliest(&mut tx, range_of(window), TOP_USERS).await?;
    let ids: Vec<&str> = ranked.iter().map(|sum| sum.user_id.as_str()).collect();
    let mut tiers = std::collections::HashMap::new();
    for list in id_lists(&tx, &ids) {
        let sql = format!("SELECT id, tier FROM users WHERE id IN {}", list.sql);
        for row in list.bind(sqlx::query(&sql)).fetch_all(&mut *tx).await? {
            tiers.insert(row.try_get::<String, _>("id")?, read_tier(&row, "tier")?);
        }
    }
    let users = ranked
        .iter()
        .map(|sum| {
            Ok(TopUser {
                tier: *tiers.get(&sum.user_id).ok_or_else(|| {
                    sqlx::Error::Decode(format!("no user {}", sum.user_id).into())
                })?,
                id: sum.user_id.clone(),
                generations: sum.generations,
                cost: Money::from_micros(sum.cost_micros),
                consumed: sum.consumed,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    tx.commit().await?;
    Ok(TopUsers {
        users,
        generated_at: in_zone(now, zone),
        range: range.map(|range| window.named(range, zone)),
    })
}
