//! The grand totals (`migrations/0009_grand_totals.sql`): the cost and credits charged of all
//! generations and the balances of all users. Every money total and figure sums a part of
//! one of them (amounts are never negative), so keeping them within `i64` keeps every sum
//! within it: an event that would take one past is rejected instead.

use model::dashboard::group_thousands;
use sqlx::{AnyConnection, Row};

const COST: &str = "cost_micros";
const CREDITS_CHARGED: &str = "credits_charged";
const BALANCES: &str = "balances";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrandTotals {
    pub cost_micros: i64,
    pub credits_charged: i64,
    pub balances: i64,
}

/// Which grand total an event would take past the largest sum kept (`i64::MAX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Overflow {
    #[error("cost_usd: the cost of all generations would exceed the largest sum kept, ${}.{:06}", group_thousands((i64::MAX / 1_000_000) as u64), i64::MAX % 1_000_000)]
    Cost,
    #[error("credits: the credits charged for all generations would exceed the largest sum kept, {}", group_thousands(i64::MAX as u64))]
    CreditsCharged,
    #[error("credits: the balances of all users would exceed the largest sum kept, {}", group_thousands(i64::MAX as u64))]
    Balances,
}

/// `total` with `old` (a part of it) replaced by `new`, if that fits.
fn replaced(total: i64, old: i64, new: i64) -> Option<i64> {
    total.checked_sub(old)?.checked_add(new)
}

impl GrandTotals {
    pub async fn read(conn: &mut AnyConnection) -> Result<GrandTotals, sqlx::Error> {
        let mut totals = GrandTotals::default();
        for row in sqlx::query("SELECT name, total FROM grand_totals")
            .fetch_all(&mut *conn)
            .await?
        {
            let name: String = row.try_get("name")?;
            let total = row.try_get("total")?;
            match name.as_str() {
                COST => totals.cost_micros = total,
                CREDITS_CHARGED => totals.credits_charged = total,
                BALANCES => totals.balances = total,
                _ => {}
            }
        }
        Ok(totals)
    }

    /// A generation's cost and credits change from `old` to `new` (each `(cost_micros,
    /// credits)`, zero for none); nothing changes when a total would overflow.
    pub fn replace_generation(&mut self, old: (i64, i64), new: (i64, i64)) -> Result<(), Overflow> {
        let cost = replaced(self.cost_micros, old.0, new.0).ok_or(Overflow::Cost)?;
        let credits =
            replaced(self.credits_charged, old.1, new.1).ok_or(Overflow::CreditsCharged)?;
        (self.cost_micros, self.credits_charged) = (cost, credits);
        Ok(())
    }

    /// A user's balance changes from `old` to `new`.
    pub fn replace_balance(&mut self, old: i64, new: i64) -> Result<(), Overflow> {
        self.balances = replaced(self.balances, old, new).ok_or(Overflow::Balances)?;
        Ok(())
    }

    /// Stores the totals that differ from `before` (in the batch's transaction).
    pub async fn write(
        self,
        before: GrandTotals,
        conn: &mut AnyConnection,
    ) -> Result<(), sqlx::Error> {
        for (name, total, was) in [
            (COST, self.cost_micros, before.cost_micros),
            (
                CREDITS_CHARGED,
                self.credits_charged,
                before.credits_charged,
            ),
            (BALANCES, self.balances, before.balances),
        ] {
            if total != was {
                sqlx::query("UPDATE grand_totals SET total = $2 WHERE name = $1")
                    .bind(name)
                    .bind(total)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_that_would_overflow_is_refused_and_left_as_it_was() {
        let mut totals = GrandTotals {
            cost_micros: i64::MAX - 10,
            credits_charged: 5,
            balances: i64::MAX,
        };
        assert_eq!(
            totals.replace_generation((0, 0), (11, 1)),
            Err(Overflow::Cost)
        );
        assert_eq!(totals.credits_charged, 5, "nothing changed");
        // Replacing a part by a larger one: only the difference is added.
        totals.replace_generation((20, 1), (30, 2)).unwrap();
        assert_eq!((totals.cost_micros, totals.credits_charged), (i64::MAX, 6));
        assert_eq!(totals.replace_balance(0, 1), Err(Overflow::Balances));
        totals.replace_balance(7, 7).unwrap();
        assert_eq!(
            Overflow::Cost.to_string(),
            "cost_usd: the cost of all generations would exceed the largest sum kept, $9,223,372,036,854.775807"
        );
    }
}
