//! The last 7 days' failures (or the range's) grouped by their error group: each group's
//! count, providers, first and last time seen and newest message, newest group first, at
//! most [`ERROR_GROUPS_LIMIT`].
//!
//! From the totals' side it counts each group's failures per provider from the running
//! totals (`crate::totals::error_groups`) of the window's whole buckets and the raw
//! failures at its edges, then reads each group's first and last failure and newest
//! message, one look-up each, in the index of failures by group and time. The raw rows'
//! side reads the failures themselves and groups their error texts with the rule in Rust,
//! so that it also checks the groups ingest stored.

use super::failures::{CREATED_AT, ERROR, FAILURE, ID, PROVIDER};
use super::statement::{renumber, Ask, Column, Columns, Int, Row, Text};
use super::{Figure, Report};
use crate::buckets::SPANS;
use crate::parts::Source;
use crate::parts::{parts_in, range, Part, Range};
use crate::report::{from_micros, in_zone};
use chrono_tz::Tz;
use model::dashboard::DashboardStats;
use model::error_group::{pattern, ErrorGroup, ERROR_GROUPS_LIMIT, UNKNOWN_ERROR};
use model::windows::Window;
use std::collections::{BTreeMap, BTreeSet};

/// A group's failures with one provider, and the group's newest message, first and last
/// failure.
const GROUP: Columns = Columns::new(&[
    Column::text("error_group"),
    Column::text("provider"),
    Column::text("newest_error"),
    Column::int("failures"),
    Column::int("first_at"),
    Column::int("last_at"),
]);
const GROUP_NAME: Text = GROUP.text("error_group");
const GROUP_PROVIDER: Text = GROUP.text("provider");
const NEWEST_ERROR: Text = GROUP.text("newest_error");
const FAILURES: Int = GROUP.int("failures");
const FIRST_AT: Int = GROUP.int("first_at");
const LAST_AT: Int = GROUP.int("last_at");

/// One row per group and provider with failures in the window (`$1` start, `$2` end):
/// their count from `{counted}`, and the group's newest message, first and last failure.
const BY_GROUP: &str = "
    SELECT c.error_group AS error_group, c.provider AS provider,
           (SELECT e.error FROM generations e
            WHERE e.status = 'failed' AND e.error_group = c.error_group
              AND e.created_at >= $1 AND e.created_at < $2
            ORDER BY e.created_at DESC, e.id DESC LIMIT 1) AS newest_error,
           c.failures AS failures,
           (SELECT e.created_at FROM generations e
            WHERE e.status = 'failed' AND e.error_group = c.error_group
              AND e.created_at >= $1 AND e.created_at < $2
            ORDER BY e.created_at LIMIT 1) AS first_at,
           (SELECT e.created_at FROM generations e
            WHERE e.status = 'failed' AND e.error_group = c.error_group
              AND e.created_at >= $1 AND e.created_at < $2
            ORDER BY e.created_at DESC LIMIT 1) AS last_at
    FROM (SELECT error_group, provider, SUM(failures) AS failures
          FROM ({counted}) counted
          GROUP BY error_group, provider) c
    WHERE c.failures <> 0";
/// A part of `{counted}`: failures of whole buckets (`$1` span, `$2` first bucket, `$3`
/// end), `{sign}` 1 or -1.
const BUCKETS: &str = "SELECT error_group, provider, {sign} * failures AS failures
    FROM error_group_totals WHERE span = $1 AND bucket >= $2 AND bucket < $3";
/// A part of `{counted}`: the raw failures from `$1` to `$2`, those not yet given a group
/// under `''`, as the totals count them (`totals::error_groups::UNGROUPED`).
const EDGE: &str = "SELECT COALESCE(error_group, ''), provider, {sign} AS failures
    FROM generations WHERE status = 'failed' AND created_at >= $1 AND created_at < $2";

const FAILURES_IN: &str = "
    SELECT id, provider, error, created_at
    FROM generations
    WHERE status = 'failed' AND created_at >= $1 AND created_at < $2";

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

/// [`BY_GROUP`] over `window` with its values: the window's failures counted from the
/// totals of its whole buckets and from the raw rows at its edges.
fn by_group(window: Range) -> (String, Vec<i64>) {
    let mut values = vec![window.0, window.1];
    let mut counted = Vec::new();
    for (part, sign) in parts_in(&SPANS, window) {
        let (sql, part_values) = match part {
            Part::Buckets { span, range } => (BUCKETS, vec![span, range.0, range.1]),
            Part::Raw(range) => (EDGE, vec![range.0, range.1]),
        };
        counted.push(renumber(sql, values.len()).replace("{sign}", &sign.to_string()));
        values.extend(part_values);
    }
    if counted.is_empty() {
        // An empty window: the raw rows of the window itself, which are none.
        counted.push(EDGE.replace("{sign}", "1"));
    }
    let sql = BY_GROUP.replace("{counted}", &counted.join(" UNION ALL "));
    (sql, values)
}

impl ErrorGroups {
    /// A failure of the raw rows, grouped here by the rule.
    fn add_failure(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let id: String = row.text(ID)?;
        let error: Option<String> = row.text(ERROR)?;
        let at = row.int(CREATED_AT)?;
        let group = self.groups.entry(pattern(error.as_deref())).or_default();
        group.add(row.text(PROVIDER)?, 1, at, at);
        if group
            .newest
            .as_ref()
            .is_none_or(|(t, i, _)| (at, &id) > (*t, i))
        {
            group.newest = Some((at, id, error));
        }
        Ok(())
    }

    /// A group's failures with one provider, counted from the totals. Failures not yet
    /// given a group are counted under `UNGROUPED` (''), a group no failure is given.
    fn add_group(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let (Some(first), Some(last)) = (row.int_or_null(FIRST_AT)?, row.int_or_null(LAST_AT)?)
        else {
            return Ok(());
        };
        let group = self.groups.entry(row.text(GROUP_NAME)?).or_default();
        group.add(row.text(GROUP_PROVIDER)?, row.int(FAILURES)?, first, last);
        group.newest = Some((last, String::new(), row.text(NEWEST_ERROR)?));
        Ok(())
    }
}

impl Figure for ErrorGroups {
    fn ask(&self, ask: &mut Ask<'_>) {
        let (start, end) = range(self.window);
        match ask.source() {
            Source::Totals => {
                let (sql, values) = by_group((start, end));
                ask.once(GROUP, &sql, &values);
            }
            Source::RawRows => ask.once(FAILURE, FAILURES_IN, &[start, end]),
        }
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        if row.is(FAILURE) {
            self.add_failure(row)
        } else {
            self.add_group(row)
        }
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

#[cfg(test)]
mod tests;
