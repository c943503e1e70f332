//! Generations, their outcomes and cost: today's and this month's cards, the success rate
//! of the last 7 days and the health of the last 24 hours.

use super::counts::{CountColumns, GenerationTotals};
use super::statement::{Ask, Column, Columns, Query, Row};
use super::{Figure, Report};
use model::dashboard::*;
use model::windows::Window;

const COUNTS: Columns = Columns::new(&[
    Column::int("generations"),
    Column::int("succeeded"),
    Column::int("failed"),
    Column::int("cost_micros"),
]);
const COUNT_COLUMNS: CountColumns = CountColumns::of(COUNTS);

const GENERATIONS: Query = Query {
    columns: COUNTS,
    raw_rows: "
    SELECT COUNT(*) AS generations,
           COUNT(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           COUNT(*) FILTER (WHERE status = 'failed') AS failed,
           COALESCE(SUM(cost_micros), 0) AS cost_micros
    FROM generations
    WHERE created_at >= $1 AND created_at < $2",
    totals: "
    SELECT COALESCE(SUM(generations), 0) AS generations,
           COALESCE(SUM(succeeded), 0) AS succeeded,
           COALESCE(SUM(failed), 0) AS failed,
           COALESCE(SUM(cost_micros), 0) AS cost_micros
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
            Some(totals) => totals.add_row(row, &COUNT_COLUMNS),
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
