//! This month's summary (or the chosen range's).

use super::budget_bar::{BudgetBar, BudgetOf};
use leptos::prelude::*;
use model::dashboard::DashboardStats;
use model::format::{count, dollars, month_label, percent, window_name, NO_RATE};

/// How the projection is made, on hover (docs/metrics.md has it in full).
const PROJECTION_METHOD: &str = "Cost so far plus the average daily cost of the last 7 whole days times the days left in the month; \"—\" before a whole day of data.";

#[component]
pub fn MonthSummaryPanel(stats: Signal<DashboardStats>) -> impl IntoView {
    let figure =
        move |label: &'static str, testid: &'static str, f: fn(&DashboardStats) -> String| {
            view! {
                <div class="figure" data-testid=testid>
                    <dt>{label}</dt>
                    <dd>{move || stats.with(f)}</dd>
                </div>
            }
        };
    view! {
        <section class="panel" aria-labelledby="month-heading">
            <h2 id="month-heading">
                {move || stats.with(|s| if s.range.is_some() { "Selected Range " } else { "This Month " })}
                <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, &month_label(s.generated_at))))}</span>
            </h2>
            <dl class="figures month-figures">
                {figure("Total Generations", "month-generations", |s| count(s.month_stats.generations))}
                <div class="figure" data-testid="month-cost">
                    <dt>"WaveSpeed Cost"</dt>
                    <dd>
                        <span data-testid="value">{move || stats.with(|s| dollars(s.month_stats.cost))}</span>
                        <BudgetOf stats which=|b| b.monthly.clone()/>
                        <BudgetBar stats which=|b| b.monthly.clone() name="Monthly budget" testid="monthly-budget"/>
                    </dd>
                </div>
                {figure("Success Rate", "month-success-rate", |s| percent(s.month_stats.success_rate))}
                {figure("Avg Cost / Generation", "month-average-cost", |s| dollars(s.month_stats.average_cost))}
                {figure("Refunds Issued", "month-refunds", |s| count(s.month_stats.refunds))}
                {move || stats.with(|s| s.range.is_none()).then(|| view! {
                    <div class="figure" data-testid="month-projected" title=PROJECTION_METHOD>
                        <dt>"Projected This Month"</dt>
                        <dd>{move || stats.with(|s| s.month_stats.projected_cost.map_or_else(|| NO_RATE.to_owned(), dollars))}</dd>
                    </div>
                })}
            </dl>
        </section>
    }
}
