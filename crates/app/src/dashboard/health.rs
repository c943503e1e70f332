//! The health of the last 24 hours, as a banner.

use leptos::prelude::*;
use model::dashboard::DashboardStats;
use model::format::{count, health_label, percent};

#[component]
pub fn HealthBanner(stats: Signal<DashboardStats>) -> impl IntoView {
    let health = move || stats.with(|s| s.system_health.clone());
    view! {
        <section
            class=move || format!("health health-{}", health().status.as_str())
            data-testid="health"
            data-status=move || health().status.as_str()
            aria-label="System health, last 24 hours"
        >
            <span class="health-status">
                <span class="health-dot" aria-hidden="true"></span>
                {move || health_label(health().status)}
            </span>
            <span class="health-detail" data-testid="health-detail">
                {move || {
                    let h = health();
                    let tasks = format!("{} tasks in last 24h", count(h.tasks_last_24h));
                    match h.failure_rate {
                        Some(rate) => format!("{tasks} · {} failed ({})", count(h.failure_last_24h), percent(Some(rate))),
                        None => format!("{tasks} · none finished"),
                    }
                }}
            </span>
        </section>
    }
}
