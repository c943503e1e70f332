//! Error groups: the failures of the last 7 days (or the range) grouped by their error's
//! pattern, each linked to the log filtered on it.

use crate::log::{log_href, ExportLink};
use leptos::prelude::*;
use model::dashboard::{DashboardStats, DateRange, Preset, RangeQuery};
use model::error_group::ErrorGroup;
use model::format::{count, exact_time, relative_time, window_name};
use model::log::LogQuery;

/// The log of one group's failures over the panel's window: the chosen range, or the last
/// 7 days (the window the counts cover).
fn group_href(query: &RangeQuery, pattern: &str) -> String {
    let mut log = LogQuery::of_range(query);
    if DateRange::from_query(query).ok().flatten().is_none() {
        log.range = Some(Preset::Last7Days.slug().to_owned());
    }
    log_href(&LogQuery {
        group: Some(pattern.to_owned()),
        ..log
    })
}

#[component]
pub fn ErrorGroupsPanel(
    stats: Signal<DashboardStats>,
    query: RangeQuery,
    export: String,
) -> impl IntoView {
    move || {
        let (groups, now, window) = stats.with(|s| {
            let window = window_name(s, "Last 7 Days");
            (s.error_groups.clone(), s.generated_at, window)
        });
        let query = query.clone();
        (!groups.is_empty()).then(|| {
            view! {
                <section class="panel" aria-labelledby="error-groups-heading" data-testid="error-groups">
                    <div class="panel-head">
                        <h2 id="error-groups-heading">"Error Groups "
                            <span class="muted">{format!("({window})")}</span></h2>
                        <ExportLink href=export.clone() table="error groups"/>
                    </div>
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Error groups table">
                        <table class="stacking">
                            <thead>
                                <tr>
                                    <th scope="col">"Error"</th>
                                    <th scope="col" class="num">"Failures"</th>
                                    <th scope="col">"Providers"</th>
                                    <th scope="col">"First seen"</th>
                                    <th scope="col">"Last seen"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {groups.into_iter().map(|g: ErrorGroup| view! {
                                    <tr data-group=g.pattern.clone()>
                                        <th scope="row" class="error-text">
                                            <a href=group_href(&query, &g.pattern) title=format!("Newest: {}", g.example)>
                                                {g.pattern.clone()}
                                            </a>
                                        </th>
                                        <td class="num key" data-label="Failures" data-testid="group-count">{count(g.count)}</td>
                                        <td data-label="Providers">{g.providers.join(", ")}</td>
                                        <td class="nowrap" data-label="First seen">
                                            <time datetime=g.first_seen.to_rfc3339() title=exact_time(g.first_seen)>
                                                {relative_time(g.first_seen, now)}
                                            </time>
                                        </td>
                                        <td class="nowrap" data-label="Last seen">
                                            <time datetime=g.last_seen.to_rfc3339() title=exact_time(g.last_seen)>
                                                {relative_time(g.last_seen, now)}
                                            </time>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
            }
        })
    }
}
