//! Revenue and margin this month or over the chosen range: credits consumed and cost per
//! provider and tier from the generation totals, valued at each tier's credit value.

use super::counts::summed;
use super::statement::{Ask, Column, Columns, Int, Query, Row, Text};
use super::tiers::counted_tier_of_g;
use super::{Figure, Report};
use crate::parts::Source;
use model::dashboard::{DashboardStats, Money, Tier};
use model::margin::{Consumption, CreditValues, Margin};
use model::windows::Window;
use std::collections::BTreeMap;

const CONSUMPTION: Columns = Columns::new(&[
    Column::text("provider"),
    Column::text("tier"),
    Column::int("consumed"),
    Column::int("cost_micros"),
    Column::int("generations"),
]);
const PROVIDER: Text = CONSUMPTION.text("provider");
const TIER: Text = CONSUMPTION.text("tier");
const CONSUMED: Int = CONSUMPTION.int("consumed");
const COST_MICROS: Int = CONSUMPTION.int("cost_micros");
const GENERATIONS: Int = CONSUMPTION.int("generations");

/// The straightforward SQL: every generation of the window with its user's tier now and
/// its refund.
const BY_PROVIDER_AND_TIER: &str = "
    SELECT g.provider AS provider, u.tier AS tier,
           COALESCE(SUM(g.credits), 0) - COALESCE(SUM(r.credits), 0) AS consumed,
           COALESCE(SUM(g.cost_micros), 0) AS cost_micros,
           COUNT(*) AS generations
    FROM generations g
    JOIN users u ON u.id = g.user_id
    LEFT JOIN refunds r ON r.generation_id = g.id
    WHERE g.created_at >= $1 AND g.created_at < $2
    GROUP BY g.provider, u.tier";

/// The same for the minutes of raw rows at a window's edge, each row's tier (the counted
/// tier) read by key and its refund from the row itself (see
/// `tiers::CONSUMED_BY_TIER_AT_EDGE` for why not a join, and why that tier).
const BY_PROVIDER_AND_TIER_AT_EDGE: &str = concat!(
    "SELECT g.provider AS provider, ",
    counted_tier_of_g!(),
    " AS tier,
           COALESCE(SUM(g.credits - COALESCE(g.refunded_credits, 0)), 0) AS consumed,
           COALESCE(SUM(g.cost_micros), 0) AS cost_micros,
           COUNT(*) AS generations
    FROM generations g
    WHERE g.created_at >= $1 AND g.created_at < $2
    GROUP BY 1, 2"
);

const TOTALS_BY_PROVIDER_AND_TIER: &str = "
    SELECT provider, tier,
           SUM(consumed) AS consumed,
           SUM(cost_micros) AS cost_micros,
           SUM(generations) AS generations
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY provider, tier";

/// Credits consumed and cost per provider and tier this month (or over the range), and the
/// margin they make at the tiers' credit values.
pub(super) struct MarginFigure {
    this_month: Window,
    values: CreditValues,
    /// With the generations behind each, to leave out what the window does not hold.
    consumption: BTreeMap<(String, Tier), (Consumption, i64)>,
}

impl MarginFigure {
    pub fn new(report: &Report) -> MarginFigure {
        MarginFigure {
            this_month: report.windows.this_month,
            values: report.settings.credit_values,
            consumption: BTreeMap::new(),
        }
    }
}

impl Figure for MarginFigure {
    fn ask(&self, ask: &mut Ask<'_>) {
        // Unset values make no margin: nothing to read.
        if !self.values.unset().is_empty() {
            return;
        }
        let raw_rows = match ask.source() {
            Source::Totals => BY_PROVIDER_AND_TIER_AT_EDGE,
            Source::RawRows => BY_PROVIDER_AND_TIER,
        };
        let query = Query {
            columns: CONSUMPTION,
            raw_rows,
            totals: TOTALS_BY_PROVIDER_AND_TIER,
        };
        ask.windows(&[self.this_month], query);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let tier: Option<String> = row.text(TIER)?;
        let Some(tier) = tier.as_deref().and_then(Tier::parse) else {
            return Ok(());
        };
        let sign = row.sign()?;
        let (entry, generations) = self
            .consumption
            .entry((row.text(PROVIDER)?, tier))
            .or_default();
        *generations = summed(*generations, row.int(GENERATIONS)?, sign)?;
        entry.credits = summed(entry.credits, row.int(CONSUMED)?, sign)?;
        let cost = summed(entry.cost.micros(), row.int(COST_MICROS)?, sign)?;
        entry.cost = Money::from_micros(cost);
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        stats.credit_values_unset = self.values.unset();
        // A quarter's total less its rows outside the window can leave nothing.
        let consumption = self
            .consumption
            .into_iter()
            .filter(|(_, (_, generations))| *generations != 0)
            .map(|(key, (used, _))| (key, used))
            .collect();
        stats.margin = Margin::of(&consumption, &self.values);
    }
}
