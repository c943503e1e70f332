//! Budgets: today's and this month's cost against the daily and monthly budgets, and the
//! users whose cost over the last 24 hours passed the per-user limit.
//!
//! The spend is always that of the default windows (`Windows::at`), whatever range the
//! dashboard shows: a budget is about today and this month. The budgets themselves are
//! read in the same statement (the saved row, or `Leptos.toml`'s when none is saved), so
//! that every server sees an admin's change at its next figures. Users over the limit are
//! counted from the per-user totals (`crate::user_ranking`), only when a limit is set.

use super::statement::{Ask, Column, Columns, Int, Query, Row, Text};
use super::{Figure, Report};
use crate::db::parameters::parameter;
use crate::parts::Source;
use crate::parts::{range, Range};
use crate::user_ranking;
use model::budgets::{BudgetSettings, BudgetUse, Budgets};
use model::dashboard::{DashboardStats, Money};
use model::windows::{Window, Windows};

/// Today's or this month's cost.
const SPEND: Columns = Columns::new(&[Column::int("cost_micros")]);
const COST_MICROS: Int = SPEND.int("cost_micros");

const COST: Query = Query {
    columns: SPEND,
    raw_rows: "
    SELECT COALESCE(SUM(cost_micros), 0) AS cost_micros
    FROM generations WHERE created_at >= $1 AND created_at < $2",
    totals: "
    SELECT COALESCE(SUM(cost_micros), 0) AS cost_micros
    FROM generation_totals WHERE span = $3 AND bucket >= $1 AND bucket < $2",
};

/// The budgets an admin saved.
const SAVED: Columns = Columns::new(&[
    Column::text("levels"),
    Column::int("daily_micros"),
    Column::int("monthly_micros"),
    Column::int("per_user_micros"),
]);
const LEVELS: Text = SAVED.text("levels");
const DAILY: Int = SAVED.int("daily_micros");
const MONTHLY: Int = SAVED.int("monthly_micros");
const PER_USER: Int = SAVED.int("per_user_micros");

/// The saved budgets, if any (0 is off: the table allows only amounts above 0).
const SAVED_BUDGETS: &str = "
    SELECT levels,
           COALESCE(daily_micros, 0) AS daily_micros,
           COALESCE(monthly_micros, 0) AS monthly_micros,
           COALESCE(per_user_micros, 0) AS per_user_micros
    FROM budget_settings WHERE id = 1";

/// The per-user limit in force: the saved one, or `$1` (`Leptos.toml`'s, 0 for none)
/// when none is saved.
const LIMIT: &str =
    "(SELECT CASE WHEN COUNT(*) = 0 THEN $1 ELSE COALESCE(MAX(per_user_micros), 0) END
      FROM budget_settings WHERE id = 1)";

/// Users over the limit in `window`: from the per-user totals, or from the raw rows. The
/// window's parameters follow `values` (`$1` is the limit's).
fn over_limit_sql(source: Source, window: Range, values: &mut Vec<i64>) -> String {
    let over_limit = match source {
        Source::Totals => user_ranking::over_limit_sql(window, LIMIT, values),
        Source::RawRows => {
            let [start, end] = [window.0, window.1].map(|value| parameter(values, value));
            format!(
                "SELECT user_id FROM generations
                 WHERE created_at >= {start} AND created_at < {end}
                 GROUP BY user_id HAVING SUM(cost_micros) > {LIMIT}"
            )
        }
    };
    format!("SELECT COUNT(*) AS users FROM ({over_limit}) over_limit WHERE {LIMIT} > 0")
}

/// The users over the limit.
const OVER_LIMIT: Columns = Columns::new(&[Column::int("users")]);
const USERS: Int = OVER_LIMIT.int("users");

pub(super) struct BudgetFigures {
    /// Today and this month, always the default windows.
    windows: [Window; 2],
    last_24h: Window,
    /// Until a saved row is read.
    settings: BudgetSettings,
    spent: [i64; 2],
    users_over_limit: i64,
}

impl BudgetFigures {
    pub fn new(report: &Report) -> BudgetFigures {
        let windows = Windows::at(report.now, report.settings.time_zone);
        BudgetFigures {
            windows: [windows.today, windows.this_month],
            last_24h: windows.last_24h,
            settings: report.settings.budgets.clone(),
            spent: [0; 2],
            users_over_limit: 0,
        }
    }
}

impl Figure for BudgetFigures {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.windows(&self.windows, COST);
        ask.once(SAVED, SAVED_BUDGETS, &[]);
        let mut values = vec![self.settings.per_user.map_or(0, Money::micros)];
        let sql = over_limit_sql(ask.source(), range(self.last_24h), &mut values);
        ask.once(OVER_LIMIT, &sql, &values);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        if row.is(SPEND) {
            if let Some(spent) = self.spent.get_mut(row.window()?) {
                *spent += row.sign()? * row.int(COST_MICROS)?;
            }
        } else if row.is(SAVED) {
            self.settings = saved(row)?;
        } else if row.is(OVER_LIMIT) {
            self.users_over_limit = row.int(USERS)?;
        } else {
            return Err(sqlx::Error::Decode("a budget row of no kind".into()));
        }
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        let [today, month] = self.spent.map(Money::from_micros);
        let settings = self.settings;
        stats.budgets = Budgets {
            daily: settings.daily.map(|budget| BudgetUse::new(today, budget)),
            monthly: settings.monthly.map(|budget| BudgetUse::new(month, budget)),
            per_user_limit: settings.per_user,
            users_over_limit: if settings.per_user.is_some() {
                self.users_over_limit
            } else {
                0
            },
            levels: settings.levels,
        };
    }
}

/// The budgets of the saved row.
fn saved(row: &Row) -> Result<BudgetSettings, sqlx::Error> {
    let amount = |column| -> Result<Option<Money>, sqlx::Error> {
        let micros = row.int(column)?;
        Ok((micros > 0).then(|| Money::from_micros(micros)))
    };
    Ok(BudgetSettings {
        daily: amount(DAILY)?,
        monthly: amount(MONTHLY)?,
        per_user: amount(PER_USER)?,
        levels: decode_levels(&row.text::<String>(LEVELS)?)?,
    })
}

/// `80,100` as stored.
pub(crate) fn decode_levels(text: &str) -> Result<Vec<u32>, sqlx::Error> {
    text.split(',')
        .map(|level| {
            level
                .trim()
                .parse()
                .map_err(|_| sqlx::Error::Decode(format!("budget level {level:?}").into()))
        })
        .collect()
}
