//! Dates and times in the few fixed forms the pages write and read. Written out here
//! rather than through chrono's `format` and `parse_from_str`: those interpret any format
//! string, and that interpreter would ship in the browser's WebAssembly for five forms.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026`, `0999`; a year past four digits carries its sign, as ISO 8601 writes it.
fn year(date: &impl Datelike) -> String {
    match date.year() {
        year @ 0..=9999 => format!("{year:04}"),
        year => format!("{year:+05}"),
    }
}

/// `2026-11-03`.
pub fn iso_date(date: &impl Datelike) -> String {
    format!("{}-{:02}-{:02}", year(date), date.month(), date.day())
}

/// `14:03`.
pub fn hour_minute(time: &impl Timelike) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// `14:03:12`.
pub fn hour_minute_second(time: &impl Timelike) -> String {
    format!("{}:{:02}", hour_minute(time), time.second())
}

/// `+01:00`, `-04:00`: an offset from UTC.
pub fn utc_offset(offset: FixedOffset) -> String {
    let seconds = offset.local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `November`.
pub fn month_name(date: &impl Datelike) -> &'static str {
    MONTHS[date.month0() as usize]
}

/// `Nov`.
pub fn short_month_name(date: &impl Datelike) -> &'static str {
    &month_name(date)[..3]
}

/// `Tue`.
pub fn short_weekday_name(weekday: Weekday) -> &'static str {
    WEEKDAYS[weekday.num_days_from_monday() as usize]
}

/// `2026-11-03` as a date: a four-digit year, a month and a day of one or two digits each.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut fields = text.splitn(3, '-');
    let year = number(fields.next()?, 4..=4)?;
    let month = number(fields.next()?, 1..=2)?;
    let day = number(fields.next()?, 1..=2)?;
    NaiveDate::from_ymd_opt(year.try_into().ok()?, month, day)
}

/// `2026-11-03T14:03` or `2026-11-03T14:03:12` as a time without a zone, as
/// `<input type="datetime-local">` sends it.
pub fn parse_local_time(text: &str) -> Option<NaiveDateTime> {
    let (date, time) = text.split_once('T')?;
    let mut fields = time.splitn(3, ':');
    let hour = number(fields.next()?, 1..=2)?;
    let minute = number(fields.next()?, 1..=2)?;
    let second = fields.next().map_or(Some(0), |s| number(s, 1..=2))?;
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    Some(parse_date(date)?.and_time(time))
}

/// `text` as a number if it is `digits` ASCII digits long.
fn number(text: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u32> {
    if !digits.contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads a time as the server writes it (RFC 3339) with chrono's strict parser, for
/// `#[serde(deserialize_with)]`: serde's default goes through chrono's relaxed parser,
/// which brings its general interpreter of formats into the WebAssembly.
pub mod rfc3339 {
    use chrono::{DateTime, FixedOffset};
    use serde::{de::Error, Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text).map_err(D::Error::custom)
    }

    /// The same for a time that may be `null`.
    pub fn option<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| DateTime::parse_from_rfc3339(&text).map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, TimeZone, Utc};

    /// Every form against chrono's own `format`, over times that cross each field's edges.
    #[test]
    fn each_form_reads_as_chrono_formats_it() {
        let offsets = [
            0,
            3_600,
            -4 * 3_600,
            5 * 3_600 + 45 * 60,
            -(9 * 3_600 + 30 * 60),
        ];
        let start = NaiveDate::from_ymd_opt(2023, 12, 30)
            .unwrap()
            .and_time(NaiveTime::MIN);
        for step in 0..800 {
            let local = start + Duration::minutes(step * 1_447 + step % 61);
            for seconds in offsets {
                let zone = FixedOffset::east_opt(seconds).unwrap();
                let time: DateTime<FixedOffset> = zone.from_local_datetime(&local).unwrap();
                assert_eq!(iso_date(&time), time.format("%Y-%m-%d").to_string());
                assert_eq!(hour_minute(&time), time.format("%H:%M").to_string());
                assert_eq!(
                    hour_minute_second(&time),
                    time.format("%H:%M:%S").to_string()
                );
                assert_eq!(utc_offset(*time.offset()), time.format("%:z").to_string());
                assert_eq!(month_name(&time), time.format("%B").to_string());
                assert_eq!(short_month_name(&time), time.format("%b").to_string());
                let weekday = short_weekday_name(time.weekday());
                assert_eq!(weekday, time.format("%a").to_string());
            }
        }
    }

    #[test]
    fn years_past_four_digits_carry_their_sign() {
        for date in [
            NaiveDate::MAX,
            NaiveDate::MIN,
            NaiveDate::from_ymd_opt(999, 1, 2).unwrap(),
        ] {
            assert_eq!(iso_date(&date), date.format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn dates_and_local_times_are_read_as_the_form_sends_them() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        assert_eq!(parse_date("2026-11-03"), Some(day));
        assert_eq!(parse_date("2026-11-3"), Some(day));
        let at = |h, m, s| Some(day.and_hms_opt(h, m, s).unwrap());
        assert_eq!(parse_local_time("2026-11-03T14:03"), at(14, 3, 0));
        assert_eq!(parse_local_time("2026-11-03T14:03:12"), at(14, 3, 12));
        for wrong in [
            "",
            "2026",
            "2026-11",
            "2026-13-01",
            "2026-02-30",
            "26-11-03",
            "+2026-11-03",
            "2026-11-03x",
            "2026-11-03 ",
            " 2026-11-03",
            "2026-+1-03",
            "2026-11-003",
            "+262142-12-31",
            "2026-11-03T",
            "2026-11-03T24:00",
            "2026-11-03T14",
            "2026-11-03T14:60",
            "2026-11-03T14:03:",
            "2026-11-03T14:03:12:01",
            "2026-11-03T14:03:12.5",
            "２０２６-11-03",
        ] {
            assert_eq!(parse_date(wrong), None, "{wrong}");
            assert_eq!(parse_local_time(wrong), None, "{wrong}");
        }
    }

    /// Times as the server writes them read back the same, and a relaxed form is refused.
    #[test]
    fn times_read_back_as_the_server_writes_them() {
        #[derive(serde::Deserialize, serde::Serialize, PartialEq, Debug)]
        struct Times {
            #[serde(deserialize_with = "rfc3339::deserialize")]
            at: DateTime<FixedOffset>,
            #[serde(default, deserialize_with = "rfc3339::option")]
            maybe: Option<DateTime<FixedOffset>>,
        }
        let zone = FixedOffset::west_opt(4 * 3_600 + 30 * 60).unwrap();
        let at = Utc::now().with_timezone(&zone);
        for maybe in [
            None,
            Some(at.with_timezone(&FixedOffset::east_opt(0).unwrap())),
        ] {
            let times = Times { at, maybe };
            let json = serde_json::to_string(&times).unwrap();
            assert_eq!(
                serde_json::from_str::<Times>(&json).unwrap(),
                times,
                "{json}"
            );
        }
        let absent: Times = serde_json::from_str(r#"{"at": "2026-11-03T09:15:00Z"}"#).unwrap();
        assert_eq!(absent.maybe, None);
        assert!(serde_json::from_str::<Times>(r#"{"at": "2026-11-03"}"#).is_err());
    }
}
