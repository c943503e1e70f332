//! Users with a generation today.
//!
//! From the totals: users whose newest generation is today (counted into the totals as it
//! moves), plus those with a newer one that also have one today.

use super::parts::range;
use super::statement::{Ask, Int, Query, Row};
use super::{Figure, Report, Source};
use model::dashboard::DashboardStats;
use model::windows::Window;

const ACTIVE_USERS: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(DISTINCT user_id), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generations WHERE created_at >= $1 AND created_at < $2";

/// Users whose newest generation is in the window...
const NEWEST_IN: Query = Query {
    raw_rows: "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM users WHERE last_generation_at >= $1 AND last_generation_at < $2",
    totals: "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(users), 0) AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
           CAST(NULL AS BIGINT)
    FROM activity_totals WHERE span = $3 AND bucket >= $1 AND bucket < $2",
};

/// ...and those with a newer one (few, unless the window ends in the past) that also have
/// one in the window. Written for a plan made without the values (see `statement`): the
/// upper bound makes it read the index of `last_generation_at`, and `OFFSET 0` keeps the
/// check a lookup per user, where a join could read all of the window's generations.
const NEWER_BUT_ACTIVE_IN: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM users u
    WHERE u.last_generation_at BETWEEN $2 AND 9223372036854775807
      AND EXISTS (SELECT 1 FROM generations g
                  WHERE g.user_id = u.id AND g.created_at >= $1 AND g.created_at < $2
                  LIMIT 1 OFFSET 0)";

const USERS: Int = Int::column(0);

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
                ask.once(NEWER_BUT_ACTIVE_IN, &[start, end]);
            }
            Source::RawRows => ask.once(ACTIVE_USERS, &[start, end]),
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
