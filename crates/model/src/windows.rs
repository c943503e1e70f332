//! The time windows of docs/metrics.md, as UTC instants, computed in the reporting time zone.

use super::dashboard::ChosenRange;
use super::range::{DateRange, Preset};
use super::trend::TrendStep;
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
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

/// Every window the dashboard reads: all ending at `now`, unless a range is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    pub today: Window,
    pub this_month: Window,
    pub last_24h: Window,
    pub last_7_days: Window,
    pub last_30_days: Window,
    /// The trends chart's: the last 30 local days, today's part included.
    pub trend: Window,
    /// The month-end projection's: the 7 whole local days before today (yesterday and the 6
    /// before it), 23 or 25 hours long where clocks change.
    pub last_7_whole_days: Window,
    /// From now to the end of this local month, which the projection extends the month to;
    /// `None` with a range chosen, as there is no month to project then.
    pub rest_of_month: Option<Window>,
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
            trend: Window::until(local_midnight(zone, local_today - Duration::days(29)), now),
            last_7_whole_days: Window {
                start: local_midnight(zone, local_today - Duration::days(7)),
                end: local_midnight(zone, local_today),
            },
            rest_of_month: Some(Window {
                start: now,
                end: local_midnight(zone, first_of_next_month(local_today)),
            }),
        }
    }

    /// The default windows, or with a range chosen, that range in place of every window but
    /// health's last 24 hours, which is about now whatever the range.
    pub fn chosen(now: DateTime<Utc>, zone: Tz, range: Option<&DateRange>) -> Windows {
        let windows = Windows::at(now, zone);
        let Some(range) = range else {
            return windows;
        };
        let window = windows.of_range(range, zone);
        Windows {
            today: window,
            this_month: window,
            last_24h: windows.last_24h,
            last_7_days: window,
            last_30_days: window,
            trend: window,
            last_7_whole_days: windows.last_7_whole_days,
            rest_of_month: None,
        }
    }

    /// The instants a range covers, its presets ending at now as the default windows do.
    pub fn of_range(&self, range: &DateRange, zone: Tz) -> Window {
        match *range {
            DateRange::Preset(Preset::Today) => self.today,
            DateRange::Preset(Preset::Last24Hours) => self.last_24h,
            DateRange::Preset(Preset::Last7Days) => self.last_7_days,
            DateRange::Preset(Preset::Last30Days) => self.last_30_days,
            DateRange::Preset(Preset::ThisMonth) => self.this_month,
            DateRange::Preset(Preset::LastMonth) => {
                let this_month = self.this_month.start.with_timezone(&zone).date_naive();
                let last_month = (this_month - Duration::days(1))
                    .with_day(1)
                    .expect("every month has a 1st");
                Window {
                    start: local_midnight(zone, last_month),
                    end: self.this_month.start,
                }
            }
            DateRange::Custom { from, to } => Window {
                start: local_instant(zone, from),
                end: local_instant(zone, to),
            },
        }
    }
}

impl Window {
    /// The range as the figures name it: its label, and its instants in `zone`.
    pub fn named(self, range: &DateRange, zone: Tz) -> ChosenRange {
        ChosenRange {
            label: range.label(),
            from: self.start.with_timezone(&zone).fixed_offset(),
            to: self.end.with_timezone(&zone).fixed_offset(),
        }
    }
}

impl Window {
    /// The window cut at every local midnight, or at every local hour, in `zone`: the
    /// trends chart's bars, oldest first. Days are 23 or 25 hours long where clocks change,
    /// and an hour repeated when they go back is two bars.
    pub fn bars(self, zone: Tz, step: TrendStep) -> Vec<Window> {
        let mut starts = vec![self.start];
        match step {
            TrendStep::Day => {
                let mut date = self.start.with_timezone(&zone).date_naive();
                while let Some(next) = date.succ_opt() {
                    let midnight = local_midnight(zone, next);
                    if midnight >= self.end {
                        break;
                    }
                    starts.push(midnight);
                    date = next;
                }
            }
            TrendStep::Hour => {
                // Offsets are whole quarter hours, so every local hour starts on a quarter.
                let quarter = Duration::minutes(15);
                let mut at =
                    DateTime::from_timestamp(self.start.timestamp().div_euclid(900) * 900 + 900, 0)
                        .unwrap_or(self.end);
                while at < self.end {
                    if at.with_timezone(&zone).minute() == 0 {
                        starts.push(at);
                    }
                    at += quarter;
                }
            }
        }
        let ends = starts.iter().skip(1).copied().chain([self.end]);
        starts
            .iter()
            .zip(ends)
            .filter(|&(start, end)| *start < end)
            .map(|(&start, end)| Window { start, end })
            .collect()
    }
}

/// The 1st of the month after `date`'s.
fn first_of_next_month(date: NaiveDate) -> NaiveDate {
    let first = date.with_day(1).expect("every month has a 1st");
    first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

/// The first instant of `date` in `zone`. Where a daylight-saving jump skips midnight
/// (as in America/Santiago), the day starts at the first local time that exists.
pub fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(zone, date.and_time(NaiveTime::MIN))
}

/// The first instant of local time `local` in `zone`, or where a daylight-saving jump skips
/// it, the first local time after it that exists; in a repeated hour, its first pass.
pub fn local_instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(instant) = zone.from_local_datetime(&local).earliest() {
        return instant.with_timezone(&Utc);
    }
    // Transitions fall on quarter hours, so stepping to the next ones finds the first
    // time after the gap; no zone skips more than a day.
    let next_quarter = local.and_utc().timestamp().div_euclid(900) * 900 + 900;
    (0..=4 * 24)
        .find_map(|quarter| {
            let time = DateTime::from_timestamp(next_quarter + 900 * quarter, 0)?.naive_utc();
            zone.from_local_datetime(&time).earliest()
        })
        .map_or(local.and_utc(), |instant| instant.with_timezone(&Utc))
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

    fn day(text: &str) -> NaiveDateTime {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .unwrap()
            .and_time(NaiveTime::MIN)
    }

    #[test]
    fn a_chosen_range_replaces_every_window_but_healths() {
        let now = utc("2026-01-10T12:00:00Z");
        let berlin = chrono_tz::Europe::Berlin;
        let default = Windows::at(now, berlin);
        assert_eq!(Windows::chosen(now, berlin, None), default);
        let last_month = Windows::chosen(now, berlin, Some(&DateRange::Preset(Preset::LastMonth)));
        let december = Window {
            start: utc("2025-11-30T23:00:00Z"),
            end: utc("2025-12-31T23:00:00Z"),
        };
        for window in [
            last_month.today,
            last_month.this_month,
            last_month.last_7_days,
            last_month.last_30_days,
        ] {
            assert_eq!(window, december, "last month, across the new year");
        }
        assert_eq!(last_month.last_24h, default.last_24h);
        for (preset, window) in [
            (Preset::Today, default.today),
            (Preset::Last24Hours, default.last_24h),
            (Preset::Last7Days, default.last_7_days),
            (Preset::Last30Days, default.last_30_days),
            (Preset::ThisMonth, default.this_month),
        ] {
            let chosen = Windows::chosen(now, berlin, Some(&DateRange::Preset(preset)));
            assert_eq!(chosen.today, window, "{preset:?}");
        }
    }

    #[test]
    fn the_last_7_whole_days_and_the_rest_of_the_month_are_local() {
        let ny = chrono_tz::America::New_York;
        // 10 March 2026, 15:00 EDT: the 7 days from 3 March hold the 23-hour 8th.
        let w = Windows::at(utc("2026-03-10T19:00:00Z"), ny);
        assert_eq!(w.last_7_whole_days.start, utc("2026-03-03T05:00:00Z"));
        assert_eq!(w.last_7_whole_days.end, utc("2026-03-10T04:00:00Z"));
        assert_eq!(
            w.last_7_whole_days.end - w.last_7_whole_days.start,
            Duration::hours(7 * 24 - 1)
        );
        let rest = w.rest_of_month.unwrap();
        assert_eq!(rest.start, utc("2026-03-10T19:00:00Z"));
        assert_eq!(rest.end, utc("2026-04-01T04:00:00Z"), "April begins in EDT");
        // 3 November: the 7 days hold the 25-hour 1st, and December begins in EST.
        let w = Windows::at(utc("2026-11-03T12:00:00Z"), ny);
        assert_eq!(
            w.last_7_whole_days.end - w.last_7_whole_days.start,
            Duration::hours(7 * 24 + 1)
        );
        assert_eq!(w.rest_of_month.unwrap().end, utc("2026-12-01T05:00:00Z"));
        // The last day of December ends the year.
        let w = Windows::at(utc("2026-12-31T23:30:00Z"), chrono_tz::UTC);
        assert_eq!(w.rest_of_month.unwrap().end, utc("2027-01-01T00:00:00Z"));
        let range = DateRange::Preset(Preset::LastMonth);
        assert_eq!(
            Windows::chosen(utc("2026-11-03T12:00:00Z"), ny, Some(&range)).rest_of_month,
            None,
            "no month to project over a range"
        );
    }

    #[test]
    fn custom_days_follow_daylight_saving() {
        let ny = chrono_tz::America::New_York;
        let spring_day = DateRange::Custom {
            from: day("2026-03-08"),
            to: day("2026-03-09"),
        };
        let w = Windows::chosen(utc("2026-11-01T00:00:00Z"), ny, Some(&spring_day)).today;
        assert_eq!(w.start, utc("2026-03-08T05:00:00Z"));
        assert_eq!(w.end - w.start, Duration::hours(23));
    }

    #[test]
    fn a_local_time_that_does_not_exist_starts_after_the_jump() {
        let ny = chrono_tz::America::New_York;
        let skipped = NaiveDateTime::parse_from_str("2026-03-08T02:30", "%Y-%m-%dT%H:%M").unwrap();
        assert_eq!(local_instant(ny, skipped), utc("2026-03-08T07:00:00Z"));
        let repeated = NaiveDateTime::parse_from_str("2026-11-01T01:30", "%Y-%m-%dT%H:%M").unwrap();
        assert_eq!(
            local_instant(ny, repeated),
            utc("2026-11-01T05:30:00Z"),
            "the first 01:30, still EDT"
        );
    }

    fn bar_starts(window: Window, zone: Tz, step: TrendStep) -> Vec<String> {
        let bars = window.bars(zone, step);
        for pair in bars.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "bars meet");
        }
        assert_eq!(bars.first().map(|b| b.start), Some(window.start));
        assert_eq!(bars.last().map(|b| b.end), Some(window.end));
        bars.iter()
            .map(|b| {
                b.start
                    .with_timezone(&zone)
                    .format("%d %H:%M%:z")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn hour_bars_follow_daylight_saving_and_half_hour_zones() {
        let ny = chrono_tz::America::New_York;
        let day_of = |date: &str| {
            let start = local_midnight(ny, NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap());
            Window {
                start,
                end: local_midnight(
                    ny,
                    start.with_timezone(&ny).date_naive().succ_opt().unwrap(),
                ),
            }
        };
        let autumn = bar_starts(day_of("2026-11-01"), ny, TrendStep::Hour);
        assert_eq!(autumn.len(), 25, "{autumn:?}");
        assert_eq!(
            autumn[1..3],
            ["01 01:00-04:00", "01 01:00-05:00"],
            "01:00 twice"
        );
        let spring = bar_starts(day_of("2026-03-08"), ny, TrendStep::Hour);
        assert_eq!(spring.len(), 23);
        assert_eq!(
            spring[1..3],
            ["08 01:00-05:00", "08 03:00-04:00"],
            "no 02:00"
        );

        // The last 24 hours at 09:20 UTC in Kolkata (+05:30): a partial first hour.
        let kolkata = chrono_tz::Asia::Kolkata;
        let now = utc("2026-11-03T09:20:00Z");
        let bars = bar_starts(Windows::at(now, kolkata).last_24h, kolkata, TrendStep::Hour);
        assert_eq!(bars.len(), 25);
        assert_eq!(bars[..2], ["02 14:50+05:30", "02 15:00+05:30"]);
        assert_eq!(bars[24], "03 14:00+05:30");
    }

    #[test]
    fn day_bars_are_local_days_of_23_to_25_hours() {
        let berlin = chrono_tz::Europe::Berlin;
        let now = utc("2026-10-27T10:00:00Z");
        let w = Windows::at(now, berlin);
        let bars = w.trend.bars(berlin, TrendStep::Day);
        assert_eq!(bars.len(), 30, "the last 30 days, today included");
        assert_eq!(bars[0].start, utc("2026-09-27T22:00:00Z"));
        let autumn = bars
            .iter()
            .find(|b| b.start == utc("2026-10-24T22:00:00Z"))
            .unwrap();
        assert_eq!(autumn.end - autumn.start, Duration::hours(25));
        assert_eq!(bars[29].end, now, "today so far");

        let santiago = chrono_tz::America::Santiago;
        let september = Window {
            start: utc("2026-09-05T04:00:00Z"),
            end: utc("2026-09-08T03:00:00Z"),
        };
        assert_eq!(
            bar_starts(september, santiago, TrendStep::Day),
            ["05 00:00-04:00", "06 01:00-03:00", "07 00:00-03:00"],
            "the 6th starts at 01:00, its midnight skipped"
        );
        let empty = Window {
            start: now,
            end: now,
        };
        assert_eq!(empty.bars(berlin, TrendStep::Hour), vec![]);
    }
}
