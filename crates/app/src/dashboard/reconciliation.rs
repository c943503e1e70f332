//! Refund reconciliation: failures never refunded, refunds not owed.

use crate::log::log_href;
use leptos::prelude::*;
use model::dashboard::{DashboardStats, DateRange, Preset, RangeQuery};
use model::format::{count, window_name};
use model::log::{LogQuery, Problem};

/// Failures never refunded and refunds over the charge, each counted and linked to the log
/// filtered on it, over the last 30 days or the chosen range.
#[component]
pub fn ReconciliationPanel(stats: Signal<DashboardStats>, query: RangeQuery) -> impl IntoView {
    let log_of = move |problem: Problem| {
        let mut log = LogQuery::of_range(&query);
        if DateRange::from_query(&query).ok().flatten().is_none() {
            log.range = Some(Preset::Last30Days.slug().to_owned());
        }
        log_href(&LogQuery {
            problem: Some(problem.slug().to_owned()),
            ..log
        })
    };
    let figure = move |label: String,
                       testid: &'static str,
                       value: fn(&DashboardStats) -> i64,
                       problem: Problem| {
        let href = log_of(problem);
        view! {
            <div class=move || { if stats.with(value) > 0 { "figure figure-bad" } else { "figure" } } data-testid=testid>
                <dt>{label}</dt>
                <dd><a href=href>{move || count(stats.with(value))}</a></dd>
            </div>
        }
    };
    let grace = stats.with_untracked(|s| s.reconciliation.grace_minutes);
    view! {
        <section class="panel" aria-labelledby="reconciliation-heading" data-testid="reconciliation">
            <h2 id="reconciliation-heading">
                "Refund Reconciliation "
                <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, "Last 30 Days")))}</span>
            </h2>
            <dl class="figures">
                {figure(
                    format!("Failed, not refunded after {grace} min"),
                    "unrefunded-failures",
                    |s| s.reconciliation.unrefunded_failures,
                    Problem::Unrefunded,
                )}
                {figure(
                    "Refunds larger than charged".to_owned(),
                    "over-refunds",
                    |s| s.reconciliation.over_refunds,
                    Problem::OverRefunded,
                )}
            </dl>
        </section>
    }
}
