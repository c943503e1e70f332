//! Refunds issued this month and over the last 7 days, by the refund's own time.

use super::statement::{Ask, Column, Columns, Int, Query, Row};
use super::{Figure, Report};
use model::dashboard::DashboardStats;
use model::windows::Window;

const COUNTED: Columns = Columns::new(&[Column::int("refunds")]);
const COUNT: Int = COUNTED.int("refunds");

const REFUNDS: Query = Query {
    columns: COUNTED,
    raw_rows: "SELECT COUNT(*) AS refunds FROM refunds WHERE at >= $1 AND at < $2",
    totals: "
    SELECT COALESCE(SUM(refunds), 0) AS refunds
    FROM refund_totals WHERE span = $3 AND bucket >= $1 AND bucket < $2",
};

/// Refunds of this month and of the last 7 days.
pub(super) struct Refunds {
    windows: [Window; 2],
    counts: [i64; 2],
}

impl Refunds {
    pub fn new(report: &Report) -> Refunds {
        Refunds {
            windows: [report.windows.this_month, report.windows.last_7_days],
            counts: [0; 2],
        }
    }
}

impl Figure for Refunds {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.windows(&self.windows, REFUNDS);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        if let Some(count) = self.counts.get_mut(row.window()?) {
            *count += row.sign()? * row.int(COUNT)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        let [month, week] = self.counts;
        stats.month_stats.refunds = month;
        stats.refunds_last_7_days = week;
    }
}
