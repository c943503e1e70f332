//! This month's summary (or the chosen range's).

use super::*;

#[component]
pub fn MonthSummary(stats: Signal<DashboardStats>) -> impl IntoView {
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
            <dl class="figures">
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
            </dl>
        </section>
    }
}
