//! Latency percentiles per provider over the last 30 days, from histograms: each finished
//! generation's `completed_at − created_at` falls in a bin an eighth of a doubling wide
//! (`migrations/0007`), so that buckets of time add up and a window's median and 95th
//! percentile cost what its counts do.

use super::statement::{Ask, Column, Columns, Int, Query, Row, Text};
use super::{Figure, Finish, Report};
use crate::latency_bins::BIN_EDGES;
use model::dashboard::DashboardStats;
use model::windows::Window;
use std::collections::BTreeMap;

const BY_BIN: Columns = Columns::new(&[
    Column::text("provider"),
    Column::int("bin"),
    Column::int("generations"),
]);
const PROVIDER: Text = BY_BIN.text("provider");
const BIN: Int = BY_BIN.int("bin");
const GENERATIONS: Int = BY_BIN.int("generations");

/// Finished generations per provider and latency bin.
const LATENCY: Query = Query {
    columns: BY_BIN,
    raw_rows: "
    SELECT g.provider AS provider,
           (SELECT MAX(b.bin) FROM latency_bins b
            WHERE b.lower_micros <= g.completed_at - g.created_at OR b.bin = 0) AS bin,
           COUNT(*) AS generations
    FROM generations g
    WHERE g.created_at >= $1 AND g.created_at < $2
      AND g.status <> 'pending' AND g.completed_at IS NOT NULL
    GROUP BY 1, 2",
    totals: "
    SELECT provider, bin, SUM(generations) AS generations
    FROM latency_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY provider, bin",
};

/// Each provider's histogram over the last 30 days: it fills in the percentiles of the
/// providers [`super::providers`] wrote.
pub(super) struct Latency {
    last_30_days: Window,
    /// Provider → bin → finished generations.
    bins: BTreeMap<String, BTreeMap<i64, i64>>,
}

impl Latency {
    pub fn new(report: &Report) -> Latency {
        Latency {
            last_30_days: report.windows.last_30_days,
            bins: BTreeMap::new(),
        }
    }
}

impl Figure for Latency {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.windows(&[self.last_30_days], LATENCY);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        *self
            .bins
            .entry(row.text(PROVIDER)?)
            .or_default()
            .entry(row.int(BIN)?)
            .or_default() += row.sign()? * row.int(GENERATIONS)?;
        Ok(())
    }

    /// It fills in the percentiles of the providers the providers' figure wrote.
    fn finishes(&self) -> Finish {
        Finish::AfterTheOthers
    }

    fn finish(mut self: Box<Self>, stats: &mut DashboardStats) {
        for provider in &mut stats.providers {
            let bins = self.bins.remove(&provider.name).unwrap_or_default();
            provider.latency_p50_ms = percentile_ms(&bins, 0.5);
            provider.latency_p95_ms = percentile_ms(&bins, 0.95);
        }
    }
}

/// The latency a bin stands for, in milliseconds: its geometric middle (within 4.5 % of any
/// latency in it), half a millisecond for bin 0, the lower edge for the open-ended last.
fn bin_value_ms(bin: i64) -> f64 {
    let edges = &*BIN_EDGES;
    match usize::try_from(bin) {
        Ok(0) | Err(_) => 0.5,
        Ok(k) if k + 1 < edges.len() => (edges[k] as f64 * edges[k + 1] as f64).sqrt() / 1000.0,
        Ok(_) => *edges.last().unwrap_or(&0) as f64 / 1000.0,
    }
}

/// The `q`-quantile (0 < q ≤ 1) of the latencies counted in `bins` (bin → generations), in
/// milliseconds: the bin where the ⌈q·n⌉-th smallest latency falls. `None` without any.
pub fn percentile_ms(bins: &BTreeMap<i64, i64>, q: f64) -> Option<f64> {
    let total: i64 = bins.values().sum();
    if total <= 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    bins.iter().find_map(|(&bin, &count)| {
        seen += count;
        (seen >= rank).then(|| bin_value_ms(bin))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency_bins::{bin_of, BINS};

    #[test]
    fn edges_are_those_of_the_migration() {
        let migration = include_str!("../../../../migrations/0007_latency_totals.sql");
        let stored: Vec<i64> = migration
            .lines()
            .filter_map(|line| line.trim().strip_prefix('('))
            .filter_map(|row| row.trim_end_matches([')', ',', ';']).split_once(", "))
            .map(|(_, lower)| lower.parse().unwrap())
            .collect();
        assert_eq!(stored, *BIN_EDGES);
    }

    #[test]
    fn a_latency_falls_in_the_bin_that_holds_it() {
        assert_eq!(bin_of(-5), 0, "a completion before its creation");
        assert_eq!(bin_of(999), 0);
        assert_eq!(bin_of(1000), 1);
        assert_eq!(bin_of(1090), 1);
        assert_eq!(bin_of(1091), 2);
        assert_eq!(bin_of(2000), 9, "a doubling is eight bins");
        assert_eq!(bin_of(i64::MAX), BINS as i64 - 1);
        for micros in [1_000, 20_000_000, 95_000_000, 3_600_000_000] {
            let value = bin_value_ms(bin_of(micros)) * 1000.0;
            let error = (value - micros as f64).abs() / micros as f64;
            assert!(error < 0.045, "{micros} µs read as {value}");
        }
    }

    #[test]
    fn percentiles_pick_the_bin_of_their_rank() {
        let mut bins = BTreeMap::new();
        assert_eq!(percentile_ms(&bins, 0.5), None);
        // 10 generations: 9 at about 2 s, one at about 60 s.
        bins.insert(bin_of(2_000_000), 9);
        bins.insert(bin_of(60_000_000), 1);
        let median = percentile_ms(&bins, 0.5).unwrap();
        assert!((median - 2000.0).abs() < 90.0, "{median}");
        let p95 = percentile_ms(&bins, 0.95).unwrap();
        assert!((p95 - 60_000.0).abs() < 2_700.0, "{p95}: the 10th of 10");
        assert_eq!(
            percentile_ms(&bins, 0.9),
            percentile_ms(&bins, 0.5),
            "the 9th of 10"
        );
        // Counts taken away by a window's edges never leave a negative total behind.
        bins.insert(bin_of(2_000_000), 0);
        bins.insert(bin_of(60_000_000), 0);
        assert_eq!(percentile_ms(&bins, 0.5), None);
    }
}
