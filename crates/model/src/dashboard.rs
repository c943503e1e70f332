//! The dashboard's figures, as docs/metrics.md defines
//! them: the types shared by server and browser, and the arithmetic on them.
//!
//! The server fills [`DashboardStats`] from SQL aggregates (`query`, server only); everything
//! here is plain Rust so that it is tested without a database or a browser.

pub use super::money::{group_thousands, Money, MoneyParseError};
pub use super::range::{DateRange, Preset, RangeQuery};
pub use super::tier::Tier;
pub use super::trend::{Trend, TrendCounts, TrendStep};

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Everything the Credits tab shows, computed at one instant (`generatedAt`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardStats {
    /// The `now` of every window, in the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub generated_at: DateTime<FixedOffset>,
    /// The reporting time zone (IANA name) in which "today" and "this month" are computed.
    pub time_zone: String,
    /// The range chosen in place of the default windows; absent in the default view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ChosenRange>,
    pub today_stats: TodayStats,
    pub month_stats: MonthStats,
    /// Success rate over the last 7 days in percent; `null` when nothing finished.
    pub success_rate: Option<f64>,
    pub refunds_last_7_days: i64,
    pub user_stats: UserStats,
    /// Usage per provider over the last 30 days, busiest first.
    pub providers: Vec<ProviderUsage>,
    /// Failed generations of the last 7 days, newest first, at most [`RECENT_FAILURES_LIMIT`].
    pub recent_failures: Vec<RecentFailure>,
    /// The same failures grouped by their error's pattern, newest group first, at most
    /// [`ERROR_GROUPS_LIMIT`](super::error_group::ERROR_GROUPS_LIMIT).
    #[serde(default)]
    pub error_groups: Vec<super::error_group::ErrorGroup>,
    /// Refunds that went wrong among the generations of the last 30 days.
    pub reconciliation: Reconciliation,
    pub system_health: SystemHealth,
    /// Generations per day of the last 30 days (today's so far), or per day or hour of
    /// the chosen range.
    pub trend: Trend,
    /// Revenue and margin this month or over the chosen range; `null` while a tier's credit
    /// value is not set (see `creditValuesUnset`) or when a sum would pass the largest kept.
    pub margin: Option<super::margin::Margin>,
    /// The tiers whose credit value is not set, for which the margin is unknown.
    pub credit_values_unset: Vec<Tier>,
    /// Today's and this month's cost against their budgets, and users over their limit.
    pub budgets: super::budgets::Budgets,
}

/// With a range chosen, the cards, the summary, the providers, consumed credits and the
/// failures cover it in place of today, this month, 7 and 30 days; health stays the last
/// 24 hours and balances are as of now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChosenRange {
    /// `Last 7 days`, `2026-11-01 – 2026-11-15`.
    pub label: String,
    /// Its first instant, in the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub from: DateTime<FixedOffset>,
    /// The instant after it (the range excludes it).
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub to: DateTime<FixedOffset>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TodayStats {
    pub active_users: i64,
    pub generations: i64,
    pub successful: i64,
    pub failed: i64,
    pub cost: Money,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthStats {
    pub generations: i64,
    pub successful: i64,
    pub failed: i64,
    pub cost: Money,
    /// Refunds issued this month (by the refund's own time).
    pub refunds: i64,
    /// `successful / (successful + failed)` in percent; `null` when nothing finished.
    pub success_rate: Option<f64>,
    /// `cost / generations`, rounded to the micro-dollar; 0 when there are none.
    pub average_cost: Money,
    /// This month's cost at its end, if the last 7 whole days' pace goes on; `null` without
    /// a whole day of data, and with a range chosen.
    pub projected_cost: Option<Money>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStats {
    pub users_with_credits: i64,
    pub total_credits_in_circulation: i64,
    pub credits_by_tier: CreditsByTier,
}

/// Always all three tiers, so that an empty tier reads as zeros rather than going missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditsByTier {
    pub free: TierCredits,
    pub plus: TierCredits,
    pub pro: TierCredits,
}

impl CreditsByTier {
    pub fn get_mut(&mut self, tier: Tier) -> &mut TierCredits {
        match tier {
            Tier::Free => &mut self.free,
            Tier::Plus => &mut self.plus,
            Tier::Pro => &mut self.pro,
        }
    }

    pub fn get(&self, tier: Tier) -> &TierCredits {
        match tier {
            Tier::Free => &self.free,
            Tier::Plus => &self.plus,
            Tier::Pro => &self.pro,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierCredits {
    /// Users now in the tier.
    pub count: i64,
    /// Sum of their balances.
    pub total_credits: i64,
    /// Credits charged minus credits refunded, for generations created this month by users
    /// now in the tier.
    pub total_consumed: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderUsage {
    pub name: String,
    pub total_calls: i64,
    pub successful: i64,
    pub failed: i64,
    pub success_rate: Option<f64>,
    pub total_cost: Money,
    /// Median of `completed_at − created_at` of its finished generations, in milliseconds
    /// (within 4.5 %); `null` when none finished with a completion time.
    pub latency_p50_ms: Option<f64>,
    /// The 95th percentile, the same way.
    pub latency_p95_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentFailure {
    pub id: String,
    pub provider: String,
    pub error: String,
    /// When the generation was created, in the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub time: DateTime<FixedOffset>,
}

/// Money lost to bugs: failures that were never refunded, and refunds that gave back more
/// than was charged (a generation's credits corrected after its refund).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    /// Failed generations with no refund `grace_minutes` after they were created.
    pub unrefunded_failures: i64,
    /// Refunds of more credits than their generation is charged.
    pub over_refunds: i64,
    pub grace_minutes: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemHealth {
    pub status: HealthStatus,
    pub tasks_last_24h: i64,
    pub failure_last_24h: i64,
    /// `failed / (succeeded + failed)` over the last 24 h in percent; `null` when idle.
    pub failure_rate: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Critical,
    /// Nothing finished in the last 24 h: no rate to judge by.
    Idle,
}

impl HealthStatus {
    pub const ALL: [HealthStatus; 4] = [
        HealthStatus::Healthy,
        HealthStatus::Degraded,
        HealthStatus::Critical,
        HealthStatus::Idle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Critical => "critical",
            HealthStatus::Idle => "idle",
        }
    }
}

/// Failure rates (in percent) at which health turns degraded and critical.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthThresholds {
    pub degraded_at_percent: f64,
    pub critical_at_percent: f64,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        HealthThresholds {
            degraded_at_percent: 5.0,
            critical_at_percent: 20.0,
        }
    }
}

/// How many recent failures the dashboard lists.
pub const RECENT_FAILURES_LIMIT: i64 = 10;

/// What the page needs besides the figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardSettings {
    pub refresh_seconds: u64,
}

/// `numerator / (numerator + other)` in percent, or `None` when both are 0: a rate with
/// nothing to divide is unknown, not 0 %.
pub fn percent_of(numerator: i64, other: i64) -> Option<f64> {
    let total = numerator + other;
    (total > 0).then(|| numerator as f64 * 100.0 / total as f64)
}

/// Success rate of finished generations; pending ones do not count.
pub fn success_rate(successful: i64, failed: i64) -> Option<f64> {
    percent_of(successful, failed)
}

/// Mean cost per generation, rounded half away from zero to the micro-dollar; 0 for none.
pub fn average_cost(cost: Money, generations: i64) -> Money {
    if generations <= 0 {
        return Money::ZERO;
    }
    let (total, n) = (cost.micros() as i128, generations as i128);
    Money::from_micros(((2 * total + n) / (2 * n)) as i64)
}

/// Health over the last 24 h from its finished generations.
pub fn health_status(succeeded: i64, failed: i64, thresholds: HealthThresholds) -> HealthStatus {
    let finished = succeeded + failed;
    if finished == 0 {
        return HealthStatus::Idle;
    }
    // Compared as `failed * 100 >= threshold * finished`, so that 1 in 20 is exactly 5 %.
    let (failed, finished) = (failed as f64 * 100.0, finished as f64);
    if failed >= thresholds.critical_at_percent * finished {
        HealthStatus::Critical
    } else if failed >= thresholds.degraded_at_percent * finished {
        HealthStatus::Degraded
    } else {
        HealthStatus::Healthy
    }
}

/// Busiest provider first; ties by name, compared as bytes so that every backend agrees.
pub fn sort_providers(providers: &mut [ProviderUsage]) {
    providers.sort_by(|a, b| {
        b.total_calls
            .cmp(&a.total_calls)
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_with_nothing_to_divide_are_unknown() {
        assert_eq!(success_rate(0, 0), None);
        assert_eq!(success_rate(0, 3), Some(0.0));
        assert_eq!(success_rate(3, 1), Some(75.0));
        let two_thirds = success_rate(2, 1).unwrap();
        assert!((two_thirds - 66.666_666).abs() < 1e-4);
    }

    #[test]
    fn average_cost_rounds_to_the_micro_dollar_and_is_zero_without_generations() {
        assert_eq!(average_cost(Money::from_micros(1_000_000), 0), Money::ZERO);
        assert_eq!(
            average_cost(Money::from_micros(1_000_000), 3),
            Money::from_micros(333_333)
        );
        assert_eq!(
            average_cost(Money::from_micros(2_000_000), 3),
            Money::from_micros(666_667)
        );
        assert_eq!(
            average_cost(Money::from_micros(5), 2),
            Money::from_micros(3)
        );
    }

    #[test]
    fn health_follows_the_thresholds_at_their_edges() {
        let t = HealthThresholds::default();
        assert_eq!(health_status(0, 0, t), HealthStatus::Idle);
        assert_eq!(health_status(100, 0, t), HealthStatus::Healthy);
        assert_eq!(health_status(96, 4, t), HealthStatus::Healthy);
        assert_eq!(
            health_status(19, 1, t),
            HealthStatus::Degraded,
            "1 in 20 is exactly 5 %"
        );
        assert_eq!(health_status(81, 19, t), HealthStatus::Degraded);
        assert_eq!(
            health_status(4, 1, t),
            HealthStatus::Critical,
            "1 in 5 is exactly 20 %"
        );
        assert_eq!(health_status(0, 1, t), HealthStatus::Critical);
        let strict = HealthThresholds {
            degraded_at_percent: 1.0,
            critical_at_percent: 2.0,
        };
        assert_eq!(health_status(98, 2, strict), HealthStatus::Critical);
    }

    #[test]
    fn providers_sort_by_calls_then_name() {
        let row = |name: &str, calls| ProviderUsage {
            name: name.into(),
            total_calls: calls,
            successful: 0,
            failed: 0,
            success_rate: None,
            total_cost: Money::ZERO,
            latency_p50_ms: None,
            latency_p95_ms: None,
        };
        let mut rows = vec![row("b", 2), row("a", 2), row("Z", 1), row("c", 9)];
        sort_providers(&mut rows);
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["c", "a", "b", "Z"]);
    }

    #[test]
    fn json_field_names_are_those_of_the_contract() {
        let stats = DashboardStats {
            generated_at: DateTime::parse_from_rfc3339("2026-11-03T10:00:00+01:00").unwrap(),
            time_zone: "Europe/Berlin".into(),
            range: None,
            today_stats: TodayStats::default(),
            month_stats: MonthStats::default(),
            success_rate: None,
            refunds_last_7_days: 0,
            user_stats: UserStats::default(),
            providers: vec![],
            recent_failures: vec![],
            error_groups: vec![],
            reconciliation: Reconciliation::default(),
            system_health: SystemHealth {
                status: HealthStatus::Idle,
                tasks_last_24h: 0,
                failure_last_24h: 0,
                failure_rate: None,
            },
            trend: Trend {
                step: TrendStep::Day,
                bars: vec![crate::trend::TrendBar {
                    start: DateTime::parse_from_rfc3339("2026-11-03T00:00:00+01:00").unwrap(),
                    providers: [("NanoBanana".to_owned(), TrendCounts::default())].into(),
                }],
                end: DateTime::parse_from_rfc3339("2026-11-03T10:00:00+01:00").unwrap(),
            },
            margin: None,
            credit_values_unset: vec![Tier::Plus],
            budgets: crate::budgets::Budgets {
                daily: Some(crate::budgets::BudgetUse::new(
                    Money::from_micros(4_100_000),
                    Money::from_micros(5_000_000),
                )),
                ..Default::default()
            },
        };
        let json = serde_json::to_value(&stats).unwrap();
        for path in [
            "/todayStats/activeUsers",
            "/todayStats/cost",
            "/monthStats/refunds",
            "/monthStats/projectedCost",
            "/margin",
            "/creditValuesUnset/0",
            "/successRate",
            "/refundsLast7Days",
            "/userStats/usersWithCredits",
            "/userStats/totalCreditsInCirculation",
            "/userStats/creditsByTier/free/totalConsumed",
            "/userStats/creditsByTier/plus/count",
            "/userStats/creditsByTier/pro/totalCredits",
            "/systemHealth/tasksLast24h",
            "/systemHealth/failureLast24h",
            "/systemHealth/status",
            "/trend/step",
            "/trend/end",
            "/trend/bars/0/start",
            "/trend/bars/0/providers/NanoBanana/pending",
            "/budgets/daily/spent",
            "/budgets/daily/budget",
            "/budgets/daily/percent",
            "/budgets/monthly",
            "/budgets/usersOverLimit",
        ] {
            assert!(json.pointer(path).is_some(), "missing {path} in {json}");
        }
        assert_eq!(json["successRate"], serde_json::Value::Null);
        assert_eq!(json["systemHealth"]["status"], "idle");
        assert_eq!(json["budgets"]["monthly"], serde_json::Value::Null);
        assert_eq!(json["budgets"]["daily"]["spent"], 4.1);
        let back: DashboardStats = serde_json::from_value(json).unwrap();
        assert_eq!(back, stats);
    }
}
