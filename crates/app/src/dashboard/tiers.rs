//! Credits by user tier: balances and credits consumed.

use crate::log::ExportLink;
use leptos::prelude::*;
use model::dashboard::{DashboardStats, Tier};
use model::format::count;

#[component]
pub fn CreditsByTierPanel(stats: Signal<DashboardStats>, export: String) -> impl IntoView {
    let consumed = move || {
        stats.with(|s| {
            if s.range.is_some() {
                "Consumed in Range"
            } else {
                "Consumed This Month"
            }
        })
    };
    let row = move |tier: Tier| {
        let figure = move |f: fn(&model::dashboard::TierCredits) -> i64| {
            move || stats.with(|s| count(f(s.user_stats.credits_by_tier.get(tier))))
        };
        view! {
            <tr data-tier=tier.as_str()>
                <th scope="row">{tier.label()}</th>
                <td class="num" data-label="Users">{figure(|t| t.count)}</td>
                <td class="num key" data-label="Total Credits">{figure(|t| t.total_credits)}</td>
                <td class="num" data-label=consumed>{figure(|t| t.total_consumed)}</td>
            </tr>
        }
    };
    view! {
        <section class="panel" aria-labelledby="tiers-heading">
            <div class="panel-head">
                <h2 id="tiers-heading">"User Credits by Tier"</h2>
                <ExportLink href=export table="tiers"/>
            </div>
            <div class="table-scroll" tabindex="0" role="region" aria-label="User credits by tier table">
                <table class="stacking" data-testid="tiers">
                    <thead>
                        <tr>
                            <th scope="col">"Tier"</th>
                            <th scope="col" class="num">"Users"</th>
                            <th scope="col" class="num">"Total Credits"</th>
                            <th scope="col" class="num">{consumed}</th>
                        </tr>
                    </thead>
                    <tbody>{[Tier::Pro, Tier::Plus, Tier::Free].map(row)}</tbody>
                    <tfoot>
                        <tr>
                            <th scope="row">"All"</th>
                            <td class="num" colspan="3" data-testid="circulation">
                                {move || stats.with(|s| format!(
                                    "{} credits in circulation · {} users with credits",
                                    count(s.user_stats.total_credits_in_circulation),
                                    count(s.user_stats.users_with_credits)
                                ))}
                            </td>
                        </tr>
                    </tfoot>
                </table>
            </div>
        </section>
    }
}
