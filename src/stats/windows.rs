//! The time windows of METRICS.md, as UTC instants, computed in the reporting time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Start (inclusive) and end (exclusive) of a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    fn until(start: DateTime<Utc>, now: DateTime<Utc>) -> Window {
        Window { start, end: now }
    }

    fn last(span: Duration, now: DateTime<Utc>) -> Window {
        Window {
            start: now - span,
            end: now,
        }
    }
}

/// Every window the dashboard reads, all ending at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    pub today: Window,
    pub this_month: Window,
    pub last_24h: Window,
    pub last_7_days: Window,
    pub last_30_days: Window,
}

impl Windows {
    pub fn at(now: DateTime<Utc>, zone: Tz) -> Windows {
        let local_today = now.with_timezone(&zone).date_naive();
        let first_of_month = local_today.with_day(1).expect("every month has a 1st");
        Windows {
            today: Window::until(local_midnight(zone, local_today), now),
            this_month: Window::until(local_midnight(zone, first_of_month), now),
            last_24h: Window::last(Duration::hours(24), now),
            last_7_days: Window::last(Duration::days(7), now),
            last_30_days: Window::last(Duration::days(30), now),
        }
    }
}

/// The first instant of `date` in `zone`. Where a daylight-saving jump skips midnight
/// (as in America/Santiago), the day starts at the first local time that exists.
pub fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    // Transitions fall on quarter hours, so stepping by 15 minutes finds the first one.
    (0..=4 * 24)
        .find_map(|quarter| {
            let time = NaiveTime::MIN + Duration::minutes(15 * quarter);
            zone.from_local_datetime(&date.and_time(time)).earliest()
        })
        .expect("a day has at least one existing local time")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn today_and_month_start_at_local_midnight() {
        let w = Windows::at(utc("2026-11-03T09:15:00Z"), chrono_tz::Asia::Kolkata);
        assert_eq!(w.today.start, utc("2026-11-02T18:30:00Z"));
        assert_eq!(w.this_month.start, utc("2026-10-31T18:30:00Z"));
        assert_eq!(w.today.end, utc("2026-11-03T09:15:00Z"));
        let w = Windows::at(utc("2026-11-03T09:15:00Z"), chrono_tz::Asia::Kathmandu);
        assert_eq!(w.today.start, utc("2026-11-02T18:15:00Z"));
    }

    #[test]
    fn late_evening_in_the_pacific_is_still_the_local_day() {
        // 04:00 UTC on the 4th is 20:00 on the 3rd in Los Angeles.
        let w = Windows::at(utc("2026-11-04T04:00:00Z"), chrono_tz::America::Los_Angeles);
        assert_eq!(w.today.start, utc("2026-11-03T08:00:00Z"));
        assert_eq!(
            w.this_month.start,
            utc("2026-11-01T07:00:00Z"),
            "PDT until 1 Nov 02:00"
        );
    }

    #[test]
    fn daylight_saving_days_are_23_and_25_hours_long() {
        let ny = chrono_tz::America::New_York;
        let spring = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(local_midnight(ny, spring), utc("2026-03-08T05:00:00Z"));
        assert_eq!(
            local_midnight(ny, spring.succ_opt().unwrap()) - local_midnight(ny, spring),
            Duration::hours(23)
        );
        let berlin = chrono_tz::Europe::Berlin;
        let autumn = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        assert_eq!(local_midnight(berlin, autumn), utc("2026-10-24T22:00:00Z"));
        assert_eq!(
            local_midnight(berlin, autumn.succ_opt().unwrap()) - local_midnight(berlin, autumn),
            Duration::hours(25)
        );
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_the_jump() {
        // Santiago springs forward at 24:00 on 5 Sep 2026: the 6th begins at 01:00 local (-03).
        let santiago = chrono_tz::America::Santiago;
        let day = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(local_midnight(santiago, day), utc("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn rolling_windows_are_exact_durations() {
        let now = utc("2026-03-08T12:00:00Z");
        let w = Windows::at(now, chrono_tz::America::New_York);
        assert_eq!(w.last_24h.start, utc("2026-03-07T12:00:00Z"));
        assert_eq!(w.last_7_days.start, utc("2026-03-01T12:00:00Z"));
        assert_eq!(w.last_30_days.start, utc("2026-02-06T12:00:00Z"));
    }
}
