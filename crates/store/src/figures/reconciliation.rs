//! Refunds that went wrong among the generations of the last 30 days: failures whose
//! refund is overdue, and refunds larger than the credits charged.

use super::statement::{Ask, Column, Columns, Int, Query, Row};
use super::{Figure, Report};
use model::dashboard::DashboardStats;
use model::windows::Window;

const COUNTS: Columns = Columns::new(&[
    Column::int("unrefunded_failures"),
    Column::int("over_refunds"),
]);
const UNREFUNDED_FAILURES: Int = COUNTS.int("unrefunded_failures");
const OVER_REFUNDS: Int = COUNTS.int("over_refunds");

/// Failed generations with no refund, and refunds larger than the credits charged (a
/// column each; both figures ask for both, each over its window, and read its own). Each
/// row's refund is read by key, as in `super::tiers`'s `CONSUMED_BY_TIER_AT_EDGE`.
const RECONCILIATION: Query = Query {
    columns: COUNTS,
    raw_rows: "
    SELECT COALESCE(SUM(CASE WHEN g.status = 'failed' AND NOT EXISTS
               (SELECT 1 FROM refunds r WHERE r.generation_id = g.id) THEN 1 ELSE 0 END), 0)
               AS unrefunded_failures,
           COALESCE(SUM(CASE WHEN
               (SELECT r.credits FROM refunds r WHERE r.generation_id = g.id) > g.credits
               THEN 1 ELSE 0 END), 0) AS over_refunds
    FROM generations g
    WHERE g.created_at >= $1 AND g.created_at < $2",
    totals: "
    SELECT COALESCE(SUM(unrefunded), 0) AS unrefunded_failures,
           COALESCE(SUM(over_refunded), 0) AS over_refunds
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2",
};

/// Failures of the last 30 days with no refund once the grace period for it is over.
pub(super) struct OverdueFailures {
    overdue: Window,
    grace_minutes: i64,
    count: i64,
}

impl OverdueFailures {
    pub fn new(report: &Report) -> OverdueFailures {
        let last_30_days = report.windows.last_30_days;
        let grace = report.settings.refund_grace;
        OverdueFailures {
            overdue: Window {
                start: last_30_days.start,
                end: last_30_days.end.min(report.now - grace),
            },
            grace_minutes: grace.num_minutes(),
            count: 0,
        }
    }
}

impl Figure for OverdueFailures {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.windows(&[self.overdue], RECONCILIATION);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        self.count += row.sign()? * row.int(UNREFUNDED_FAILURES)?;
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        stats.reconciliation.grace_minutes = self.grace_minutes;
        stats.reconciliation.unrefunded_failures = self.count;
    }
}

/// Refunds larger than charged among the last 30 days' generations, counted at once.
pub(super) struct OverRefunds {
    last_30_days: Window,
    count: i64,
}

impl OverRefunds {
    pub fn new(report: &Report) -> OverRefunds {
        OverRefunds {
            last_30_days: report.windows.last_30_days,
            count: 0,
        }
    }
}

impl Figure for OverRefunds {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.windows(&[self.last_30_days], RECONCILIATION);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        self.count += row.sign()? * row.int(OVER_REFUNDS)?;
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        stats.reconciliation.over_refunds = self.count;
    }
}
