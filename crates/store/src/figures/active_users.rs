//! Users with a generation today.
//!
//! From the totals: users whose newest generation is today (counted into the totals as it
//! moves), plus those with a newer one that also have one today.

use super::statement::{Ask, Column, Columns, Int, Query, Row};
use super::{Figure, Report};
use crate::parts::range;
use crate::parts::Source;
use model::dashboard::DashboardStats;
use model::windows::Window;

/// Every query of the figure counts users.
const COUNTED: Columns = Columns::new(&[Column::int("users")]);
const USERS: Int = COUNTED.int("users");

const ACTIVE_USERS: &str = "
    SELECT COUNT(DISTINCT user_id) AS users
    FROM generations WHERE created_at >= $1 AND created_at < $2";

/// Users whose newest generation is in the window...
const NEWEST_IN: Query = Query {
    columns: COUNTED,
    raw_rows: "
    SELECT COUNT(*) AS users
    FROM users WHERE last_generation_at >= $1 AND last_generation_at < $2",
    totals: "
    SELECT COALESCE(SUM(users), 0) AS users
    FROM activity_totals WHERE span = $3 AND bucket >= $1 AND bucket < $2",
};

/// ...and those with a newer one (few, unless the window ends in the past) that also have
/// one in the window. Written for a plan made without the values (see `statement`): the
/// upper bound makes it read the index of `last_generation_at`, and `OFFSET 0` keeps the
/// check a lookup per user, where a join could read all of the window's generations.
const NEWER_BUT_ACTIVE_IN: &str = "
    SELECT COUNT(*) AS users
    FROM users u
    WHERE u.last_generation_at BETWEEN $2 AND 9223372036854775807
      AND EXISTS (SELECT 1 FROM generations g
                  WHERE g.user_id = u.id AND g.created_at >= $1 AND g.created_at < $2
                  LIMIT 1 OFFSET 0)";

/// Today's active users.
pub(super) struct ActiveUsers {
    today: Window,
    users: i64,
}

impl ActiveUsers {
    pub fn new(report: &Report) -> ActiveUsers {
        ActiveUsers {
            today: report.windows.today,
            users: 0,
        }
    }
}

impl Figure for ActiveUsers {
    fn ask(&self, ask: &mut Ask<'_>) {
        let (start, end) = range(self.today);
        match ask.source() {
            Source::Totals => {
                ask.windows(&[self.today], NEWEST_IN);
                ask.once(COUNTED, NEWER_BUT_ACTIVE_IN, &[start, end]);
            }
            Source::RawRows => ask.once(COUNTED, ACTIVE_USERS, &[start, end]),
        }
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        self.users += row.sign()? * row.int(USERS)?;
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        stats.today_stats.active_users = self.users;
    }
}
