//! Which health changes deserve a message, and the message: Slack's `{"text": …}` with the
//! figures beside it as fields of their own (Slack ignores them; other receivers can read
//! them without parsing the text).

use super::AlertKind;
use chrono::{DateTime, SecondsFormat, Utc};
use model::dashboard::{HealthStatus, SystemHealth};
use model::format::{count, percent};
use serde_json::{json, Value};

/// Degraded and critical are what admins are alerted to.
fn alarming(status: HealthStatus) -> bool {
    matches!(status, HealthStatus::Degraded | HealthStatus::Critical)
}

/// A change to or from degraded or critical; healthy and idle come and go silently (a
/// quiet night is not news). `previous` is `None` at the very first check, which speaks
/// only when health is bad already.
pub fn deserves_alert(previous: Option<HealthStatus>, current: HealthStatus) -> bool {
    match previous {
        None => alarming(current),
        Some(previous) => previous != current && (alarming(previous) || alarming(current)),
    }
}

/// One message, the same for every webhook.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    pub kind: AlertKind,
    pub previous: Option<HealthStatus>,
    pub health: &'a SystemHealth,
    pub at: DateTime<Utc>,
    /// The dashboard's address, when `public-url` says where admins open it.
    pub dashboard: Option<&'a str>,
}

impl Message<'_> {
    /// The JSON body.
    pub fn body(&self) -> Value {
        let health = self.health;
        let mut body = json!({
            "text": self.text(),
            "kind": self.kind.as_str(),
            "status": health.status.as_str(),
            "previous": self.previous.map(HealthStatus::as_str),
            "failureRate": health.failure_rate,
            "tasksLast24h": health.tasks_last_24h,
            "failureLast24h": health.failure_last_24h,
            "at": self.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        });
        if let Some(dashboard) = self.dashboard {
            body["dashboard"] = dashboard.into();
        }
        body
    }

    /// What a person reads in the channel.
    fn text(&self) -> String {
        let status = self.health.status.as_str();
        let headline = match (self.kind, self.previous) {
            (AlertKind::Test, _) => {
                format!(
                    "Test alert from usage-monitor: this webhook works. Health is {status} now."
                )
            }
            (_, None) => format!("usage-monitor: health is {status}."),
            (_, Some(previous)) if alarming(self.health.status) => {
                format!(
                    "usage-monitor: health is {status} (was {}).",
                    previous.as_str()
                )
            }
            (_, Some(previous)) => format!(
                "usage-monitor: health is back to {status} (was {}).",
                previous.as_str()
            ),
        };
        let figures = match self.health.failure_rate {
            Some(_) => format!(
                "{} of finished generations failed in the last 24 h ({} failed of {} tasks).",
                percent(self.health.failure_rate),
                count(self.health.failure_last_24h),
                count(self.health.tasks_last_24h)
            ),
            None => "No generation finished in the last 24 h.".to_owned(),
        };
        match self.dashboard {
            Some(dashboard) => format!("{headline} {figures} <{dashboard}|Open the dashboard>"),
            None => format!("{headline} {figures}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use HealthStatus::*;

    #[test]
    fn changes_to_and_from_degraded_or_critical_are_announced() {
        for (previous, current, announced) in [
            (None, Healthy, false),
            (None, Idle, false),
            (None, Degraded, true),
            (None, Critical, true),
            (Some(Healthy), Healthy, false),
            (Some(Healthy), Idle, false),
            (Some(Idle), Healthy, false),
            (Some(Healthy), Degraded, true),
            (Some(Degraded), Critical, true),
            (Some(Critical), Degraded, true),
            (Some(Critical), Healthy, true),
            (Some(Degraded), Idle, true),
            (Some(Idle), Critical, true),
            (Some(Critical), Critical, false),
            (Some(Degraded), Degraded, false),
        ] {
            assert_eq!(
                deserves_alert(previous, current),
                announced,
                "{previous:?} → {current:?}"
            );
        }
    }

    fn health(status: HealthStatus, failed: i64, tasks: i64) -> SystemHealth {
        SystemHealth {
            status,
            tasks_last_24h: tasks,
            failure_last_24h: failed,
            failure_rate: model::dashboard::percent_of(failed, tasks - failed),
        }
    }

    #[test]
    fn a_change_reads_as_slack_text_with_the_figures_as_fields() {
        let critical = health(Critical, 1_250, 5_000);
        let message = Message {
            kind: AlertKind::Change,
            previous: Some(Degraded),
            health: &critical,
            at: Utc.with_ymd_and_hms(2026, 11, 3, 9, 15, 0).unwrap(),
            dashboard: Some("https://usage.example.com/admin/credits"),
        };
        assert_eq!(
            message.body(),
            json!({
                "text": "usage-monitor: health is critical (was degraded). 25.0% of finished generations failed in the last 24 h (1,250 failed of 5,000 tasks). <https://usage.example.com/admin/credits|Open the dashboard>",
                "kind": "change",
                "status": "critical",
                "previous": "degraded",
                "failureRate": 25.0,
                "tasksLast24h": 5000,
                "failureLast24h": 1250,
                "at": "2026-11-03T09:15:00Z",
                "dashboard": "https://usage.example.com/admin/credits",
            })
        );
    }

    #[test]
    fn recoveries_first_checks_idle_days_and_tests_say_so() {
        let at = Utc.with_ymd_and_hms(2026, 11, 3, 9, 15, 0).unwrap();
        let text = |kind, previous, health: &SystemHealth| {
            let body = Message {
                kind,
                previous,
                health,
                at,
                dashboard: None,
            }
            .body();
            assert!(body.get("dashboard").is_none());
            body["text"].as_str().unwrap().to_owned()
        };
        assert_eq!(
            text(AlertKind::Change, Some(Critical), &health(Healthy, 1, 100)),
            "usage-monitor: health is back to healthy (was critical). 1.0% of finished generations failed in the last 24 h (1 failed of 100 tasks)."
        );
        assert_eq!(
            text(AlertKind::Change, None, &health(Degraded, 1, 10)),
            "usage-monitor: health is degraded. 10.0% of finished generations failed in the last 24 h (1 failed of 10 tasks)."
        );
        assert_eq!(
            text(AlertKind::Change, Some(Degraded), &health(Idle, 0, 0)),
            "usage-monitor: health is back to idle (was degraded). No generation finished in the last 24 h."
        );
        assert_eq!(
            text(AlertKind::Test, None, &health(Healthy, 0, 3)),
            "Test alert from usage-monitor: this webhook works. Health is healthy now. 0.0% of finished generations failed in the last 24 h (0 failed of 3 tasks)."
        );
    }
}
