//! The budgets admins set (`migrations/0012_budgets.sql`): the saved row, the log of its
//! changes, the users over the per-user limit, and (`crossings`) the crossings claimed.

pub mod crossings;

use crate::db::Db;
use crate::report::{from_micros, in_zone, ReportSettings};
use crate::user_ranking;
use chrono::{DateTime, Duration, Utc};
use model::budgets::{BudgetChange, BudgetSettings, BudgetsPage, UserOverLimit, USERS_LISTED};
use model::dashboard::Money;
use sqlx::{AnyConnection, Row};

/// How many changes the Alerts page lists.
pub const CHANGES_LISTED: i64 = 20;

/// The budgets in force: the saved ones, or `defaults` (`Leptos.toml`'s) when none are
/// saved; and whether they are the defaults.
pub async fn current(
    db: &Db,
    defaults: &BudgetSettings,
) -> Result<(BudgetSettings, bool), sqlx::Error> {
    current_on(&mut *db.pool.acquire().await?, defaults).await
}

/// [`current`] as `conn` sees them (inside a transaction: as it will replace them).
async fn current_on(
    conn: &mut AnyConnection,
    defaults: &BudgetSettings,
) -> Result<(BudgetSettings, bool), sqlx::Error> {
    let row = sqlx::query(
        "SELECT daily_micros, monthly_micros, per_user_micros, levels
         FROM budget_settings WHERE id = 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok((defaults.clone(), true));
    };
    let amount = |name: &str| -> Result<Option<Money>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(Money::from_micros))
    };
    let levels: String = row.try_get("levels")?;
    Ok((
        BudgetSettings {
            daily: amount("daily_micros")?,
            monthly: amount("monthly_micros")?,
            per_user: amount("per_user_micros")?,
            levels: crate::figures::decode_levels(&levels)?,
        },
        false,
    ))
}

/// Saves `new` as `admin`'s change at `now`, and logs it with what it replaced, in one
/// transaction that writers take in turns, so that two admins saving at once each log
/// what they really replaced.
pub async fn save(
    db: &Db,
    defaults: &BudgetSettings,
    new: &BudgetSettings,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = crate::db::transaction::begin_write_turn(db).await?;
    let (old, from_config) = current_on(&mut tx, defaults).await?;
    let levels: Vec<String> = new.levels.iter().map(u32::to_string).collect();
    let micros = |money: Option<Money>| money.map(Money::micros);
    sqlx::query(
        "INSERT INTO budget_settings
             (id, daily_micros, monthly_micros, per_user_micros, levels, changed_at, changed_by)
         VALUES (1, $1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET
             daily_micros = excluded.daily_micros, monthly_micros = excluded.monthly_micros,
             per_user_micros = excluded.per_user_micros, levels = excluded.levels,
             changed_at = excluded.changed_at, changed_by = excluded.changed_by",
    )
    .bind(micros(new.daily))
    .bind(micros(new.monthly))
    .bind(micros(new.per_user))
    .bind(levels.join(","))
    .bind(now.timestamp_micros())
    .bind(admin)
    .execute(&mut *tx)
    .await?;
    let old = if from_config {
        format!("{} (Leptos.toml)", old.describe())
    } else {
        old.describe()
    };
    sqlx::query(
        "INSERT INTO budget_changes (id, changed_at, admin, old, new) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(format!(
        "{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    ))
    .bind(now.timestamp_micros())
    .bind(admin)
    .bind(old)
    .bind(new.describe())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Users whose cost over the 24 hours before `now` passed `limit`, highest first, at most
/// `max`: from the per-user totals ([`crate::user_ranking::over`]).
pub async fn users_over_limit(
    db: &Db,
    limit: Money,
    now: DateTime<Utc>,
    max: usize,
) -> Result<Vec<UserOverLimit>, sqlx::Error> {
    let window = (
        (now - Duration::hours(24)).timestamp_micros(),
        now.timestamp_micros(),
    );
    let mut conn = db.pool.acquire().await?;
    let over = user_ranking::over(&mut conn, window, limit.micros(), max).await?;
    Ok(over
        .into_iter()
        .map(|sum| UserOverLimit {
            user_id: sum.user_id,
            cost: Money::from_micros(sum.cost_micros),
        })
        .collect())
}

/// A row of `user_id` and `cost`.
pub(crate) fn user_over_limit(row: &sqlx::any::AnyRow) -> Result<UserOverLimit, sqlx::Error> {
    Ok(UserOverLimit {
        user_id: row.try_get("user_id")?,
        cost: Money::from_micros(row.try_get("cost")?),
    })
}

/// What the Alerts page's Budgets panel shows at `now`.
pub async fn page(
    db: &Db,
    report: &ReportSettings,
    now: DateTime<Utc>,
) -> Result<BudgetsPage, sqlx::Error> {
    let (settings, from_config) = current(db, &report.budgets).await?;
    let users_over_limit = match settings.per_user {
        Some(limit) => users_over_limit(db, limit, now, USERS_LISTED).await?,
        None => Vec::new(),
    };
    let rows = sqlx::query(
        "SELECT changed_at, admin, old, new FROM budget_changes
         ORDER BY changed_at DESC, id LIMIT $1",
    )
    .bind(CHANGES_LISTED)
    .fetch_all(&db.pool)
    .await?;
    let changes = rows
        .iter()
        .map(|row| {
            Ok(BudgetChange {
                at: in_zone(from_micros(row.try_get("changed_at")?), report.time_zone),
                admin: row.try_get("admin")?,
                old: row.try_get("old")?,
                new: row.try_get("new")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(BudgetsPage {
        settings,
        from_config,
        changes,
        users_over_limit,
        time_zone: report.time_zone.name().to_owned(),
    })
}

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
