//! Generations over time: the trends chart's bars, one per local day, or per local hour for
//! ranges of up to two days, each split into succeeded, failed and pending, with its cost.

use super::money::Money;
use chrono::{DateTime, FixedOffset, TimeDelta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one bar covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrendStep {
    Hour,
    Day,
}

impl TrendStep {
    /// Hours for a window of up to two days (one of them may be 25 hours long), else days.
    pub fn for_length(length: TimeDelta) -> TrendStep {
        if length <= TimeDelta::hours(49) {
            TrendStep::Hour
        } else {
            TrendStep::Day
        }
    }
}

/// The chart's figures: every bar of the window, oldest first, empty ones included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trend {
    pub step: TrendStep,
    pub bars: Vec<TrendBar>,
    /// The instant after the last bar: now, or the end of the chosen range.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub end: DateTime<FixedOffset>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrendBar {
    /// Its first instant in the reporting time zone: a local midnight or hour, or for the
    /// first bar, the window's start. The bar ends where the next one starts. Its offset
    /// tells apart the two passes of an hour repeated when clocks go back.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub start: DateTime<FixedOffset>,
    /// The generations created in it, by provider; providers with none are left out.
    pub providers: BTreeMap<String, TrendCounts>,
}

/// Generations created in a bar by status now, and what they cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrendCounts {
    pub succeeded: i64,
    pub failed: i64,
    /// Created but not finished yet.
    pub pending: i64,
    pub cost: Money,
}

impl TrendCounts {
    pub fn generations(&self) -> i64 {
        self.succeeded + self.failed + self.pending
    }

    fn add(&mut self, other: &TrendCounts) {
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.pending += other.pending;
        self.cost = self.cost + other.cost;
    }
}

impl Trend {
    /// The providers with generations in the chart, busiest first, then by name.
    pub fn providers(&self) -> Vec<String> {
        let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
        for bar in &self.bars {
            for (name, counts) in &bar.providers {
                *totals.entry(name).or_default() += counts.generations();
            }
        }
        let mut busiest: Vec<(&str, i64)> = totals.into_iter().collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        busiest
            .into_iter()
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Each bar's counts for `provider`, or for all providers together.
    pub fn counts(&self, provider: Option<&str>) -> Vec<TrendCounts> {
        self.bars
            .iter()
            .map(|bar| match provider {
                Some(name) => bar.providers.get(name).copied().unwrap_or_default(),
                None => bar
                    .providers
                    .values()
                    .fold(TrendCounts::default(), |mut sum, c| {
                        sum.add(c);
                        sum
                    }),
            })
            .collect()
    }

    /// Where bar `index` ends.
    pub fn bar_end(&self, index: usize) -> DateTime<FixedOffset> {
        self.bars.get(index + 1).map_or(self.end, |next| next.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(succeeded: i64, failed: i64, pending: i64, cents: i64) -> TrendCounts {
        TrendCounts {
            succeeded,
            failed,
            pending,
            cost: Money::from_micros(cents * 10_000),
        }
    }

    fn bar(hour: u32, providers: &[(&str, TrendCounts)]) -> TrendBar {
        TrendBar {
            start: DateTime::parse_from_rfc3339(&format!("2026-11-03T{hour:02}:00:00+01:00"))
                .unwrap(),
            providers: providers
                .iter()
                .map(|(name, c)| (name.to_string(), *c))
                .collect(),
        }
    }

    #[test]
    fn hours_up_to_two_days_and_a_daylight_saving_hour_then_days() {
        assert_eq!(TrendStep::for_length(TimeDelta::hours(24)), TrendStep::Hour);
        assert_eq!(TrendStep::for_length(TimeDelta::hours(49)), TrendStep::Hour);
        assert_eq!(
            TrendStep::for_length(TimeDelta::hours(49) + TimeDelta::seconds(1)),
            TrendStep::Day
        );
        assert_eq!(TrendStep::for_length(TimeDelta::days(7)), TrendStep::Day);
    }

    #[test]
    fn bars_sum_the_providers_or_pick_one_and_providers_are_busiest_first() {
        let trend = Trend {
            step: TrendStep::Hour,
            bars: vec![
                bar(
                    9,
                    &[
                        ("Seedream", counts(1, 0, 0, 4)),
                        ("NanoBanana", counts(2, 1, 1, 10)),
                    ],
                ),
                bar(10, &[]),
                bar(11, &[("Seedream", counts(3, 0, 2, 12))]),
            ],
            end: DateTime::parse_from_rfc3339("2026-11-03T11:30:00+01:00").unwrap(),
        };
        assert_eq!(
            trend.counts(None),
            vec![counts(3, 1, 1, 14), counts(0, 0, 0, 0), counts(3, 0, 2, 12)]
        );
        assert_eq!(
            trend.counts(Some("NanoBanana")),
            vec![counts(2, 1, 1, 10), counts(0, 0, 0, 0), counts(0, 0, 0, 0)]
        );
        assert_eq!(
            trend.counts(Some("Unknown")),
            vec![TrendCounts::default(); 3]
        );
        assert_eq!(trend.providers(), ["Seedream", "NanoBanana"]);
        assert_eq!(trend.bar_end(0), trend.bars[1].start);
        assert_eq!(trend.bar_end(2), trend.end);
        assert_eq!(counts(3, 1, 1, 0).generations(), 5);
    }
}
