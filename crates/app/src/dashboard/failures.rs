//! The recent failures.

use crate::log::ExportLink;
use leptos::prelude::*;
use model::dashboard::{DashboardStats, RecentFailure};
use model::format::{exact_time, relative_time, window_name};

#[component]
pub fn RecentFailuresPanel(stats: Signal<DashboardStats>, export: String) -> impl IntoView {
    move || {
        let (failures, now, window) = stats.with(|s| {
            let window = window_name(s, "Last 7 Days");
            (s.recent_failures.clone(), s.generated_at, window)
        });
        (!failures.is_empty()).then(|| {
            view! {
                <section class="panel" aria-labelledby="failures-heading" data-testid="recent-failures">
                    <div class="panel-head">
                        <h2 id="failures-heading">"Recent Failures "
                            <span class="muted">{format!("({window})")}</span></h2>
                        <ExportLink href=export.clone() table="failures"/>
                    </div>
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Recent failures table">
                        <table class="stacking">
                            <thead>
                                <tr>
                                    <th scope="col">"Provider"</th>
                                    <th scope="col">"Time"</th>
                                    <th scope="col">"Error"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {failures.into_iter().map(|f: RecentFailure| view! {
                                    <tr data-generation=f.id.clone()>
                                        <th scope="row">{f.provider}</th>
                                        <td class="nowrap key" data-label="Time">
                                            <time datetime=f.time.to_rfc3339() title=exact_time(f.time)>
                                                {relative_time(f.time, now)}
                                            </time>
                                        </td>
                                        <td class="error-text long" data-label="Error">{f.error}</td>
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
