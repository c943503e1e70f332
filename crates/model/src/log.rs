//! The rows behind the figures: the generations log (`/admin/generations`), filtered and
//! newest first, a page at a time, and a user's page (`/admin/users/{id}`).
//!
//! Pages follow each other by key (the last row's `created_at` and id), not by offset, so
//! the hundredth page costs what the first does however many rows there are.

use crate::dashboard::{ChosenRange, Money, Tier};
use crate::range::{DateRange, InvalidQuery, RangeQuery};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Rows per page of the log.
pub const PAGE_SIZE: usize = 50;
/// Failures listed on a user's page.
pub const USER_FAILURES: usize = 10;
/// Users in the top-users list.
pub const TOP_USERS: usize = 10;
/// How long this month's top users are shared: summing a month of raw rows per user is the
/// one figure the running totals do not hold (see docs/metrics.md, "Top users, the generations log and user pages").
#[cfg(feature = "ssr")]
pub const TOP_USERS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);
/// What the status filter accepts.
pub const STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

/// The log's filters as the URL carries them. Empty values count as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct LogQuery {
    pub provider: Option<String>,
    pub status: Option<String>,
    pub user: Option<String>,
    /// `unrefunded` or `over-refunded` (see [`Problem`]).
    pub problem: Option<String>,
    /// An error group's pattern (see `crate::error_group`): its failures only.
    pub group: Option<String>,
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Where the previous page ended (see [`Cursor`]).
    pub before: Option<String>,
}

/// What refund reconciliation finds, as a filter of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Failed, and no refund after the grace period.
    Unrefunded,
    /// Refunded more credits than it is charged.
    OverRefunded,
}

impl Problem {
    pub const ALL: [Problem; 2] = [Problem::Unrefunded, Problem::OverRefunded];

    /// The value of `?problem=`.
    pub fn slug(self) -> &'static str {
        match self {
            Problem::Unrefunded => "unrefunded",
            Problem::OverRefunded => "over-refunded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Problem::Unrefunded => "Failed, not refunded",
            Problem::OverRefunded => "Refunded more than charged",
        }
    }
}

/// The log's filters, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub provider: Option<String>,
    pub status: Option<&'static str>,
    pub user: Option<String>,
    pub problem: Option<Problem>,
    pub group: Option<String>,
    pub range: Option<DateRange>,
    pub before: Option<Cursor>,
}

/// A row's place in the log's order: newest first, ties by id, last first. Written in the
/// URL as `{created_at in microseconds}.{id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn parse(text: &str) -> Option<Cursor> {
        let (micros, id) = text.split_once('.')?;
        Some(Cursor {
            created_at: micros.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.created_at, self.id)
    }
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Refuses text a database cannot store: PostgreSQL keeps no NUL character in text, and
/// a filter or an id with one could match nothing anyway.
pub fn storable(field: &str, text: &str) -> Result<(), InvalidQuery> {
    match text.contains('\0') {
        true => Err(InvalidQuery(format!(
            "{field}: must not contain the NUL character (\\u0000)"
        ))),
        false => Ok(()),
    }
}

impl LogQuery {
    /// The filters, or why they cannot be used.
    pub fn filter(&self) -> Result<LogFilter, InvalidQuery> {
        self.check_storable()?;
        let range = DateRange::from_query(&RangeQuery {
            range: self.range.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        })?;
        let status = match given(&self.status) {
            None => None,
            Some(text) => Some(STATUSES.into_iter().find(|s| *s == text).ok_or_else(|| {
                InvalidQuery(format!(
                    "Unknown status “{text}”; it is one of {}.",
                    STATUSES.join(", ")
                ))
            })?),
        };
        let problem = match given(&self.problem) {
            None => None,
            Some(text) => Some(
                Problem::ALL
                    .into_iter()
                    .find(|p| p.slug() == text)
                    .ok_or_else(|| {
                        InvalidQuery(format!(
                            "Unknown problem “{text}”; it is one of {}.",
                            Problem::ALL.map(Problem::slug).join(", ")
                        ))
                    })?,
            ),
        };
        let before = match given(&self.before) {
            None => None,
            Some(text) => Some(Cursor::parse(&text).ok_or_else(|| {
                InvalidQuery(format!(
                    "“{text}” is not a place in the log; start again from its first page."
                ))
            })?),
        };
        Ok(LogFilter {
            provider: given(&self.provider),
            status,
            user: given(&self.user),
            problem,
            group: given(&self.group),
            range,
            before,
        })
    }

    /// The log of a range: the dashboard's, or none for the default view.
    pub fn of_range(range: &RangeQuery) -> LogQuery {
        LogQuery {
            range: range.range.clone(),
            from: range.from.clone(),
            to: range.to.clone(),
            ..LogQuery::default()
        }
    }

    /// The same filters from their first page.
    pub fn first_page(&self) -> LogQuery {
        LogQuery {
            before: None,
            ..self.clone()
        }
    }

    /// Refuses a filter the database could not compare (see [`storable`]).
    pub fn check_storable(&self) -> Result<(), InvalidQuery> {
        for (field, value) in self.fields() {
            storable(field, value.as_deref().unwrap_or_default())?;
        }
        Ok(())
    }

    /// Each filter by its name in the URL.
    fn fields(&self) -> [(&'static str, &Option<String>); 9] {
        [
            ("provider", &self.provider),
            ("status", &self.status),
            ("user", &self.user),
            ("problem", &self.problem),
            ("group", &self.group),
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("before", &self.before),
        ]
    }

    /// The query string (without `?`) that asks for these filters: only the ones given.
    pub fn to_query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.fields() {
            if let Some(value) = given(value) {
                out.append_pair(name, &value);
            }
        }
        out.finish()
    }
}

/// One generation as the log lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRow {
    pub id: String,
    pub user_id: String,
    pub provider: String,
    pub model: Option<String>,
    pub status: String,
    pub credits: i64,
    pub cost: Money,
    /// In the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub created_at: DateTime<FixedOffset>,
    #[serde(default, deserialize_with = "crate::dates::rfc3339::option")]
    pub completed_at: Option<DateTime<FixedOffset>>,
    pub error: Option<String>,
    /// Credits refunded for it, if any.
    pub refunded: Option<i64>,
}

/// A page of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogPage {
    pub rows: Vec<LogRow>,
    /// The `before` of the next page; absent on the last one.
    pub next: Option<String>,
    /// The time range filtered on, if any.
    pub range: Option<ChosenRange>,
    pub time_zone: String,
}

/// What a user's page shows: all of the user's generations, whenever they were made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub id: String,
    pub tier: Tier,
    /// Credits now.
    pub balance: i64,
    pub generations: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub pending: i64,
    /// What the providers charged for the user's generations.
    pub spend: Money,
    /// Credits charged for them, refunds not taken off.
    pub credits_used: i64,
    pub credits_refunded: i64,
    #[serde(default, deserialize_with = "crate::dates::rfc3339::option")]
    pub first_generation: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "crate::dates::rfc3339::option")]
    pub last_generation: Option<DateTime<FixedOffset>>,
    /// The newest failed generations, at most [`USER_FAILURES`].
    pub recent_failures: Vec<LogRow>,
    pub time_zone: String,
}

/// A user among those who cost the most in a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopUser {
    pub id: String,
    pub tier: Tier,
    pub generations: i64,
    pub cost: Money,
    /// Credits charged minus refunded.
    pub consumed: i64,
}

/// The users who cost the most this month (or in the chosen range), most first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopUsers {
    pub users: Vec<TopUser>,
    /// When they were computed, in the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub generated_at: DateTime<FixedOffset>,
    pub range: Option<ChosenRange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_and_empty_ones_are_absent() {
        let query = LogQuery {
            provider: Some("Seedream".into()),
            status: Some("failed".into()),
            user: Some(" ".into()),
            ..LogQuery::default()
        };
        let filter = query.filter().unwrap();
        assert_eq!(filter.provider.as_deref(), Some("Seedream"));
        assert_eq!(filter.status, Some("failed"));
        assert_eq!(filter.user, None);
        let bad = LogQuery {
            status: Some("done".into()),
            ..LogQuery::default()
        };
        assert_eq!(
            bad.filter().unwrap_err().0,
            "Unknown status “done”; it is one of pending, succeeded, failed."
        );
        let bad_range = LogQuery {
            from: Some("2026-11-02".into()),
            to: Some("2026-11-01".into()),
            ..LogQuery::default()
        };
        assert!(bad_range.filter().unwrap_err().0.contains("before the end"));
    }

    #[test]
    fn cursors_read_back_even_with_dots_in_the_id() {
        let cursor = Cursor {
            created_at: 1_763_200_000_000_000,
            id: "gen.v2.42".into(),
        };
        assert_eq!(Cursor::parse(&cursor.to_string()), Some(cursor));
        assert_eq!(Cursor::parse("-5.x").unwrap().created_at, -5);
        assert_eq!(Cursor::parse("yesterday"), None);
        assert_eq!(Cursor::parse("12a.x"), None);
        let bad = LogQuery {
            before: Some("page-2".into()),
            ..LogQuery::default()
        };
        assert!(bad
            .filter()
            .unwrap_err()
            .0
            .contains("not a place in the log"));
    }

    #[test]
    fn the_query_string_holds_only_the_given_filters_encoded() {
        let query = LogQuery {
            user: Some("u 1&x".into()),
            status: Some("failed".into()),
            provider: Some(String::new()),
            before: Some("17.g1".into()),
            ..LogQuery::default()
        };
        assert_eq!(
            query.to_query_string(),
            "status=failed&user=u+1%26x&before=17.g1"
        );
        assert_eq!(
            query.first_page().to_query_string(),
            "status=failed&user=u+1%26x"
        );
        assert_eq!(LogQuery::default().to_query_string(), "");
    }
}
