//! The top users by cost, each leading to their page.

use crate::log::{user_href, ExportLink};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use model::dashboard::DashboardStats;
use model::format::{clock, count, dollars, window_name};
use model::log::TopUsers;

#[component]
pub fn TopUsersPanel(
    stats: Signal<DashboardStats>,
    export: String,
    top_users: LocalResource<Result<TopUsers, String>>,
) -> impl IntoView {
    let live = RwSignal::new(false);
    // Effects run in the browser only, after hydration.
    Effect::new(move |_| live.set(true));
    view! {
        <section class="panel" aria-labelledby="top-users-heading" data-testid="top-users">
            <div class="panel-head">
                <h2 id="top-users-heading">
                    "Top Users by Cost "
                    <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, "This Month")))}</span>
                </h2>
                <ExportLink href=export table="top users"/>
            </div>
            // Rendered only once the page is live: the server and hydration both show
            // "Loading…", whenever the browser's request comes back.
            {move || if !live.get() {
                Either::Left(view! { <p class="empty">"Loading…"</p> })
            } else {
                Either::Right(view! {
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match top_users.await {
                        Err(error) => EitherOf3::A(view! {
                            <p class="notice notice-warning">{format!("The top users could not be loaded: {error}")}</p>
                        }),
                        Ok(top) if top.users.is_empty() => EitherOf3::B(view! {
                            <p class="empty" data-testid="top-users-empty">"No generations in this period"</p>
                        }),
                        Ok(top) => EitherOf3::C(view! {
                            <div class="table-scroll" tabindex="0" role="region" aria-label="Top users table">
                                <table class="stacking" data-testid="top-users-table">
                                    <thead>
                                        <tr>
                                            <th scope="col">"User"</th>
                                            <th scope="col">"Tier"</th>
                                            <th scope="col" class="num">"Generations"</th>
                                            <th scope="col" class="num">"Credits Consumed"</th>
                                            <th scope="col" class="num">"Cost"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {top.users.into_iter().map(|user| view! {
                                            <tr>
                                                <th scope="row"><a href=user_href(&user.id)>{user.id.clone()}</a></th>
                                                <td data-label="Tier">{user.tier.label()}</td>
                                                <td class="num" data-label="Generations">{count(user.generations)}</td>
                                                <td class="num" data-label="Credits Consumed">{count(user.consumed)}</td>
                                                <td class="num strong key" data-label="Cost">{dollars(user.cost)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <p class="meta">{format!("As of {}", clock(top.generated_at))}</p>
                        }),
                    }
                })}
            </Transition>
                })
            }}
        </section>
    }
}
