//! The Alerts page's Budgets panel: the form that sets the daily and monthly budgets, their
//! warning levels and the per-user limit; the log of their changes; the users over the
//! limit in the last 24 hours.

use crate::log::user_href;
use crate::server_fns::{get_budgets, SaveBudgets};
use leptos::either::Either;
use leptos::prelude::*;
use model::budgets::{BudgetChange, BudgetsPage, UserOverLimit, USERS_LISTED};
use model::format::{dollars, exact_time};

#[component]
pub fn BudgetsPanel() -> impl IntoView {
    let save = ServerAction::<SaveBudgets>::new();
    // Read again after each save.
    let page = Resource::new(move || save.version().get(), |_| get_budgets());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match page.await {
                    Err(error) => Either::Left(view! {
                        <section class="panel" aria-labelledby="budgets-heading">
                            <h2 id="budgets-heading">"Budgets"</h2>
                            <div class="notice notice-error" role="alert" data-testid="budgets-error">
                                {format!("Budgets cannot be shown. {error}")}
                            </div>
                        </section>
                    }),
                    Ok(page) => Either::Right(view! { <BudgetsView page save/> }),
                }
            })}
        </Transition>
    }
}

#[component]
#[allow(clippy::too_many_lines)] // markup: the form's four fields
fn BudgetsView(page: BudgetsPage, save: ServerAction<SaveBudgets>) -> impl IntoView {
    let form = page.settings.form();
    let source = if page.from_config {
        "From Leptos.toml: no admin has saved budgets yet. Saving replaces them; an empty amount is off."
    } else {
        "An empty amount is off. Spend is today's and this month's cost in the reporting time zone; a user's is the last 24 hours."
    };
    view! {
        <section class="panel" aria-labelledby="budgets-heading">
            <h2 id="budgets-heading">"Budgets"</h2>
            <p class="meta" data-testid="budgets-source">{source}</p>
            <ActionForm action=save attr:class="budget-form" attr:data-testid="budget-form">
                <label>
                    "Daily budget ($)"
                    <input type="text" inputmode="decimal" name="daily" value=form.daily data-testid="budget-daily" placeholder="off"/>
                </label>
                <label>
                    "Monthly budget ($)"
                    <input type="text" inputmode="decimal" name="monthly" value=form.monthly data-testid="budget-monthly" placeholder="off"/>
                </label>
                <label>
                    "Per-user limit, last 24 h ($)"
                    <input type="text" inputmode="decimal" name="per_user" value=form.per_user data-testid="budget-per-user" placeholder="off"/>
                </label>
                <label>
                    "Warning levels (%)"
                    <input type="text" name="levels" value=form.levels data-testid="budget-levels"/>
                </label>
                <button type="submit" data-testid="save-budgets" disabled=move || save.pending().get()>
                    "Save budgets"
                </button>
            </ActionForm>
            <SaveResult save/>
        </section>
        <section class="panel" aria-labelledby="over-limit-heading">
            <h2 id="over-limit-heading">"Users over their limit"</h2>
            <UsersOverLimit users=page.users_over_limit limit=page.settings.per_user.map(dollars)/>
        </section>
        <section class="panel" aria-labelledby="budget-changes-heading">
            <h2 id="budget-changes-heading">"Budget changes"</h2>
            <p class="meta">{format!("Newest first; times in {}.", page.time_zone)}</p>
            <Changes changes=page.changes/>
        </section>
    }
}

/// Why the last save was refused; nothing once it succeeded (the form shows the values).
#[component]
fn SaveResult(save: ServerAction<SaveBudgets>) -> impl IntoView {
    move || match save.value().get() {
        Some(Err(error)) => Some(Either::Left(view! {
            <p class="notice notice-error" role="alert" data-testid="budgets-result">
                {format!("The budgets were not saved: {error}")}
            </p>
        })),
        Some(Ok(_)) => Some(Either::Right(view! {
            <p class="notice notice-ok" role="status" data-testid="budgets-result">"Budgets saved."</p>
        })),
        None => None,
    }
}

#[component]
fn UsersOverLimit(users: Vec<UserOverLimit>, limit: Option<String>) -> impl IntoView {
    let Some(limit) = limit else {
        return view! { <p class="empty" data-testid="users-over-limit-off">"No per-user limit is set."</p> }
            .into_any();
    };
    if users.is_empty() {
        return view! {
            <p class="empty" data-testid="users-over-limit-none">
                {format!("No user's cost passed {limit} in the last 24 hours.")}
            </p>
        }
        .into_any();
    }
    view! {
        <p class="meta">{format!("Cost over the last 24 hours above {limit}, highest first (at most {USERS_LISTED}).")}</p>
        <ul class="users-over-limit" data-testid="users-over-limit">
            {users.into_iter().map(|user| {
                let href = user_href(&user.user_id);
                view! {
                    <li><a href=href>{user.user_id}</a>" "<span class="num">{dollars(user.cost)}</span></li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Changes(changes: Vec<BudgetChange>) -> impl IntoView {
    if changes.is_empty() {
        return Either::Left(
            view! { <p class="empty" data-testid="budget-changes-empty">"No admin has changed the budgets."</p> },
        );
    }
    Either::Right(view! {
        <ul class="budget-changes" data-testid="budget-changes">
            {changes.into_iter().map(|change| view! {
                <li>
                    <time datetime=change.at.to_rfc3339()>{exact_time(change.at)}</time>
                    {format!(" {}: {} → {}", change.admin, change.old, change.new)}
                </li>
            }).collect_view()}
        </ul>
    })
}
