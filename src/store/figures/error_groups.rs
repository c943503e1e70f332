//! The last 7 days' failures (or the range's) grouped by their error group: each group's
//! count, providers, first and last time seen and newest message, newest group first, at
//! most [`ERROR_GROUPS_LIMIT`].
//!
//! From the totals' side it reads the window's failures through the partial indexes of
//! failures (by time with group and provider, or by group and time: each planner picks
//! one), one row per group and provider, and each group's newest message by one look-up
//! in `generations_failed_group_created_at`. The raw rows' side reads the failures
//! themselves and groups their error texts with the rule in Rust, so that it also checks
//! the groups ingest stored.

use super::parts::range;
use super::statement::{Ask, Int, Row, Text};
use super::{from_micros, in_zone, Figure, Report, Source};
use crate::model::dashboard::DashboardStats;
use crate::model::error_group::{pattern, ErrorGroup, ERROR_GROUPS_LIMIT, UNKNOWN_ERROR};
use crate::model::windows::Window;
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};

/// One row per group and provider, with the group's newest message.
const BY_GROUP: &str = "
    SELECT g.error_group, g.provider,
           (SELECT e.error FROM generations e
            WHERE e.status = 'failed' AND e.error_group = g.error_group
              AND e.created_at >= $1 AND e.created_at < $2
            ORDER BY e.created_at DESC, e.id DESC LIMIT 1),
           CAST(COUNT(*) AS BIGINT), MIN(g.created_at), MAX(g.created_at),
           CAST(0 AS BIGINT)
    FROM generations g
    WHERE g.status = 'failed' AND g.created_at >= $1 AND g.created_at < $2
    GROUP BY g.error_group, g.provider";
/// One row per failure, grouped here.
const FAILURES: &str = "
    SELECT id, provider, error, created_at,
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(1 AS BIGINT)
    FROM generations
    WHERE status = 'failed' AND created_at >= $1 AND created_at < $2";
/// 1 in a row of [`FAILURES`], 0 in one of [`BY_GROUP`].
const RAW: Int = Int::column(3);
const GROUP_OR_ID: Text = Text::column(0);
const PROVIDER: Text = Text::column(1);
const ERROR: Text = Text::column(2);
const COUNT_OR_CREATED_AT: Int = Int::column(0);
const FIRST: Int = Int::column(1);
const LAST: Int = Int::column(2);

/// A group as it adds up: count, providers, first and last seen, and its newest
/// message's (created at, id, error text).
#[derive(Default)]
struct Group {
    count: i64,
    providers: BTreeSet<String>,
    first: Option<i64>,
    last: Option<i64>,
    newest: Option<(i64, String, Option<String>)>,
}

impl Group {
    fn add(&mut self, provider: String, count: i64, first: i64, last: i64) {
        self.count += count;
        self.providers.insert(provider);
        self.first = Some(self.first.map_or(first, |f| f.min(first)));
        self.last = Some(self.last.map_or(last, |l| l.max(last)));
    }
}

pub(super) struct ErrorGroups {
    window: Window,
    zone: Tz,
    groups: BTreeMap<String, Group>,
}

impl ErrorGroups {
    pub fn new(report: &Report) -> ErrorGroups {
        ErrorGroups {
            window: report.windows.last_7_days,
            zone: report.settings.time_zone,
            groups: BTreeMap::new(),
        }
    }
}

impl Figure for ErrorGroups {
    fn ask(&self, ask: &mut Ask<'_>) {
        let (start, end) = range(self.window);
        let sql = match ask.source() {
            Source::Totals => BY_GROUP,
            Source::RawRows => FAILURES,
        };
        ask.once(sql, &[start, end]);
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let provider: String = row.text(PROVIDER)?;
        let error: Option<String> = row.text(ERROR)?;
        if row.int(RAW)? == 1 {
            let id: String = row.text(GROUP_OR_ID)?;
            let at = row.int(COUNT_OR_CREATED_AT)?;
            let group = self.groups.entry(pattern(error.as_deref())).or_default();
            group.add(provider, 1, at, at);
            if group
                .newest
                .as_ref()
                .is_none_or(|(t, i, _)| (at, &id) > (*t, i))
            {
                group.newest = Some((at, id, error));
            }
        } else {
            let name: Option<String> = row.text(GROUP_OR_ID)?;
            // Every failure is stored with its group; none is NULL once filled in.
            let group = self.groups.entry(name.unwrap_or_default()).or_default();
            let (first, last) = (row.int(FIRST)?, row.int(LAST)?);
            group.add(provider, row.int(COUNT_OR_CREATED_AT)?, first, last);
            group.newest = Some((last, String::new(), error));
        }
        Ok(())
    }

    fn finish(self: Box<Self>, stats: &mut DashboardStats) {
        let zone = self.zone;
        let mut groups: Vec<ErrorGroup> = self
            .groups
            .into_iter()
            .filter_map(|(pattern, group)| {
                let example = group.newest.and_then(|(_, _, error)| error);
                Some(ErrorGroup {
                    pattern,
                    count: group.count,
                    providers: group.providers.into_iter().collect(),
                    first_seen: in_zone(from_micros(group.first?), zone),
                    last_seen: in_zone(from_micros(group.last?), zone),
                    example: example
                        .filter(|e| !e.trim().is_empty())
                        .unwrap_or_else(|| UNKNOWN_ERROR.into()),
                })
            })
            .collect();
        groups.sort_by(|a, b| (b.last_seen, &a.pattern).cmp(&(a.last_seen, &b.pattern)));
        groups.truncate(ERROR_GROUPS_LIMIT as usize);
        stats.error_groups = groups;
    }
}
