//! How figures read on the page (and in `usage-monitor stats`): plain functions, the same
//! on server and browser so that hydration finds the text it expects.

use crate::dashboard::group_thousands;
use crate::dashboard::{DashboardStats, HealthStatus, Money};
use crate::dates;
use chrono::{DateTime, Datelike, FixedOffset};

/// Shown where a rate has nothing to divide.
pub const NO_RATE: &str = "—";

/// `94.2%`, or `—` when unknown.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(rate) => format!("{rate:.1}%"),
        None => NO_RATE.to_owned(),
    }
}

/// Text as Slack's `text` shows it rather than reads it: `&`, `<` and `>` escaped, so that
/// a user id such as `<!channel>` notifies no one and links nowhere.
pub fn slack_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `1,234`.
pub fn count(n: i64) -> String {
    let grouped = group_thousands(n.unsigned_abs());
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// `$4.50`.
pub fn dollars(money: Money) -> String {
    money.display_dollars()
}

/// `2 hours ago`, counted from the figures' own time so that server and browser agree.
pub fn relative_time(then: DateTime<FixedOffset>, now: DateTime<FixedOffset>) -> String {
    let seconds = (now - then).num_seconds();
    let (n, unit) = match seconds {
        ..60 => return "just now".to_owned(),
        60..3_600 => (seconds / 60, "minute"),
        3_600..86_400 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// `850 ms`, `12.3 s`, `4.2 min`, `1.5 h`: a latency; `—` when unknown.
pub fn latency(ms: Option<f64>) -> String {
    match ms {
        None => NO_RATE.to_owned(),
        Some(ms) if ms < 1_000.0 => format!("{ms:.0} ms"),
        Some(ms) if ms < 60_000.0 => format!("{:.1} s", ms / 1_000.0),
        Some(ms) if ms < 3_600_000.0 => format!("{:.1} min", ms / 60_000.0),
        Some(ms) => format!("{:.1} h", ms / 3_600_000.0),
    }
}

/// `2 min`, for how old the figures on screen are.
pub fn age(seconds: u64) -> String {
    match seconds {
        ..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3_600, seconds % 3_600 / 60),
    }
}

/// `2026-11-03 09:15:00 +01:00`, the exact time behind a relative one.
pub fn exact_time(time: DateTime<FixedOffset>) -> String {
    let date = dates::iso_date(&time);
    let clock = dates::hour_minute_second(&time);
    format!("{date} {clock} {}", dates::utc_offset(*time.offset()))
}

/// `14:03:12`.
pub fn clock(time: DateTime<FixedOffset>) -> String {
    dates::hour_minute_second(&time)
}

/// `November 2026`.
pub fn month_label(time: DateTime<FixedOffset>) -> String {
    format!("{} {}", dates::month_name(&time), time.year())
}

pub fn health_label(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "Healthy",
        HealthStatus::Degraded => "Degraded",
        HealthStatus::Critical => "Critical",
        HealthStatus::Idle => "Idle",
    }
}

/// The name of a range-based figure's window: the default one, or the chosen range.
pub fn window_name(stats: &DashboardStats, default: &str) -> String {
    match &stats.range {
        Some(range) => range.label.clone(),
        None => default.to_owned(),
    }
}

/// The figures as a few lines of text, for `usage-monitor stats`.
pub fn summary(stats: &DashboardStats) -> String {
    let today = &stats.today_stats;
    let month = &stats.month_stats;
    let health = &stats.system_health;
    let mut lines = vec![format!(
        "Credits & Usage Monitoring, {} ({})",
        exact_time(stats.generated_at),
        stats.time_zone
    )];
    if let Some(range) = &stats.range {
        lines.push(format!(
            "Range: {}, {} to {} (excluded)",
            range.label,
            exact_time(range.from),
            exact_time(range.to)
        ));
    }
    lines.extend([
        format!(
            "Health: {} ({} tasks in the last 24 h, {} failed)",
            health_label(health.status),
            count(health.tasks_last_24h),
            count(health.failure_last_24h)
        ),
        format!(
            "{}: {} active users, {} generations ({} failed), cost {}",
            window_name(stats, "Today"),
            count(today.active_users),
            count(today.generations),
            count(today.failed),
            dollars(today.cost)
        ),
        format!(
            "{}: success rate {}, {} refunds",
            window_name(stats, "Last 7 days"),
            percent(stats.success_rate),
            count(stats.refunds_last_7_days)
        ),
        format!(
            "{}: {} generations, cost {}, success rate {}, average {}, {} refunds",
            window_name(stats, &month_label(stats.generated_at)),
            count(month.generations),
            dollars(month.cost),
            percent(month.success_rate),
            dollars(month.average_cost),
            count(month.refunds)
        ),
    ]);
    if let Some(projected) = month.projected_cost {
        lines.push(format!("Projected this month: {}", dollars(projected)));
    }
    lines.push(margin_line(stats));
    for p in &stats.providers {
        lines.push(format!(
            "  {}: {} calls, {} failed, success {}, cost {}",
            p.name,
            count(p.total_calls),
            count(p.failed),
            percent(p.success_rate),
            dollars(p.total_cost)
        ));
    }
    lines.join("\n")
}

/// Revenue and margin in one line, or the tiers whose credit value is missing.
fn margin_line(stats: &DashboardStats) -> String {
    match &stats.margin {
        Some(margin) => format!(
            "Revenue {}, cost {}, margin {} ({})",
            dollars(margin.total.revenue),
            dollars(margin.total.cost),
            dollars(margin.total.margin),
            percent(margin.total.margin_percent)
        ),
        None if stats.credit_values_unset.is_empty() => {
            "Revenue and margin: past the largest sum kept".to_owned()
        }
        None => {
            let unset: Vec<&str> = (stats.credit_values_unset.iter())
                .map(|&tier| crate::margin::credit_value_setting(tier).key)
                .collect();
            format!("Revenue and margin: set {} first", unset.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn rates_round_to_one_decimal_and_unknown_is_a_dash() {
        assert_eq!(percent(Some(94.24)), "94.2%");
        assert_eq!(percent(Some(2.0 / 3.0 * 100.0)), "66.7%");
        assert_eq!(percent(Some(100.0)), "100.0%");
        assert_eq!(percent(None), "—");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = at("2026-11-03T12:00:00+01:00");
        assert_eq!(
            relative_time(at("2026-11-03T11:59:30+01:00"), now),
            "just now"
        );
        assert_eq!(
            relative_time(at("2026-11-03T11:59:00+01:00"), now),
            "1 minute ago"
        );
        assert_eq!(
            relative_time(at("2026-11-03T11:15:00+01:00"), now),
            "45 minutes ago"
        );
        assert_eq!(
            relative_time(at("2026-11-03T10:00:00+01:00"), now),
            "2 hours ago"
        );
        assert_eq!(
            relative_time(at("2026-11-03T09:00:00Z"), now),
            "2 hours ago",
            "offsets do not matter"
        );
        assert_eq!(
            relative_time(at("2026-11-01T11:00:00+01:00"), now),
            "2 days ago"
        );
    }

    #[test]
    fn ages_and_labels() {
        assert_eq!(age(42), "42 s");
        assert_eq!(age(150), "2 min");
        assert_eq!(age(3_720), "1 h 2 min");
        assert_eq!(
            month_label(at("2026-11-03T12:00:00+01:00")),
            "November 2026"
        );
        assert_eq!(
            exact_time(at("2026-11-03T09:05:07+05:30")),
            "2026-11-03 09:05:07 +05:30"
        );
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(latency(Some(849.6)), "850 ms");
        assert_eq!(latency(Some(12_345.0)), "12.3 s");
        assert_eq!(latency(Some(252_000.0)), "4.2 min");
        assert_eq!(latency(Some(5_400_000.0)), "1.5 h");
        assert_eq!(latency(None), "—");
    }
}
