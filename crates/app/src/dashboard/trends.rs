//! Generations over time, for every provider or one (the chart itself is `app::trend`).

use super::{chart_provider, page_href};
use crate::hydrated::Hydrated;
use crate::log::{export_href, ExportLink};
use crate::trend::TrendChart;
use leptos::prelude::*;
use model::dashboard::{DashboardStats, DateRange, RangeQuery, TrendStep};
use model::format::window_name;
use model::log::LogQuery;

/// Generations over time, for every provider or one chosen by a link that keeps the range.
#[component]
pub fn TrendsPanel(
    stats: Signal<DashboardStats>,
    chosen: Option<DateRange>,
    query: RangeQuery,
) -> impl IntoView {
    let provider = chart_provider();
    let export = move || {
        let log = LogQuery {
            provider: provider.get(),
            ..LogQuery::of_range(&query)
        };
        view! { <ExportLink href=export_href("trend", &log) table="trend"/> }
    };
    // Cloned once per refresh, not at every read of the chart's figures.
    let trend = Memo::new(move |_| stats.with(|s| s.trend.clone()));
    let step = move || match stats.with(|s| s.trend.step) {
        TrendStep::Day => "Day",
        TrendStep::Hour => "Hour",
    };
    let link = move |name: Option<String>, label: String| {
        let href = page_href(chosen.as_ref(), name.as_deref());
        let current = move || (provider.get() == name).then_some("page");
        view! { <a href=href aria-current=current>{label}</a> }
    };
    let links = move || {
        let mut names = stats.with(|s| s.trend.providers());
        // A provider chosen but idle in this period stays listed, so that it can be seen.
        if let Some(chosen) = provider.get().filter(|p| !names.contains(p)) {
            names.push(chosen);
        }
        let all = link(None, "All providers".to_owned());
        let each: Vec<_> = names
            .into_iter()
            .map(|name| link(Some(name.clone()), name))
            .collect();
        view! { {all} {each} }
    };
    view! {
        <section class="panel" aria-labelledby="trends-heading" data-testid="trends">
            <div class="panel-head">
                <h2 id="trends-heading">
                    "Generations per " {step} " "
                    <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, "Last 30 Days")))}</span>
                </h2>
                <ul class="trend-legend" aria-label="Legend">
                    <li><i class="swatch swatch-ok"></i>"Succeeded"</li>
                    <li><i class="swatch swatch-bad"></i>"Failed"</li>
                    <li><i class="swatch swatch-pending"></i>"Pending"</li>
                    <li><i class="swatch swatch-cost"></i>"Cost (right axis)"</li>
                </ul>
                {export}
            </div>
            <nav class="range-presets trend-providers" aria-label="Provider">{links}</nav>
            <TrendChart trend=trend.into() provider=provider.into()/>
            // Another provider redraws the chart from the figures at hand, without loading
            // the page again: the page is live at its new address once the chart is drawn.
            {move || {
                provider.track();
                view! { <Hydrated/> }
            }}
        </section>
    }
}
