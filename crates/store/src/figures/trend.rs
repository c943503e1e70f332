//! The trends chart: generations by outcome and cost per provider in each bar, a local day
//! of the last 30 days or a day or hour of the chosen range.

use super::counts::GenerationTotals;
use super::statement::{Ask, Query, Row, Text};
use super::{in_zone, Figure, Report};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::dashboard::{DashboardStats, Trend, TrendStep};
use model::trend::TrendBar;
use model::windows::Window;
use std::collections::BTreeMap;

/// A bar's counts and cost by provider, from pieces of many bars at once: each row of
/// `VALUES {pieces}` is `(start, end, span, bar, sign)`, read as `piece.column1` to
/// `column5` (the names SQLite and PostgreSQL both give), and each of its buckets of `span`
/// from `start` to `end` adds up (sign 1) or takes away (-1) to bar `bar`. Each piece must
/// be one read of the primary key: `CROSS JOIN` makes SQLite loop over the pieces, its
/// reading connections make no automatic indexes (`crate::db`), and the statement's
/// settings keep PostgreSQL from a hash join (see `statement`). The raw rows' version reads
/// the rows created from `start` to `end` (`span` unused). Both give the tag columns
/// themselves (see [`Ask::bars`]).
const TREND: Query = Query {
    raw_rows: "
    SELECT CAST({figure} AS BIGINT), piece.column4, CAST(1 AS BIGINT),
           g.provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(SUM(piece.column5) AS BIGINT),
           CAST(SUM(CASE WHEN g.status = 'succeeded' THEN piece.column5 ELSE 0 END) AS BIGINT),
           CAST(SUM(CASE WHEN g.status = 'failed' THEN piece.column5 ELSE 0 END) AS BIGINT),
           CAST(SUM(piece.column5 * g.cost_micros) AS BIGINT)
    FROM (VALUES {pieces}) piece
    CROSS JOIN generations g
    WHERE g.created_at >= piece.column1 AND g.created_at < piece.column2
    GROUP BY piece.column4, g.provider",
    totals: "
    SELECT CAST({figure} AS BIGINT), piece.column4, CAST(1 AS BIGINT),
           t.provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(SUM(piece.column5 * t.generations) AS BIGINT),
           CAST(SUM(piece.column5 * t.succeeded) AS BIGINT),
           CAST(SUM(piece.column5 * t.failed) AS BIGINT),
           CAST(SUM(piece.column5 * t.cost_micros) AS BIGINT)
    FROM (VALUES {pieces}) piece
    CROSS JOIN generation_totals t
    WHERE t.span = piece.column3 AND t.bucket >= piece.column1 AND t.bucket < piece.column2
    GROUP BY piece.column4, t.provider",
};
const PROVIDER: Text = Text::column(0);

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
            Some(bar) => bar.entry(row.text(PROVIDER)?).or_default().add_row(row),
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
