//! The date range an admin may choose instead of the default windows: a preset
//! (`?range=7d`) or a custom from–to (`?from=2026-11-01&to=2026-11-15`), in the reporting
//! time zone. Checked the same way in the browser (before asking) and on the server (which
//! trusts no one); turning it into UTC instants needs the zone and is the server's
//! (`windows::Windows::for_range`).

use crate::dates::{hour_minute, iso_date, parse_date, parse_local_time};
use chrono::{Duration, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest range, in local days.
pub const MAX_RANGE_DAYS: i64 = 400;

/// The range as the URL carries it: the page's query string, the JSON API's and the
/// server function's argument. Empty values count as absent, as an empty form field sends them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct RangeQuery {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The ranges that roll with `now` (the last four) or follow the calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Preset {
    Today,
    Last24Hours,
    Last7Days,
    Last30Days,
    ThisMonth,
    LastMonth,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::Today,
        Preset::Last24Hours,
        Preset::Last7Days,
        Preset::Last30Days,
        Preset::ThisMonth,
        Preset::LastMonth,
    ];

    /// The value of `?range=`.
    pub fn slug(self) -> &'static str {
        match self {
            Preset::Today => "today",
            Preset::Last24Hours => "24h",
            Preset::Last7Days => "7d",
            Preset::Last30Days => "30d",
            Preset::ThisMonth => "this-month",
            Preset::LastMonth => "last-month",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Today => "Today",
            Preset::Last24Hours => "Last 24 hours",
            Preset::Last7Days => "Last 7 days",
            Preset::Last30Days => "Last 30 days",
            Preset::ThisMonth => "This month",
            Preset::LastMonth => "Last month",
        }
    }
}

/// A chosen range: a preset, or local times from (inclusive) to (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateRange {
    Preset(Preset),
    Custom {
        from: NaiveDateTime,
        to: NaiveDateTime,
    },
}

/// Why a query (a range, the log's filters) was refused, in words for the admin who typed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidQuery(pub String);

impl fmt::Display for InvalidQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidQuery {}

impl DateRange {
    /// The range a query asks for: `None` for the default windows.
    pub fn from_query(query: &RangeQuery) -> Result<Option<DateRange>, InvalidQuery> {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (range, from, to) = (given(&query.range), given(&query.from), given(&query.to));
        let refuse = |message: String| Err(InvalidQuery(message));
        match (range, from, to) {
            (None, None, None) => Ok(None),
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                refuse("Choose either a preset range or a custom from–to, not both.".into())
            }
            (Some(slug), None, None) => match Preset::ALL.into_iter().find(|p| p.slug() == slug) {
                Some(preset) => Ok(Some(DateRange::Preset(preset))),
                None => refuse(format!(
                    "Unknown range “{slug}”; the presets are {}.",
                    Preset::ALL.map(Preset::slug).join(", ")
                )),
            },
            (None, Some(_), None) => refuse("The range has a start (from) but no end (to).".into()),
            (None, None, Some(_)) => {
                refuse("The range has an end (to) but no start (from).".into())
            }
            (None, Some(from_text), Some(to_text)) => {
                let from = parse_local(&from_text, "from", Edge::Start)?;
                let to = parse_local(&to_text, "to", Edge::End)?;
                if from >= to {
                    return refuse(format!(
                        "The start ({from_text}) must be before the end ({to_text})."
                    ));
                }
                // Counted in local days, so that a daylight-saving change moves no limit.
                if to - from > Duration::days(MAX_RANGE_DAYS) {
                    let days = ((to - from).num_minutes() + 24 * 60 - 1) / (24 * 60);
                    return refuse(format!(
                        "A range is at most {MAX_RANGE_DAYS} days; {from_text} to {to_text} is {days} days."
                    ));
                }
                Ok(Some(DateRange::Custom { from, to }))
            }
        }
    }

    /// The query string that asks for this range, without `?`.
    pub fn to_query(&self) -> String {
        match self {
            DateRange::Preset(preset) => format!("range={}", preset.slug()),
            DateRange::Custom { from, to } => {
                let (from, to) = self.custom_texts(*from, *to);
                format!("from={from}&to={to}")
            }
        }
    }

    /// The values of the form's from and to fields: dates when the range is whole days.
    pub fn form_values(&self) -> Option<(String, String)> {
        match self {
            DateRange::Preset(_) => None,
            DateRange::Custom { from, to } => Some(self.custom_texts(*from, *to)),
        }
    }

    /// `Last 7 days`, `2026-11-01 – 2026-11-15` or `2026-11-01 08:00 – 2026-11-01 20:00`.
    pub fn label(&self) -> String {
        match self {
            DateRange::Preset(preset) => preset.label().to_owned(),
            DateRange::Custom { from, to } => {
                let (from, to) = self.custom_texts(*from, *to);
                if from == to {
                    from
                } else {
                    format!("{from} – {to}").replace('T', " ")
                }
            }
        }
    }

    /// A custom range's from and to as the URL writes them: whole days as dates, `to` the
    /// last day included; otherwise local times, `to` excluded.
    fn custom_texts(&self, from: NaiveDateTime, to: NaiveDateTime) -> (String, String) {
        if from.time() == NaiveTime::MIN && to.time() == NaiveTime::MIN {
            let last_day = to.date() - Duration::days(1);
            (iso_date(&from), iso_date(&last_day))
        } else {
            let text = |t: NaiveDateTime| format!("{}T{}", iso_date(&t), hour_minute(&t));
            (text(from), text(to))
        }
    }
}

#[derive(Clone, Copy)]
enum Edge {
    Start,
    End,
}

/// `2026-11-01` (a whole day: its start as a from, its end as a to) or `2026-11-01T08:30`
/// (a local time, as `<input type="datetime-local">` sends it; seconds allowed).
fn parse_local(text: &str, name: &str, edge: Edge) -> Result<NaiveDateTime, InvalidQuery> {
    if let Some(date) = parse_date(text) {
        let day = match edge {
            Edge::Start => Some(date),
            Edge::End => date.succ_opt(),
        };
        if let Some(day) = day {
            return Ok(day.and_time(NaiveTime::MIN));
        }
    }
    parse_local_time(text).ok_or_else(|| {
        InvalidQuery(format!(
            "The {name} value “{text}” is not a date (YYYY-MM-DD) or a local time (YYYY-MM-DDTHH:MM)."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn query(range: Option<&str>, from: Option<&str>, to: Option<&str>) -> RangeQuery {
        RangeQuery {
            range: range.map(Into::into),
            from: from.map(Into::into),
            to: to.map(Into::into),
        }
    }

    fn custom(from: &str, to: &str) -> Result<Option<DateRange>, InvalidQuery> {
        DateRange::from_query(&query(None, Some(from), Some(to)))
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn no_range_is_the_default_view_and_empty_fields_count_as_absent() {
        assert_eq!(DateRange::from_query(&RangeQuery::default()), Ok(None));
        assert_eq!(
            DateRange::from_query(&query(Some(""), Some(" "), Some(""))),
            Ok(None)
        );
    }

    #[test]
    fn every_preset_reads_back_from_its_own_query() {
        for preset in Preset::ALL {
            let range = DateRange::Preset(preset);
            let text = range.to_query();
            let slug = text.strip_prefix("range=").unwrap();
            assert_eq!(
                DateRange::from_query(&query(Some(slug), None, None)),
                Ok(Some(range))
            );
        }
        let error = DateRange::from_query(&query(Some("week"), None, None)).unwrap_err();
        assert!(
            error.0.contains("“week”") && error.0.contains("7d, 30d"),
            "{error}"
        );
    }

    #[test]
    fn dates_are_whole_local_days_with_the_last_one_included() {
        let range = custom("2026-11-01", "2026-11-15").unwrap().unwrap();
        assert_eq!(
            range,
            DateRange::Custom {
                from: local("2026-11-01 00:00"),
                to: local("2026-11-16 00:00")
            }
        );
        assert_eq!(range.to_query(), "from=2026-11-01&to=2026-11-15");
        assert_eq!(range.label(), "2026-11-01 – 2026-11-15");
        let one_day = custom("2026-11-05", "2026-11-05").unwrap().unwrap();
        assert_eq!(one_day.label(), "2026-11-05");
        assert_eq!(
            one_day.form_values(),
            Some(("2026-11-05".into(), "2026-11-05".into()))
        );
    }

    #[test]
    fn local_times_end_where_they_say() {
        let range = custom("2026-11-01T08:00", "2026-11-01T20:30:00")
            .unwrap()
            .unwrap();
        assert_eq!(
            range,
            DateRange::Custom {
                from: local("2026-11-01 08:00"),
                to: local("2026-11-01 20:30")
            }
        );
        assert_eq!(
            range.to_query(),
            "from=2026-11-01T08:00&to=2026-11-01T20:30"
        );
        assert_eq!(range.label(), "2026-11-01 08:00 – 2026-11-01 20:30");
        // A date as the end of a range of times: through the end of that day.
        assert_eq!(
            custom("2026-11-01T08:00", "2026-11-01").unwrap().unwrap(),
            DateRange::Custom {
                from: local("2026-11-01 08:00"),
                to: local("2026-11-02 00:00")
            }
        );
    }

    #[test]
    fn the_start_must_come_before_the_end() {
        let error = custom("2026-11-06", "2026-11-05").unwrap_err();
        assert_eq!(
            error.0,
            "The start (2026-11-06) must be before the end (2026-11-05)."
        );
        assert!(custom("2026-11-05T10:00", "2026-11-05T10:00").is_err());
        assert!(custom("2026-11-05T10:00", "2026-11-05T10:01").is_ok());
    }

    #[test]
    fn a_range_is_at_most_400_days() {
        // 2025-10-31 through 2026-12-04 is 400 days, one more is too many.
        assert!(custom("2025-10-31", "2026-12-04").is_ok());
        let error = custom("2025-10-31", "2026-12-05").unwrap_err();
        assert!(
            error.0.starts_with("A range is at most 400 days"),
            "{error}"
        );
        assert!(error.0.ends_with("is 401 days."), "{error}");
    }

    #[test]
    fn malformed_or_half_ranges_say_what_is_wrong() {
        let error = custom("2026-13-01", "2026-12-01").unwrap_err();
        assert_eq!(
            error.0,
            "The from value “2026-13-01” is not a date (YYYY-MM-DD) or a local time (YYYY-MM-DDTHH:MM)."
        );
        assert!(custom("2026-11-01", "yesterday")
            .unwrap_err()
            .0
            .contains("to value"));
        assert!(
            DateRange::from_query(&query(None, Some("2026-11-01"), None))
                .unwrap_err()
                .0
                .contains("no end")
        );
        assert!(
            DateRange::from_query(&query(None, None, Some("2026-11-01")))
                .unwrap_err()
                .0
                .contains("no start")
        );
        assert!(
            DateRange::from_query(&query(Some("7d"), Some("2026-11-01"), Some("2026-11-02")))
                .unwrap_err()
                .0
                .contains("not both")
        );
        // The last day chrono knows has no day after it: refused, not a panic.
        assert!(custom("2026-11-01", &NaiveDate::MAX.to_string()).is_err());
    }
}
