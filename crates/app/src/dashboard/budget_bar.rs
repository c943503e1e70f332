//! Spend against a budget where the spend is read: "Cost Today $4.10 of $5.00" and the
//! month's cost likewise, each with a bar coloured by the warning level reached. Shown in
//! the default view only: with a range chosen, the cards are the range's, not today's.

use leptos::prelude::*;
use model::budgets::{BudgetUse, Budgets};
use model::dashboard::DashboardStats;
use model::format::dollars;

/// Today's cost card, with today's budget when there is one.
#[component]
pub fn CostTodayCard(stats: Signal<DashboardStats>, title: &'static str) -> impl IntoView {
    view! {
        <div class="card" data-testid="cost-today">
            <p class="card-title">{title}</p>
            <p class="card-value">
                <span data-testid="value">{move || stats.with(|s| dollars(s.today_stats.cost))}</span>
                <BudgetOf stats which=|b| b.daily.clone()/>
            </p>
            <BudgetBar stats which=|b| b.daily.clone() name="Daily budget" testid="daily-budget"/>
            <p class="card-subtitle" data-testid="subtitle">"WaveSpeed charges"</p>
        </div>
    }
}

/// ` of $5.00` after the amount spent.
#[component]
pub fn BudgetOf(
    stats: Signal<DashboardStats>,
    which: fn(&Budgets) -> Option<BudgetUse>,
) -> impl IntoView {
    move || {
        stats.with(|s| {
            let used = which(&s.budgets).filter(|_| s.range.is_none())?;
            Some(view! { <span class="budget-of" data-testid="budget-of">{format!(" of {}", dollars(used.budget))}</span> })
        })
    }
}

/// The bar: spent / budget, full at the budget, coloured by the highest level reached.
#[component]
pub fn BudgetBar(
    stats: Signal<DashboardStats>,
    which: fn(&Budgets) -> Option<BudgetUse>,
    name: &'static str,
    testid: &'static str,
) -> impl IntoView {
    move || {
        stats.with(|s| {
            let used = which(&s.budgets).filter(|_| s.range.is_none())?;
            let level = s.budgets.level_reached(&used);
            let class = match level {
                None => "budget-bar budget-ok",
                Some(level) if level < 100 => "budget-bar budget-warn",
                Some(_) => "budget-bar budget-over",
            };
            let shown = used.percent.clamp(0.0, 100.0);
            let text = format!(
                "{} of {} ({:.0}%)",
                dollars(used.spent),
                dollars(used.budget),
                used.percent
            );
            Some(view! {
                <div
                    class=class
                    role="progressbar"
                    aria-label=name
                    aria-valuemin="0"
                    aria-valuemax="100"
                    aria-valuenow=format!("{shown:.0}")
                    aria-valuetext=text.clone()
                    title=text
                    data-testid=testid
                    data-level=level.map(|level| level.to_string())
                >
                    // Drawn as SVG: the policy allows no inline style.
                    <svg class="budget-track" viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true">
                        <rect class="budget-fill" width=format!("{shown:.1}") height="1"></rect>
                    </svg>
                </div>
            })
        })
    }
}
