//! Usage per provider over the last 30 days, busiest first (their latency percentiles are
//! [`super::latency`]'s).

use super::counts::{GenerationTotals, BY_PROVIDER, PROVIDER, PROVIDER_COUNTS};
use super::statement::{Ask, Query, Row};
use super::{Figure, Report};
use model::dashboard::*;
use model::windows::Window;
use std::collections::BTreeMap;

const PROVIDERS: Query = Query {
    columns: BY_PROVIDER,
    raw_rows: "
    SELECT provider,
           COUNT(*) AS generations,
           COUNT(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           COUNT(*) FILTER (WHERE status = 'failed') AS failed,
           COALESCE(SUM(cost_micros), 0) AS cost_micros
    FROM generations
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY provider",
    totals: "
    SELECT provider,
           SUM(generations) AS generations,
           SUM(succeeded) AS succeeded,
           SUM(failed) AS failed,
           SUM(cost_micros) AS cost_micros
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY provider
    HAVING SUM(generations) <> 0",
};

/// Counts and cost per provider over the last 30 days.
pub(super) struct Providers {
    last_30_days: Window,
    by_provider: BTreeMap<String, GenerationTotals>,
}

impl Providers {
    pub fn new(report: &Report) -> Providers {
        Providers {
            last_30_days: report.windows.last_30_days,
            by_provider: BTreeMap::new(),
        }
    }
}

impl Figure for Providers {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.windows(&[self.last_30_days], PROVIDERS);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        self.by_provider
            .entry(row.text(PROVIDER)?)
            .or_default()
            .add_row(row, &PROVIDER_COUNTS)
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        stats.providers = self
            .by_provider
            .into_iter()
            // A quarter's total less its rows outside the window can leave nothing.
            .filter(|(_, t)| t.generations != 0)
            .map(|(name, t)| ProviderUsage {
                total_calls: t.generations,
                successful: t.succeeded,
                failed: t.failed,
                success_rate: success_rate(t.succeeded, t.failed),
                total_cost: t.cost,
                latency_p50_ms: None,
                latency_p95_ms: None,
                name,
            })
            .collect();
        sort_providers(&mut stats.providers);
    }
}
