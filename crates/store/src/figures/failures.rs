//! The newest failed generations of the last 7 days, at most [`RECENT_FAILURES_LIMIT`].

use super::statement::{Ask, Column, Columns, Int, Row, Text};
use super::{Figure, Report};
use crate::parts::range;
use crate::report::{from_micros, in_zone};
use chrono_tz::Tz;
use model::dashboard::{DashboardStats, RecentFailure, RECENT_FAILURES_LIMIT};
use model::windows::Window;

/// A failed generation: the recent failures' rows and the error groups' failures.
pub(super) const FAILURE: Columns = Columns::new(&[
    Column::text("id"),
    Column::text("provider"),
    Column::text("error"),
    Column::int("created_at"),
]);
pub(super) const ID: Text = FAILURE.text("id");
pub(super) const PROVIDER: Text = FAILURE.text("provider");
pub(super) const ERROR: Text = FAILURE.text("error");
pub(super) const CREATED_AT: Int = FAILURE.int("created_at");

const RECENT_FAILURES: &str = "
    SELECT id, provider, error, created_at
    FROM generations
    WHERE status = 'failed' AND created_at >= $1 AND created_at < $2
    ORDER BY created_at DESC, id DESC
    LIMIT $3";

/// A failure as read: created at (microseconds), id, provider, error.
type Failure = (i64, String, String, Option<String>);

/// The last 7 days' newest failures.
pub(super) struct RecentFailures {
    last_7_days: Window,
    zone: Tz,
    failures: Vec<Failure>,
}

impl RecentFailures {
    pub fn new(report: &Report) -> RecentFailures {
        RecentFailures {
            last_7_days: report.windows.last_7_days,
            zone: report.settings.time_zone,
            failures: Vec::new(),
        }
    }
}

impl Figure for RecentFailures {
    fn ask(&self, ask: &mut Ask<'_>) {
        let (start, end) = range(self.last_7_days);
        ask.once(
            FAILURE,
            RECENT_FAILURES,
            &[start, end, RECENT_FAILURES_LIMIT],
        );
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        self.failures.push((
            row.int(CREATED_AT)?,
            row.text(ID)?,
            row.text(PROVIDER)?,
            row.text(ERROR)?,
        ));
        Ok(())
    }

    fn finish(mut self: Box<Self>, stats: &mut DashboardStats) {
        // The parts of a UNION ALL keep no order: newest first, by time, then id.
        self.failures.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
        let zone = self.zone;
        stats.recent_failures = self
            .failures
            .into_iter()
            .map(|(created_at, id, provider, error)| RecentFailure {
                id,
                provider,
                error: error
                    .filter(|e| !e.trim().is_empty())
                    .unwrap_or_else(|| "Unknown error".into()),
                time: in_zone(from_micros(created_at), zone),
            })
            .collect();
    }
}
