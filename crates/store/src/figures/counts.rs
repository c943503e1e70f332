//! Counts and cost of generations, as the generations, providers and trend figures read
//! them: the four integer columns of their parts.

use super::statement::{Int, Row};
use model::dashboard::{Money, TrendCounts};

const GENERATIONS: Int = Int::column(0);
const SUCCEEDED: Int = Int::column(1);
const FAILED: Int = Int::column(2);
const COST_MICROS: Int = Int::column(3);

/// Counts and cost of the generations created in a window.
#[derive(Debug, Default)]
pub(super) struct GenerationTotals {
    pub generations: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cost: Money,
}

impl GenerationTotals {
    /// Adds (`row.sign()` 1) or takes away (-1) the counts and cost of `row`.
    pub fn add_row(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let sign = row.sign()?;
        self.generations = summed(self.generations, row.int(GENERATIONS)?, sign)?;
        self.succeeded = summed(self.succeeded, row.int(SUCCEEDED)?, sign)?;
        self.failed = summed(self.failed, row.int(FAILED)?, sign)?;
        let cost = summed(self.cost.micros(), row.int(COST_MICROS)?, sign)?;
        self.cost = Money::from_micros(cost);
        Ok(())
    }

    pub fn by_status(&self) -> TrendCounts {
        TrendCounts {
            succeeded: self.succeeded,
            failed: self.failed,
            pending: self.generations - self.succeeded - self.failed,
            cost: self.cost,
        }
    }
}

/// `total` plus `sign` times `part`, checked. The store keeps every sum of amounts within
/// `i64` (`crate::totals::grand`); a total out of range is a database that broke that.
pub(super) fn summed(total: i64, part: i64, sign: i64) -> Result<i64, sqlx::Error> {
    part.checked_mul(sign)
        .and_then(|part| total.checked_add(part))
        .ok_or_else(|| sqlx::Error::Decode("a sum of the stored totals is out of range".into()))
}
