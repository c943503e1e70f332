//! The trends chart: generations by outcome and cost per provider in each bar, a local day
//! of the last 30 days or a day or hour of the chosen range.

use super::counts::{GenerationTotals, BY_PROVIDER, PROVIDER, PROVIDER_COUNTS};
use super::statement::{Ask, Bars, Row};
use super::{Figure, Report};
use crate::report::in_zone;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::dashboard::{DashboardStats, Trend, TrendStep};
use model::trend::TrendBar;
use model::windows::Window;
use std::collections::BTreeMap;

/// A bar's counts and cost by provider, from the pieces of many bars at once (see
/// [`Bars`]). Each piece must be one read of the primary key: `CROSS JOIN` makes SQLite
/// loop over the pieces, its reading connections make no automatic indexes (`crate::db`),
/// and the statement's settings keep PostgreSQL from a hash join (see `statement`).
const TREND: Bars = Bars {
    columns: BY_PROVIDER,
    from_raw_rows: "
    SELECT piece.bar AS bar, g.provider AS provider,
           SUM(piece.sign) AS generations,
           SUM(CASE WHEN g.status = 'succeeded' THEN piece.sign ELSE 0 END) AS succeeded,
           SUM(CASE WHEN g.status = 'failed' THEN piece.sign ELSE 0 END) AS failed,
           SUM(piece.sign * g.cost_micros) AS cost_micros
    FROM piece
    CROSS JOIN generations g
    WHERE g.created_at >= piece.start_micros AND g.created_at < piece.end_micros
    GROUP BY piece.bar, g.provider",
    from_totals: "
    SELECT piece.bar AS bar, t.provider AS provider,
           SUM(piece.sign * t.generations) AS generations,
           SUM(piece.sign * t.succeeded) AS succeeded,
           SUM(piece.sign * t.failed) AS failed,
           SUM(piece.sign * t.cost_micros) AS cost_micros
    FROM piece
    CROSS JOIN generation_totals t
    WHERE t.span = piece.span AND t.bucket >= piece.start_micros
      AND t.bucket < piece.end_micros
    GROUP BY piece.bar, t.provider",
};

/// Counts and cost per provider in each bar.
pub(super) struct TrendBars {
    step: TrendStep,
    bars: Vec<Window>,
    end: DateTime<Utc>,
    zone: Tz,
    counts: Vec<BTreeMap<String, GenerationTotals>>,
}

impl TrendBars {
    pub fn new(report: &Report) -> TrendBars {
        let window = report.windows.trend;
        let zone = report.settings.time_zone;
        let step = TrendStep::for_length(window.end - window.start);
        let bars = window.bars(zone, step);
        TrendBars {
            step,
            counts: bars.iter().map(|_| BTreeMap::new()).collect(),
            bars,
            end: window.end,
            zone,
        }
    }
}

impl Figure for TrendBars {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.bars(&self.bars, TREND);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        match self.counts.get_mut(row.window()?) {
            Some(bar) => bar
                .entry(row.text(PROVIDER)?)
                .or_default()
                .add_row(row, &PROVIDER_COUNTS),
            None => Ok(()),
        }
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        let zone = self.zone;
        stats.trend = Trend {
            step: self.step,
            bars: self
                .bars
                .iter()
                .zip(self.counts)
                .map(|(bar, providers)| TrendBar {
                    start: in_zone(bar.start, zone),
                    providers: providers
                        .into_iter()
                        .filter(|(_, t)| t.generations != 0)
                        .map(|(name, t)| (name, t.by_status()))
                        .collect(),
                })
                .collect(),
            end: in_zone(self.end, zone),
        };
    }
}
