//! Today's cards: users, generations, success rate and cost.

use super::budget_bar::CostTodayCard;
use leptos::prelude::*;
use model::dashboard::DashboardStats;
use model::format::{count, percent, window_name};

#[component]
pub fn StatCard(
    title: &'static str,
    value: Signal<String>,
    subtitle: Signal<String>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="card" data-testid=testid>
            <p class="card-title">{title}</p>
            <p class="card-value" data-testid="value">{value}</p>
            <p class="card-subtitle" data-testid="subtitle">{subtitle}</p>
        </div>
    }
}

#[component]
pub fn OverviewCards(stats: Signal<DashboardStats>) -> impl IntoView {
    let text = move |f: fn(&DashboardStats) -> String| Signal::derive(move || stats.with(f));
    // A chosen range is the same for every refresh of this page.
    let ranged = stats.with_untracked(|s| s.range.is_some());
    let title = move |default: &'static str, in_range: &'static str| {
        if ranged {
            in_range
        } else {
            default
        }
    };
    view! {
        <section class="cards" aria-label=move || stats.with(|s| window_name(s, "Today"))>
            <StatCard
                title=title("Active Users Today", "Active Users")
                testid="active-users-today"
                value=text(|s| count(s.today_stats.active_users))
                subtitle=text(|s| format!("{} with credits", count(s.user_stats.users_with_credits)))
            />
            <StatCard
                title=title("Generations Today", "Generations")
                testid="generations-today"
                value=text(|s| count(s.today_stats.generations))
                subtitle=text(|s| format!("{} failed", count(s.today_stats.failed)))
            />
            <StatCard
                title=title("Success Rate (7 days)", "Success Rate")
                testid="success-rate-7d"
                value=text(|s| percent(s.success_rate))
                subtitle=text(|s| format!("{} refunds issued", count(s.refunds_last_7_days)))
            />
            <CostTodayCard stats title=title("Cost Today", "Cost")/>
        </section>
    }
}
