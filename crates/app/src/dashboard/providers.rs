//! Usage per provider.

use crate::log::ExportLink;
use leptos::either::Either;
use leptos::prelude::*;
use model::dashboard::DashboardStats;
use model::format::{count, dollars, latency, percent, window_name};

#[component]
pub fn ProviderUsagePanel(stats: Signal<DashboardStats>, export: String) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="providers-heading">
            <div class="panel-head">
                <h2 id="providers-heading">"AI Provider Usage "
                    <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, "Last 30 Days")))}</span></h2>
                <ExportLink href=export table="providers"/>
            </div>
            {move || {
                let providers = stats.with(|s| s.providers.clone());
                if providers.is_empty() {
                    return Either::Left(view! { <p class="empty" data-testid="providers-empty">"No usage data yet"</p> });
                }
                Either::Right(view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="AI provider usage table">
                        <table class="stacking" data-testid="providers">
                            <thead>
                                <tr>
                                    <th scope="col">"Provider"</th>
                                    <th scope="col" class="num">"Calls"</th>
                                    <th scope="col" class="num">"Success %"</th>
                                    <th scope="col" class="num">"Failed"</th>
                                    <th scope="col" class="num"><abbr title="Median latency, completed − created">"p50"</abbr></th>
                                    <th scope="col" class="num"><abbr title="95th percentile latency">"p95"</abbr></th>
                                    <th scope="col" class="num">"Total Cost"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {providers.into_iter().map(|p| view! {
                                    <tr>
                                        <th scope="row">{p.name}</th>
                                        <td class="num" data-label="Calls">{count(p.total_calls)}</td>
                                        <td class="num" data-label="Success %">{percent(p.success_rate)}</td>
                                        <td class={if p.failed > 0 { "num failed" } else { "num" }} data-label="Failed">{count(p.failed)}</td>
                                        <td class="num" data-label="p50">{latency(p.latency_p50_ms)}</td>
                                        <td class="num" data-label="p95">{latency(p.latency_p95_ms)}</td>
                                        <td class="num strong key" data-label="Total Cost">{dollars(p.total_cost)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                })
            }}
        </section>
    }
}
