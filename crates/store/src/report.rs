//! What every report reads by besides the data: the settings (time zone, health
//! thresholds, refund grace, credit values, budgets), and instants as the report shows
//! them.

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use model::dashboard::HealthThresholds;
use model::margin::CreditValues;

/// What the figures, the log, the alerts and the budgets read by besides the data.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    pub time_zone: Tz,
    pub health: HealthThresholds,
    /// How long a failed generation may wait for its refund before reconciliation counts it.
    pub refund_grace: chrono::Duration,
    /// What one credit earns in each tier, for revenue and margin.
    pub credit_values: CreditValues,
    /// The budgets until an admin saves some (`Leptos.toml`).
    pub budgets: model::budgets::BudgetSettings,
}

/// `refund-grace-minutes` unless configured.
pub const DEFAULT_REFUND_GRACE: chrono::Duration = chrono::Duration::minutes(15);

impl ReportSettings {
    /// The default thresholds and grace period, reporting in `zone`.
    pub fn in_zone(time_zone: Tz) -> ReportSettings {
        ReportSettings {
            time_zone,
            health: HealthThresholds::default(),
            refund_grace: DEFAULT_REFUND_GRACE,
            credit_values: CreditValues::default(),
            budgets: Default::default(),
        }
    }
}

/// The instant `micros` microseconds after the Unix epoch, as stored.
pub(crate) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// `instant` in the report's time zone, with its offset.
pub(crate) fn in_zone(instant: DateTime<Utc>, zone: Tz) -> DateTime<FixedOffset> {
    instant.with_timezone(&zone).fixed_offset()
}
