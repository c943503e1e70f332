//! The range picker: presets and a custom from–to above the figures.

use super::{chart_provider, page_href, PROVIDER_PARAMETER};
use leptos::prelude::*;
use model::dashboard::{DateRange, Preset, RangeQuery};
use model::paths::DASHBOARD_PATH;

/// The presets as links and a custom from–to as a GET form: every choice is a URL, so it can
/// be shared, bookmarked and gone back from.
#[component]
pub fn RangePicker(chosen: Option<DateRange>, query: RangeQuery) -> impl IntoView {
    // Another range keeps the chart's provider.
    let provider = chart_provider();
    let link = move |range: Option<DateRange>, label: &'static str| {
        let current = (range == chosen).then_some("page");
        let href = move || page_href(range.as_ref(), provider.get().as_deref());
        view! { <a href=href aria-current=current>{label}</a> }
    };
    // A refused range keeps what was typed, so that it can be corrected.
    let (from, to) = match chosen {
        Some(range) => range.form_values().unwrap_or_default(),
        None => (query.from.unwrap_or_default(), query.to.unwrap_or_default()),
    };
    view! {
        <div class="range-picker" data-testid="range-picker">
            <nav class="range-presets" aria-label="Date range">
                {link(None, "Default view")}
                {Preset::ALL.map(|preset| link(Some(DateRange::Preset(preset)), preset.label()))}
            </nav>
            // A plain GET form: the router's would add its button to the URL.
            <form method="get" action=DASHBOARD_PATH class="range-custom" aria-label="Custom range">
                <label>"From " <input type="date" name="from" value=from required/></label>
                <label>"To " <input type="date" name="to" value=to required/></label>
                {move || provider.get().map(|provider| view! {
                    <input type="hidden" name=PROVIDER_PARAMETER value=provider/>
                })}
                <button type="submit">"Show range"</button>
            </form>
        </div>
    }
}
