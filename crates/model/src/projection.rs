//! The month-end projection (docs/metrics.md, "Month-end projection"): this month's cost so
//! far, plus the average daily cost of the last 7 whole local days times the days left.

use super::money::Money;
use super::windows::Window;
use chrono::NaiveDate;

/// How many whole days the average is taken over.
pub const AVERAGED_DAYS: i64 = 7;

const MICROS_PER_DAY: i128 = 24 * 3600 * 1_000_000;

/// How many of the 7 whole local days before `today` hold data: those on or after
/// `first_day`, the local day of the first generation ever (that day counts whole).
pub fn whole_days_with_data(first_day: NaiveDate, today: NaiveDate) -> i64 {
    (today - first_day).num_days().clamp(0, AVERAGED_DAYS)
}

/// `so_far` plus `last_days_cost / whole_days` per day for the days left in `rest` (its
/// length in hours over 24, so 23- and 25-hour days count as they are), rounded half away
/// from zero to the micro-dollar. `None` without a whole day of data, or when the result
/// would pass the largest sum kept.
pub fn projected_cost(
    so_far: Money,
    last_days_cost: Money,
    whole_days: i64,
    rest: Window,
) -> Option<Money> {
    if whole_days <= 0 {
        return None;
    }
    let left_micros = i128::from((rest.end - rest.start).num_microseconds()?.max(0));
    let numerator = i128::from(last_days_cost.micros()) * left_micros;
    let denominator = i128::from(whole_days) * MICROS_PER_DAY;
    let rest_cost = (2 * numerator + numerator.signum() * denominator) / (2 * denominator);
    let total = i128::from(so_far.micros()) + rest_cost;
    i64::try_from(total).ok().map(Money::from_micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::Windows;
    use chrono::{DateTime, Utc};
    use chrono_tz::Tz;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn dollars(n: i64) -> Money {
        Money::from_micros(n * 1_000_000)
    }

    /// The projection at `now` in `zone` with $1 so far and `per_day` dollars a day over 7 days.
    fn projection_at(now: &str, zone: Tz, per_day: i64) -> Money {
        let rest = Windows::at(utc(now), zone).rest_of_month.unwrap();
        projected_cost(dollars(1), dollars(7 * per_day), 7, rest).unwrap()
    }

    #[test]
    fn the_days_left_follow_the_months_length() {
        // Midnight starting the last day of February, and of January: 1 day left, and 4.
        assert_eq!(
            projection_at("2026-02-28T00:00:00Z", chrono_tz::UTC, 24),
            dollars(1 + 24)
        );
        assert_eq!(
            projection_at("2026-01-28T00:00:00Z", chrono_tz::UTC, 24),
            dollars(1 + 4 * 24)
        );
        // A leap year's February has a 29th.
        assert_eq!(
            projection_at("2028-02-28T00:00:00Z", chrono_tz::UTC, 24),
            dollars(1 + 2 * 24)
        );
    }

    #[test]
    fn daylight_saving_makes_the_month_an_hour_shorter_or_longer() {
        let ny = chrono_tz::America::New_York;
        // Midnight starting 7 March (EST) to 1 April (EDT): 25 days less an hour, 599 hours.
        assert_eq!(
            projection_at("2026-03-07T05:00:00Z", ny, 24),
            dollars(1 + 599)
        );
        // Midnight starting 1 November (EDT) to 1 December (EST): 30 days and an hour.
        assert_eq!(
            projection_at("2026-11-01T04:00:00Z", ny, 24),
            dollars(1 + 721)
        );
    }

    #[test]
    fn the_first_and_the_last_day_of_the_month() {
        // The first moment of December: all 31 days are left.
        assert_eq!(
            projection_at("2026-12-01T00:00:00Z", chrono_tz::UTC, 2),
            dollars(1 + 62)
        );
        // 18:00 on 31 December: a quarter of a day is left.
        assert_eq!(
            projection_at("2026-12-31T18:00:00Z", chrono_tz::UTC, 10),
            Money::from_micros(3_500_000)
        );
    }

    #[test]
    fn fewer_days_of_data_average_over_those_there_are() {
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        let today = day("2026-11-10");
        assert_eq!(whole_days_with_data(day("2026-11-07"), today), 3);
        assert_eq!(whole_days_with_data(day("2026-11-09"), today), 1);
        assert_eq!(
            whole_days_with_data(day("2026-11-10"), today),
            0,
            "today only"
        );
        assert_eq!(
            whole_days_with_data(day("2026-11-12"), today),
            0,
            "ahead of now"
        );
        assert_eq!(whole_days_with_data(day("2025-01-01"), today), 7);
        let rest = Windows::at(utc("2026-11-29T00:00:00Z"), chrono_tz::UTC)
            .rest_of_month
            .unwrap();
        // $6 over 3 days is $2 a day, for the 2 days left.
        assert_eq!(
            projected_cost(dollars(5), dollars(6), 3, rest),
            Some(dollars(9))
        );
        assert_eq!(projected_cost(dollars(5), dollars(6), 0, rest), None);
    }

    #[test]
    fn rounds_to_the_micro_dollar_and_never_overflows() {
        let rest = Windows::at(utc("2026-11-29T00:00:00Z"), chrono_tz::UTC)
            .rest_of_month
            .unwrap();
        let micros = Money::from_micros;
        // 2 days × 4 µ$ / 7 = 8/7 µ$: 1; 2 days × 7 µ$ / 7 = 2.
        assert_eq!(
            projected_cost(micros(0), micros(4), 7, rest),
            Some(micros(1))
        );
        assert_eq!(
            projected_cost(micros(0), micros(7), 7, rest),
            Some(micros(2))
        );
        // 2 × 3/7 = 0.857: 1, half away from zero.
        assert_eq!(
            projected_cost(micros(0), micros(3), 7, rest),
            Some(micros(1))
        );
        let huge = Money::from_micros(i64::MAX);
        assert_eq!(projected_cost(huge, huge, 1, rest), None);
        assert_eq!(
            projected_cost(huge, Money::ZERO, 1, rest),
            Some(huge),
            "nothing more to come"
        );
    }
}
