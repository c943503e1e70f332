//! Generations, their outcomes and cost: today's and this month's cards, the success rate
//! of the last 7 days and the health of the last 24 hours.

use super::counts::GenerationTotals;
use super::statement::{Ask, Query, Row};
use super::{Figure, Report};
use model::dashboard::*;
use model::windows::Window;

const GENERATIONS: Query = Query {
    raw_rows: "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*),
           COUNT(*) FILTER (WHERE status = 'succeeded'),
           COUNT(*) FILTER (WHERE status = 'failed'),
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT)
    FROM generations
    WHERE created_at >= $1 AND created_at < $2",
    totals: "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(generations), 0) AS BIGINT),
           CAST(COALESCE(SUM(succeeded), 0) AS BIGINT),
           CAST(COALESCE(SUM(failed), 0) AS BIGINT),
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT)
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2",
};

/// Counts and cost over today, this month, the last 7 days and the last 24 hours.
pub(super) struct Generations {
    windows: [Window; 4],
    totals: [GenerationTotals; 4],
    health: HealthThresholds,
}

impl Generations {
    pub fn new(report: &Report) -> Generations {
        let windows = &report.windows;
        Generations {
            windows: [
                windows.today,
                windows.this_month,
                windows.last_7_days,
                windows.last_24h,
            ],
            totals: Default::default(),
            health: report.settings.health,
        }
    }
}

impl Figure for Generations {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.windows(&self.windows, GENERATIONS);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        match self.totals.get_mut(row.window()?) {
            Some(totals) => totals.add_row(row),
            None => Ok(()),
        }
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        let [today, month, week, day] = self.totals;
        let cards = &mut stats.today_stats;
        cards.generations = today.generations;
        cards.successful = today.succeeded;
        cards.failed = today.failed;
        cards.cost = today.cost;

        let summary = &mut stats.month_stats;
        summary.generations = month.generations;
        summary.successful = month.succeeded;
        summary.failed = month.failed;
        summary.cost = month.cost;
        summary.success_rate = success_rate(month.succeeded, month.failed);
        summary.average_cost = average_cost(month.cost, month.generations);

        stats.success_rate = success_rate(week.succeeded, week.failed);

        stats.system_health = SystemHealth {
            status: health_status(day.succeeded, day.failed, self.health),
            tasks_last_24h: day.generations,
            failure_last_24h: day.failed,
            failure_rate: percent_of(day.failed, day.succeeded),
        };
    }
}
