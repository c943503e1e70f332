//! Budgets' test data, for the store's tests and those of the crates above: March 2026
//! around New York's spring change, its generations and the settings that read them.

use super::*;
use crate::ingest::import_lines;
use chrono_tz::America::New_York;
use model::budgets::BudgetSettings;
use serde_json::json;

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn money(dollars: &str) -> Money {
    model::budgets::parse_amount(dollars, "test")
        .unwrap()
        .unwrap()
}

/// Generations `(id, user, cost in dollars, created_at)`, their users made first.
pub async fn generations(db: &Db, rows: &[(&str, &str, &str, &str)]) {
    let mut text = String::new();
    for (_, user, _, _) in rows {
        let event = json!({"kind": "user", "id": user, "tier": "free", "credits": 0});
        text.push_str(&format!("{event}\n"));
    }
    for (id, user, cost, at) in rows {
        let event = json!({"kind": "generation", "id": id, "user_id": user,
            "provider": "NanoBanana", "status": "succeeded", "credits": 1, "cost_usd": cost,
            "created_at": at});
        text.push_str(&format!("{event}\n"));
    }
    let report = import_lines(db, text.as_bytes(), false).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

/// Around the spring change: 2026-03-08 in New York is 23 hours long, from 05:00 UTC to
/// 04:00 UTC the next day.
pub const MARCH: &[(&str, &str, &str, &str)] = &[
    ("m1", "u1", "3.00", "2026-03-08T04:30:00Z"), // 7 March, 23:30 EST
    ("m2", "u1", "2.00", "2026-03-08T05:30:00Z"), // 8 March, 00:30 EST
    ("m3", "u2", "2.50", "2026-03-08T08:30:00Z"), // 8 March, 04:30 EDT
    ("m4", "u2", "1.00", "2026-03-09T03:30:00Z"), // 8 March, 23:30 EDT
    ("m5", "u3", "4.50", "2026-03-09T04:30:00Z"), // 9 March, 00:30 EDT
];

pub fn new_york(budgets: BudgetSettings) -> ReportSettings {
    ReportSettings {
        budgets,
        ..ReportSettings::in_zone(New_York)
    }
}
