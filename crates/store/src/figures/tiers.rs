//! Credits by tier: the users now in each tier and their balances, and the credits
//! consumed this month by users now in the tier.

use super::counts::summed;
use super::statement::{Ask, Column, Columns, Int, Query, Row, Text};
use super::{Figure, Report};
use crate::parts::Source;
use model::dashboard::{CreditsByTier, DashboardStats, Tier, UserStats};
use model::windows::Window;

/// Users, their balances and those with any credits, by tier: from the users or from the
/// balance totals, which hold the same now.
const BALANCES: Columns = Columns::new(&[
    Column::text("tier"),
    Column::int("users"),
    Column::int("credits"),
    Column::int("users_with_credits"),
]);
const TIER: Text = BALANCES.text("tier");
const USERS: Int = BALANCES.int("users");
const CREDITS: Int = BALANCES.int("credits");
const USERS_WITH_CREDITS: Int = BALANCES.int("users_with_credits");

const BALANCES_BY_TIER: &str = "
    SELECT tier,
           COUNT(*) AS users,
           COALESCE(SUM(credits), 0) AS credits,
           COUNT(*) FILTER (WHERE credits > 0) AS users_with_credits
    FROM users
    GROUP BY tier";

const BALANCE_TOTALS_BY_TIER: &str = "
    SELECT tier, users, credits, users_with_credits FROM balance_totals";

/// Credits consumed by tier.
const CONSUMPTION: Columns = Columns::new(&[Column::text("tier"), Column::int("consumed")]);
const CONSUMED_TIER: Text = CONSUMPTION.text("tier");
const CONSUMED: Int = CONSUMPTION.int("consumed");

/// Credits charged minus refunded for the window's generations, by the user's tier now.
const CONSUMED_BY_TIER: &str = "
    SELECT u.tier AS tier,
           COALESCE(SUM(g.credits), 0) - COALESCE(SUM(r.credits), 0) AS consumed
    FROM generations g
    JOIN users u ON u.id = g.user_id
    LEFT JOIN refunds r ON r.generation_id = g.id
    WHERE g.created_at >= $1 AND g.created_at < $2
    GROUP BY u.tier";

/// The tier the totals count the generation `g` under (the counted tier,
/// `crate::totals::tier_changes`), read by key: its user's tier now, or the tier it moves
/// from while a move of the user's history has not reached it.
macro_rules! counted_tier_of_g {
    () => {
        "(SELECT CASE WHEN g.created_at > p.moved_up_to THEN p.from_tier ELSE u.tier END
          FROM users u LEFT JOIN pending_tier_moves p ON p.user_id = u.id
          WHERE u.id = g.user_id)"
    };
}
pub(super) use counted_tier_of_g;

/// The same for the minutes of raw rows at a window's edge, each row's tier read by key and
/// its refund from the row itself (`refunded_credits`): the plan PostgreSQL makes without
/// the range's values (see `statement`) so reads only those rows, where a join may be
/// planned as a scan of `users`. The tier is the one the totals count the row under (the
/// counted tier, `crate::totals::tier_changes`), so that edges and totals agree while a
/// tier move is pending.
const CONSUMED_BY_TIER_AT_EDGE: &str = concat!(
    "SELECT ",
    counted_tier_of_g!(),
    " AS tier,
           COALESCE(SUM(g.credits - COALESCE(g.refunded_credits, 0)), 0) AS consumed
    FROM generations g
    WHERE g.created_at >= $1 AND g.created_at < $2
    GROUP BY 1"
);

const CONSUMED_TOTALS_BY_TIER: &str = "
    SELECT tier, SUM(consumed) AS consumed
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY tier";

/// Users and balances by tier, as of now whatever the windows.
#[derive(Default)]
pub(super) struct Balances {
    users: UserStats,
}

impl Figure for Balances {
    fn ask(&self, ask: &mut Ask<'_>) {
        match ask.source() {
            Source::Totals => ask.once(BALANCES, BALANCE_TOTALS_BY_TIER, &[]),
            Source::RawRows => ask.once(BALANCES, BALANCES_BY_TIER, &[]),
        }
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let Some(tier) = Tier::parse(&row.text::<String>(TIER)?) else {
            return Ok(());
        };
        let credits = row.int(CREDITS)?;
        let entry = self.users.credits_by_tier.get_mut(tier);
        entry.count = row.int(USERS)?;
        entry.total_credits = credits;
        self.users.users_with_credits += row.int(USERS_WITH_CREDITS)?;
        let circulating = &mut self.users.total_credits_in_circulation;
        *circulating = summed(*circulating, credits, 1)?;
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        let into = &mut stats.user_stats;
        into.users_with_credits = self.users.users_with_credits;
        into.total_credits_in_circulation = self.users.total_credits_in_circulation;
        for tier in Tier::ALL {
            let from = self.users.credits_by_tier.get(tier);
            let to = into.credits_by_tier.get_mut(tier);
            to.count = from.count;
            to.total_credits = from.total_credits;
        }
    }
}

/// Credits consumed this month, by tier.
pub(super) struct Consumed {
    this_month: Window,
    by_tier: CreditsByTier,
}

impl Consumed {
    pub fn new(report: &Report) -> Consumed {
        Consumed {
            this_month: report.windows.this_month,
            by_tier: CreditsByTier::default(),
        }
    }
}

impl Figure for Consumed {
    fn ask(&self, ask: &mut Ask<'_>) {
        let raw_rows = match ask.source() {
            Source::Totals => CONSUMED_BY_TIER_AT_EDGE,
            Source::RawRows => CONSUMED_BY_TIER,
        };
        let query = Query {
            columns: CONSUMPTION,
            raw_rows,
            totals: CONSUMED_TOTALS_BY_TIER,
        };
        ask.windows(&[self.this_month], query);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let tier: Option<String> = row.text(CONSUMED_TIER)?;
        if let Some(tier) = tier.as_deref().and_then(Tier::parse) {
            let consumed = &mut self.by_tier.get_mut(tier).total_consumed;
            *consumed = summed(*consumed, row.int(CONSUMED)?, row.sign()?)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        for tier in Tier::ALL {
            stats
                .user_stats
                .credits_by_tier
                .get_mut(tier)
                .total_consumed = self.by_tier.get(tier).total_consumed;
        }
    }
}
