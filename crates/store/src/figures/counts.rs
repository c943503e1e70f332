//! Counts and cost of generations, as the generations, providers and trend figures read
//! them: the columns `generations`, `succeeded`, `failed` and `cost_micros` of their parts.

use super::statement::{Column, Columns, Int, Row, Text};
use model::dashboard::{Money, TrendCounts};

/// A provider's counts and cost: the rows of the providers' table and of the trend's bars.
pub(super) const BY_PROVIDER: Columns = Columns::new(&[
    Column::text("provider"),
    Column::int("generations"),
    Column::int("succeeded"),
    Column::int("failed"),
    Column::int("cost_micros"),
]);
pub(super) const PROVIDER: Text = BY_PROVIDER.text("provider");
pub(super) const PROVIDER_COUNTS: CountColumns = CountColumns::of(BY_PROVIDER);

/// The columns of the counts and cost in a query's declaration.
pub(super) struct CountColumns {
    generations: Int,
    succeeded: Int,
    failed: Int,
    cost_micros: Int,
}

impl CountColumns {
    /// Those of `columns`, which must declare all four.
    pub const fn of(columns: Columns) -> CountColumns {
        CountColumns {
            generations: columns.int("generations"),
            succeeded: columns.int("succeeded"),
            failed: columns.int("failed"),
            cost_micros: columns.int("cost_micros"),
        }
    }
}

/// Counts and cost of the generations created in a window.
#[derive(Debug, Default)]
pub(super) struct GenerationTotals {
    pub generations: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cost: Money,
}

impl GenerationTotals {
    /// Adds (`row.sign()` 1) or takes away (-1) the counts and cost of `row`, read from
    /// its `columns`.
    pub fn add_row(&mut self, row: &Row, columns: &CountColumns) -> Result<(), sqlx::Error> {
        let sign = row.sign()?;
        self.generations = summed(self.generations, row.int(columns.generations)?, sign)?;
        self.succeeded = summed(self.succeeded, row.int(columns.succeeded)?, sign)?;
        self.failed = summed(self.failed, row.int(columns.failed)?, sign)?;
        let cost = summed(self.cost.micros(), row.int(columns.cost_micros)?, sign)?;
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
