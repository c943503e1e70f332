//! Budget crossings, claimed once however many servers share the database: a row per
//! (budget, period, level) — per (user, local day) for the per-user limit — inserted with
//! `ON CONFLICT DO NOTHING`; the server whose insert wrote the row alone announces it. A new
//! local day or month is a new period, so its crossings are announced afresh.

use crate::alerts::log_budget_sending;
use crate::db::parameters::bind_all;
use crate::db::Db;
use crate::user_ranking;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use model::budgets::{levels_text, BudgetUse, Budgets, UserOverLimit};
use model::dashboard::{DashboardStats, Money};
use model::format::{dollars, slack_text};
use serde_json::{json, Value};
use sqlx::AnyConnection;

/// How many users a per-user alert names (the rest are counted).
const USERS_NAMED: usize = 10;
/// How many users over the limit one check claims: the rest are claimed by the next.
const USERS_PER_CHECK: i64 = 100;

/// Which budget was crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Daily,
    Monthly,
    PerUser,
}

impl Budget {
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::Daily => "daily",
            Budget::Monthly => "monthly",
            Budget::PerUser => "user",
        }
    }
}

/// A crossing this server claimed: it alone announces it.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    pub budget: Budget,
    /// The local day (`2026-03-08`) or month (`2026-03`).
    pub period: String,
    /// The levels newly reached, ascending (none for the per-user limit).
    pub levels: Vec<u32>,
    pub spent: Money,
    /// The budget, or the per-user limit.
    pub amount: Money,
    /// Users newly over the limit, highest cost first.
    pub users: Vec<UserOverLimit>,
    /// What the log says was crossed.
    pub crossed: String,
    /// The deliveries logged as sending, one per webhook in order.
    pub deliveries: Vec<String>,
}

/// The local day and month of figures computed at `at` (in the reporting time zone).
pub fn periods(at: DateTime<FixedOffset>) -> (String, String) {
    (
        at.format("%Y-%m-%d").to_string(),
        at.format("%Y-%m").to_string(),
    )
}

/// Claims the daily and monthly budgets' levels that `stats` (computed at their
/// `generated_at`, `now` being the claim's time) have reached and no server has claimed
/// yet, logging a delivery to each of `webhooks` per budget newly crossed.
pub async fn claim_budgets(
    db: &Db,
    stats: &DashboardStats,
    now: DateTime<Utc>,
    webhooks: &[String],
) -> Result<Vec<Claimed>, sqlx::Error> {
    let (day, month) = periods(stats.generated_at);
    let budgets = &stats.budgets;
    let mut claimed = Vec::new();
    for (budget, period, used) in [
        (Budget::Daily, day, &budgets.daily),
        (Budget::Monthly, month, &budgets.monthly),
    ] {
        let Some(used) = used else { continue };
        if let Some(claim) = claim_levels(db, budget, period, budgets, used, now, webhooks).await? {
            claimed.push(claim);
        }
    }
    Ok(claimed)
}

async fn claim_levels(
    db: &Db,
    budget: Budget,
    period: String,
    budgets: &Budgets,
    used: &BudgetUse,
    now: DateTime<Utc>,
    webhooks: &[String],
) -> Result<Option<Claimed>, sqlx::Error> {
    let reached: Vec<u32> = budgets
        .levels
        .iter()
        .copied()
        .filter(|&level| model::budgets::reached(used.spent, used.budget, level))
        .collect();
    if reached.is_empty() {
        return Ok(None);
    }
    let mut tx = db.writer().begin().await?;
    let mut levels = Vec::new();
    for level in reached {
        let row = Row {
            budget,
            period: &period,
            level: i64::from(level),
            user_id: "",
            spent: used.spent,
            amount: used.budget,
        };
        if row.insert(&mut tx, now).await? {
            levels.push(level);
        }
    }
    let Some(&highest) = levels.last() else {
        return Ok(None);
    };
    let name = match budget {
        Budget::Daily => "Daily budget",
        _ => "Monthly budget",
    };
    let crossed = format!(
        "{name} {highest}% ({period}): {} of {}",
        dollars(used.spent),
        dollars(used.budget)
    );
    let deliveries = log_budget_sending(&mut tx, &crossed, now, webhooks).await?;
    tx.commit().await?;
    Ok(Some(Claimed {
        budget,
        period,
        levels,
        spent: used.spent,
        amount: used.budget,
        users: Vec::new(),
        crossed,
        deliveries,
    }))
}

/// Claims the users over the per-user `limit` in the 24 hours before `at` that no server
/// has claimed on the local day `day` yet (at most [`USERS_PER_CHECK`], highest cost
/// first), logging one delivery per webhook naming them.
pub async fn claim_users(
    db: &Db,
    limit: Money,
    at: DateTime<Utc>,
    day: &str,
    now: DateTime<Utc>,
    webhooks: &[String],
) -> Result<Option<Claimed>, sqlx::Error> {
    let over = unclaimed_users(db, limit, at, day).await?;
    if over.is_empty() {
        return Ok(None);
    }
    let mut tx = db.writer().begin().await?;
    let mut users = Vec::new();
    for user in over {
        let row = Row {
            budget: Budget::PerUser,
            period: day,
            level: 0,
            user_id: &user.user_id,
            spent: user.cost,
            amount: limit,
        };
        if row.insert(&mut tx, now).await? {
            users.push(user);
        }
    }
    if users.is_empty() {
        return Ok(None);
    }
    let crossed = format!(
        "Per-user limit {} ({day}): {}",
        dollars(limit),
        named_users(&users)
    );
    let deliveries = log_budget_sending(&mut tx, &crossed, now, webhooks).await?;
    tx.commit().await?;
    Ok(Some(Claimed {
        budget: Budget::PerUser,
        period: day.to_owned(),
        levels: Vec::new(),
        spent: users.iter().map(|user| user.cost).sum(),
        amount: limit,
        users,
        crossed,
        deliveries,
    }))
}

async fn unclaimed_users(
    db: &Db,
    limit: Money,
    at: DateTime<Utc>,
    day: &str,
) -> Result<Vec<UserOverLimit>, sqlx::Error> {
    let window = (
        (at - chrono::Duration::hours(24)).timestamp_micros(),
        at.timestamp_micros(),
    );
    let mut values = vec![limit.micros()];
    let over = user_ranking::over_limit_sql(window, "$1", &mut values);
    // The day is text: it follows the numbers.
    let (day_at, max) = (values.len() + 1, values.len() + 2);
    let sql = format!(
        "SELECT user_id, cost_micros AS cost FROM ({over}) s
         WHERE NOT EXISTS (SELECT 1 FROM budget_crossings c
                           WHERE c.budget = 'user' AND c.period = ${day_at} AND c.level = 0
                             AND c.user_id = s.user_id)
         ORDER BY cost_micros DESC, user_id LIMIT ${max}"
    );
    let rows = bind_all(sqlx::query(&sql), &values)
        .bind(day)
        .bind(USERS_PER_CHECK)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(super::user_over_limit).collect()
}

/// `u1 ($12.00), u2 ($11.00) and 3 more`.
fn named_users(users: &[UserOverLimit]) -> String {
    let named: Vec<String> = users
        .iter()
        .take(USERS_NAMED)
        .map(|user| format!("{} ({})", slack_text(&user.user_id), dollars(user.cost)))
        .collect();
    let more = users.len().saturating_sub(USERS_NAMED);
    if more > 0 {
        format!("{} and {more} more", named.join(", "))
    } else {
        named.join(", ")
    }
}

/// One claimed crossing.
struct Row<'a> {
    budget: Budget,
    period: &'a str,
    level: i64,
    user_id: &'a str,
    spent: Money,
    amount: Money,
}

impl Row<'_> {
    /// Whether this insert wrote the row (no server had claimed it).
    async fn insert(
        &self,
        conn: &mut AnyConnection,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO budget_crossings
                 (budget, period, level, user_id, claimed_at, spent_micros, budget_micros)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (budget, period, level, user_id) DO NOTHING",
        )
        .bind(self.budget.as_str())
        .bind(self.period)
        .bind(self.level)
        .bind(self.user_id)
        .bind(now.timestamp_micros())
        .bind(self.spent.micros())
        .bind(self.amount.micros())
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The message announcing `claimed`: Slack's `text`, with the figures as fields of their own.
pub fn message(
    claimed: &Claimed,
    time_zone: &str,
    at: DateTime<Utc>,
    dashboard: Option<&str>,
) -> Value {
    let headline =
        match claimed.budget {
            Budget::PerUser => format!(
                "usage-monitor: {} passed the per-user limit of {} over the last 24 h: {}.",
                match claimed.users.len() {
                    1 => "1 user".to_owned(),
                    n => format!("{n} users"),
                },
                dollars(claimed.amount),
                named_users(&claimed.users)
            ),
            budget => {
                format!(
            "usage-monitor: {} cost reached {}% of the {} budget: {} of {} ({}, {time_zone}).",
            if budget == Budget::Daily { "today's" } else { "this month's" },
            levels_text(&claimed.levels[claimed.levels.len() - 1..]),
            budget.as_str(),
            dollars(claimed.spent),
            dollars(claimed.amount),
            claimed.period
        )
            }
        };
    let text = match dashboard {
        Some(link) => format!("{headline} <{link}|Open the dashboard>"),
        None => headline,
    };
    let mut body = json!({
        "text": text,
        "kind": "budget",
        "budget": claimed.budget.as_str(),
        "period": claimed.period,
        "levels": claimed.levels,
        "spent": claimed.spent,
        "amount": claimed.amount,
        "crossed": claimed.crossed,
        "at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    if claimed.budget == Budget::PerUser {
        body["users"] = json!(claimed
            .users
            .iter()
            .map(|user| json!({"userId": user.user_id, "cost": user.cost}))
            .collect::<Vec<_>>());
    }
    if let Some(link) = dashboard {
        body["dashboard"] = link.into();
    }
    body
}
