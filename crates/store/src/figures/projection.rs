//! The month-end projection: this month's cost so far (as the generations figure wrote it),
//! the cost of the last 7 whole local days, and where the data begins (the first generation, found through the `created_at`
//! index), so that a young platform's average is over the days it has.

use super::counts::summed;
use super::statement::{Ask, Column, Columns, Int, Query, Row};
use super::{Figure, Finish, Report};
use crate::report::from_micros;
use chrono::NaiveDate;
use model::dashboard::{DashboardStats, Money};
use model::projection::{projected_cost, whole_days_with_data};
use model::windows::Window;

const SPENT: Columns = Columns::new(&[Column::int("cost_micros")]);
const COST_MICROS: Int = SPENT.int("cost_micros");

const COST: Query = Query {
    columns: SPENT,
    raw_rows: "
    SELECT COALESCE(SUM(cost_micros), 0) AS cost_micros
    FROM generations
    WHERE created_at >= $1 AND created_at < $2",
    totals: "
    SELECT COALESCE(SUM(cost_micros), 0) AS cost_micros
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2",
};

const FIRST: Columns = Columns::new(&[Column::int("earliest")]);
const EARLIEST: Int = FIRST.int("earliest");

/// The first generation's time, one index lookup; no row without generations.
/// `ORDER BY … LIMIT 1`, not `MIN`: SQLite reads `MIN` from the index's first entry only in
/// a statement of its own, and scanned the whole index inside the figures' statement.
const FIRST_GENERATION: &str =
    "SELECT created_at AS earliest FROM generations ORDER BY created_at LIMIT 1";

/// What the projection reads: the last 7 whole days, and what is left of the month.
struct Windows {
    last_7_whole_days: Window,
    rest_of_month: Window,
}

pub(super) struct Projection {
    /// `None` with a range chosen: nothing to read, and no projection.
    windows: Option<Windows>,
    zone: chrono_tz::Tz,
    /// Micro-dollars of the 7 days.
    last_days: i64,
    first_generation: Option<i64>,
}

impl Projection {
    pub fn new(report: &Report) -> Projection {
        let windows = &report.windows;
        Projection {
            windows: windows.rest_of_month.map(|rest_of_month| Windows {
                last_7_whole_days: windows.last_7_whole_days,
                rest_of_month,
            }),
            zone: report.settings.time_zone,
            last_days: 0,
            first_generation: None,
        }
    }

    fn local_day(&self, instant: chrono::DateTime<chrono::Utc>) -> NaiveDate {
        instant.with_timezone(&self.zone).date_naive()
    }
}

impl Figure for Projection {
    fn ask(&self, ask: &mut Ask<'_>) {
        if let Some(w) = &self.windows {
            ask.windows(&[w.last_7_whole_days], COST);
            ask.once(FIRST, FIRST_GENERATION, &[]);
        }
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        if row.is(FIRST) {
            self.first_generation = Some(row.int(EARLIEST)?);
        } else {
            self.last_days = summed(self.last_days, row.int(COST_MICROS)?, row.sign()?)?;
        }
        Ok(())
    }

    /// It projects the month's cost the generations' figure wrote.
    fn finishes(&self) -> Finish {
        Finish::AfterTheOthers
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        let (Some(w), Some(first)) = (&self.windows, self.first_generation) else {
            return;
        };
        let today = self.local_day(w.rest_of_month.start);
        let whole_days = whole_days_with_data(self.local_day(from_micros(first)), today);
        // The generations figure has written this month's cost.
        let so_far = stats.month_stats.cost;
        let last_days = Money::from_micros(self.last_days);
        stats.month_stats.projected_cost =
            projected_cost(so_far, last_days, whole_days, w.rest_of_month);
    }
}
