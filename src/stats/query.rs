//! Computes [`DashboardStats`] with SQL aggregates on the database host: only totals and
//! the ten newest failures travel back, never the rows themselves.

use super::windows::{Window, Windows};
use super::*;
use crate::db::Db;
use chrono::{DateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use sqlx::Row;

/// What the figures depend on besides the data.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    pub time_zone: Tz,
    pub health: HealthThresholds,
}

/// Counts and cost of the generations created in a window.
#[derive(Debug, Default)]
struct GenerationTotals {
    generations: i64,
    succeeded: i64,
    failed: i64,
    cost: Money,
}

const GENERATION_TOTALS: &str = "
    SELECT COUNT(*),
           COUNT(*) FILTER (WHERE status = 'succeeded'),
           COUNT(*) FILTER (WHERE status = 'failed'),
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT)
    FROM generations
    WHERE created_at >= $1 AND created_at < $2";

const ACTIVE_USERS: &str = "
    SELECT COUNT(DISTINCT user_id) FROM generations WHERE created_at >= $1 AND created_at < $2";

const REFUNDS: &str = "SELECT COUNT(*) FROM refunds WHERE at >= $1 AND at < $2";

const PROVIDERS: &str = "
    SELECT provider,
           COUNT(*),
           COUNT(*) FILTER (WHERE status = 'succeeded'),
           COUNT(*) FILTER (WHERE status = 'failed'),
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT)
    FROM generations
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY provider";

const BALANCES_BY_TIER: &str = "
    SELECT tier,
           COUNT(*),
           CAST(COALESCE(SUM(credits), 0) AS BIGINT),
           COUNT(*) FILTER (WHERE credits > 0)
    FROM users
    GROUP BY tier";

/// Credits charged minus refunded for the window's generations, by the user's tier now.
const CONSUMED_BY_TIER: &str = "
    SELECT u.tier,
           CAST(COALESCE(SUM(g.credits), 0) - COALESCE(SUM(r.credits), 0) AS BIGINT)
    FROM generations g
    JOIN users u ON u.id = g.user_id
    LEFT JOIN refunds r ON r.generation_id = g.id
    WHERE g.created_at >= $1 AND g.created_at < $2
    GROUP BY u.tier";

const RECENT_FAILURES: &str = "
    SELECT id, provider, error, created_at
    FROM generations
    WHERE status = 'failed' AND created_at >= $1 AND created_at < $2
    ORDER BY created_at DESC, id DESC
    LIMIT $3";

/// The dashboard's figures as of `now`.
pub async fn load(
    db: &Db,
    settings: &ReportSettings,
    now: DateTime<Utc>,
) -> Result<DashboardStats, sqlx::Error> {
    // Times are stored to the microsecond; `now` need not be finer.
    let now = now.trunc_subsecs(6);
    let windows = Windows::at(now, settings.time_zone);
    // One connection for every query keeps a refresh from taking more than its share of the pool.
    let mut conn = db.pool.acquire().await?;
    let conn = &mut *conn;

    let today = generation_totals(conn, windows.today).await?;
    let active_users = count(conn, ACTIVE_USERS, windows.today).await?;
    let month = generation_totals(conn, windows.this_month).await?;
    let month_refunds = count(conn, REFUNDS, windows.this_month).await?;
    let week = generation_totals(conn, windows.last_7_days).await?;
    let week_refunds = count(conn, REFUNDS, windows.last_7_days).await?;
    let day = generation_totals(conn, windows.last_24h).await?;

    let mut providers = Vec::new();
    for row in bind_window(sqlx::query(PROVIDERS), windows.last_30_days)
        .fetch_all(&mut *conn)
        .await?
    {
        let (successful, failed) = (row.try_get(2)?, row.try_get(3)?);
        providers.push(ProviderUsage {
            name: row.try_get(0)?,
            total_calls: row.try_get(1)?,
            successful,
            failed,
            success_rate: success_rate(successful, failed),
            total_cost: Money::from_micros(row.try_get(4)?),
        });
    }
    sort_providers(&mut providers);

    let mut user_stats = UserStats::default();
    for row in sqlx::query(BALANCES_BY_TIER).fetch_all(&mut *conn).await? {
        let Some(tier) = Tier::parse(&row.try_get::<String, _>(0)?) else {
            continue;
        };
        let (count, credits, with_credits): (i64, i64, i64) =
            (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        let entry = user_stats.credits_by_tier.get_mut(tier);
        entry.count = count;
        entry.total_credits = credits;
        user_stats.users_with_credits += with_credits;
        user_stats.total_credits_in_circulation += credits;
    }
    for row in bind_window(sqlx::query(CONSUMED_BY_TIER), windows.this_month)
        .fetch_all(&mut *conn)
        .await?
    {
        if let Some(tier) = Tier::parse(&row.try_get::<String, _>(0)?) {
            user_stats.credits_by_tier.get_mut(tier).total_consumed = row.try_get(1)?;
        }
    }

    let zone = settings.time_zone;
    let mut recent_failures = Vec::new();
    let failures = bind_window(sqlx::query(RECENT_FAILURES), windows.last_7_days)
        .bind(RECENT_FAILURES_LIMIT)
        .fetch_all(&mut *conn)
        .await?;
    for row in failures {
        let error: Option<String> = row.try_get(2)?;
        recent_failures.push(RecentFailure {
            id: row.try_get(0)?,
            provider: row.try_get(1)?,
            error: error
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| "Unknown error".into()),
            time: in_zone(from_micros(row.try_get(3)?), zone),
        });
    }

    Ok(DashboardStats {
        generated_at: in_zone(now, zone),
        time_zone: zone.name().to_owned(),
        today_stats: TodayStats {
            active_users,
            generations: today.generations,
            successful: today.succeeded,
            failed: today.failed,
            cost: today.cost,
        },
        month_stats: MonthStats {
            generations: month.generations,
            successful: month.succeeded,
            failed: month.failed,
            cost: month.cost,
            refunds: month_refunds,
            success_rate: success_rate(month.succeeded, month.failed),
            average_cost: average_cost(month.cost, month.generations),
        },
        success_rate: success_rate(week.succeeded, week.failed),
        refunds_last_7_days: week_refunds,
        user_stats,
        providers,
        recent_failures,
        system_health: SystemHealth {
            status: health_status(day.succeeded, day.failed, settings.health),
            tasks_last_24h: day.generations,
            failure_last_24h: day.failed,
            failure_rate: percent_of(day.failed, day.succeeded),
        },
    })
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_window(query: Query<'_>, window: Window) -> Query<'_> {
    query
        .bind(window.start.timestamp_micros())
        .bind(window.end.timestamp_micros())
}

async fn generation_totals(
    conn: &mut sqlx::AnyConnection,
    window: Window,
) -> Result<GenerationTotals, sqlx::Error> {
    let row = bind_window(sqlx::query(GENERATION_TOTALS), window)
        .fetch_one(conn)
        .await?;
    Ok(GenerationTotals {
        generations: row.try_get(0)?,
        succeeded: row.try_get(1)?,
        failed: row.try_get(2)?,
        cost: Money::from_micros(row.try_get(3)?),
    })
}

async fn count(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    window: Window,
) -> Result<i64, sqlx::Error> {
    bind_window(sqlx::query(sql), window)
        .fetch_one(conn)
        .await?
        .try_get(0)
}

fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn in_zone(instant: DateTime<Utc>, zone: Tz) -> DateTime<FixedOffset> {
    instant.with_timezone(&zone).fixed_offset()
}

#[cfg(test)]
mod tests;
