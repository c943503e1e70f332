//! The generations log (`/admin/generations`) and a user's page (`/admin/users/{id}`).

use crate::hydrated::Hydrated;
use crate::server_fns::{get_generations, get_user};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use model::format::{count, dollars, exact_time};
use model::log::{LogQuery, LogRow, Problem, UserPage, STATUSES};
use model::paths::{LOG_PATH, USERS_PATH};

/// The log's address for `query`.
pub fn log_href(query: &LogQuery) -> String {
    match query.to_query_string() {
        text if text.is_empty() => LOG_PATH.to_owned(),
        text => format!("{LOG_PATH}?{text}"),
    }
}

/// The CSV export of `table` (`generations`, `providers`, …) with the filters of `query`,
/// from its first row: an export is every row.
pub fn export_href(table: &str, query: &LogQuery) -> String {
    match query.first_page().to_query_string() {
        text if text.is_empty() => format!("/api/admin/export/{table}.csv"),
        text => format!("/api/admin/export/{table}.csv?{text}"),
    }
}

/// A table's CSV download.
#[component]
pub fn ExportLink(href: String, table: &'static str) -> impl IntoView {
    view! {
        <a class="export" href=href download rel="external" aria-label=format!("Export {table} as CSV")>"CSV"</a>
    }
}

/// A user's page.
pub fn user_href(id: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("{USERS_PATH}/{id}")
}

#[component]
pub fn GenerationsPage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        query_map.with(|q| LogQuery {
            provider: q.get("provider"),
            status: q.get("status"),
            user: q.get("user"),
            problem: q.get("problem"),
            group: q.get("group"),
            range: q.get("range"),
            from: q.get("from"),
            to: q.get("to"),
            before: q.get("before"),
        })
    });
    let page = Resource::new(
        move || query.get(),
        |query| async move {
            // Checked here first, so that a bad filter is explained without a request.
            query.filter().map_err(|error| error.to_string())?;
            get_generations(query)
                .await
                .map_err(|error| error.to_string())
        },
    );
    view! {
        <Title text="Generations · usage-monitor"/>
        <div class="page-header">
            <h1>"Generations"</h1>
            <p class="meta">"Newest first, 50 to a page."</p>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let query = query.get_untracked();
                let filters = view! { <LogFilters query=query.clone()/> };
                let content = match page.await {
                    Err(error) => Either::Left(view! {
                        {filters}
                        <div class="notice notice-error" role="alert" data-testid="load-error">
                            <strong>"The log cannot be shown. "</strong>
                            {error}
                        </div>
                    }),
                    Ok(page) => {
                        let next = page.next.map(|before| log_href(&LogQuery { before: Some(before), ..query.clone() }));
                        let first = query.before.is_some().then(|| log_href(&query.first_page()));
                        Either::Right(view! {
                            {filters}
                            {page.range.map(|range| view! {
                                <p class="range-note" data-testid="range-note">
                                    "Created in " <strong>{range.label}</strong> {format!(" ({})", page.time_zone)}
                                </p>
                            })}
                            <p class="panel-head"><span></span><ExportLink href=export_href("generations", &query) table="generations"/></p>
                            <GenerationTable rows=page.rows testid="generations" empty="No generations match these filters."/>
                            <nav class="pager" aria-label="Pages">
                                {first.map(|href| view! { <a href=href data-testid="first-page">"← First page"</a> })}
                                {next.map(|href| view! { <a href=href rel="next" data-testid="next-page">"Next page →"</a> })}
                            </nav>
                        })
                    }
                };
                view! { {content} <Hydrated/> }
            })}
        </Transition>
    }
}

/// The filters as a GET form: every filtered view is a URL.
#[component]
fn LogFilters(query: LogQuery) -> impl IntoView {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let status = value(&query.status);
    let problem = value(&query.problem);
    view! {
        // A plain GET form: the router's would add its button to the URL.
        <form method="get" action=LOG_PATH class="filters" aria-label="Filters">
            <div class="field">
                <label for="log-provider">"Provider"</label>
                <input id="log-provider" type="text" name="provider" value=value(&query.provider)/>
            </div>
            <div class="field">
                <label for="log-status">"Status"</label>
                <select id="log-status" name="status">
                    <option value="" selected=status.is_empty()>"Any"</option>
                    {STATUSES.map(|s| view! { <option value=s selected=status == s>{s}</option> })}
                </select>
            </div>
            <div class="field">
                <label for="log-problem">"Refund problem"</label>
                <select id="log-problem" name="problem">
                    <option value="" selected=problem.is_empty()>"Any"</option>
                    {Problem::ALL.map(|p| view! { <option value=p.slug() selected=problem == p.slug()>{p.label()}</option> })}
                </select>
            </div>
            <div class="field">
                <label for="log-user">"User"</label>
                <input id="log-user" type="text" name="user" value=value(&query.user)/>
            </div>
            <GroupFilter query=query.clone()/>
            // A preset range from the dashboard's links is kept as it is.
            {query.range.clone().map(|range| view! { <input type="hidden" name="range" value=range/> })}
            <div class="field">
                <label for="log-from">"From"</label>
                <input id="log-from" type="date" name="from" value=value(&query.from)/>
            </div>
            <div class="field">
                <label for="log-to">"To"</label>
                <input id="log-to" type="date" name="to" value=value(&query.to)/>
            </div>
            <button type="submit">"Filter"</button>
            <a href=LOG_PATH>"Clear"</a>
        </form>
    }
}

/// The error group filtered on, kept by the form, and a link to the same log without it.
#[component]
fn GroupFilter(query: LogQuery) -> impl IntoView {
    let without = log_href(&LogQuery {
        group: None,
        ..query.first_page()
    });
    query.group.filter(|g| !g.trim().is_empty()).map(|group| {
        view! {
            <p class="active-filter" data-testid="group-filter">
                "Error group: " <code>{group.clone()}</code> " "
                <a href=without data-testid="clear-group">"Remove"</a>
                <input type="hidden" name="group" value=group/>
            </p>
        }
    })
}

/// Generations as a table, each linked to its user.
#[component]
pub fn GenerationTable(
    rows: Vec<LogRow>,
    testid: &'static str,
    empty: &'static str,
) -> impl IntoView {
    if rows.is_empty() {
        return Either::Left(
            view! { <p class="empty" data-testid=format!("{testid}-empty")>{empty}</p> },
        );
    }
    Either::Right(view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Generations">
            <table data-testid=testid class="log stacking">
                <thead>
                    <tr>
                        <th scope="col">"Created"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Provider"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="num">"Credits"</th>
                        <th scope="col" class="num">"Refunded"</th>
                        <th scope="col" class="num">"Cost"</th>
                        <th scope="col">"Error"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr data-generation=row.id.clone() title=row.id.clone()>
                            <td class="nowrap" data-label="Created"><time datetime=row.created_at.to_rfc3339()>{exact_time(row.created_at)}</time></td>
                            <td data-label="User"><a href=user_href(&row.user_id)>{row.user_id.clone()}</a></td>
                            <td data-label="Provider">{row.provider}{row.model.map(|m| view! { <span class="muted">{format!(" · {m}")}</span> })}</td>
                            <td data-label="Status"><span class=format!("status status-{}", row.status)>{row.status.clone()}</span></td>
                            <td class="num" data-label="Credits">{count(row.credits)}</td>
                            <td class="num" data-label="Refunded">{row.refunded.map(count)}</td>
                            <td class="num key" data-label="Cost">{dollars(row.cost)}</td>
                            <td class="error-text long" data-label="Error">{row.error}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    })
}

#[component]
pub fn UserPageView() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let user = Resource::new(move || id.get(), get_user);
    // The server reads the title after the page's body, when a busy server may already have
    // disposed of the page's memo: it falls back to the id the page was rendered for.
    let rendered_for = id.get_untracked();
    let title = move || {
        let id = id.try_get().unwrap_or_else(|| rendered_for.clone());
        format!("User {id} · usage-monitor")
    };
    view! {
        <Title text=title/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let content = match user.await {
                    Ok(Some(user)) => EitherOf3::A(view! { <UserDetails user/> }),
                    Ok(None) => {
                        #[cfg(feature = "ssr")]
                        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                            response.set_status(axum::http::StatusCode::NOT_FOUND);
                        }
                        EitherOf3::B(view! {
                            <h1>"Unknown user"</h1>
                            <p data-testid="unknown-user">
                                {format!("No user “{}” has been sent to this dashboard. ", id.get_untracked())}
                                <a href=LOG_PATH>"Go to the generations log"</a>
                            </p>
                        })
                    }
                    Err(error) => EitherOf3::C(view! {
                        <h1>"User"</h1>
                        <div class="notice notice-error" role="alert">
                            <strong>"The user could not be loaded. "</strong>
                            {error.to_string()}
                        </div>
                    }),
                };
                view! { {content} <Hydrated/> }
            })}
        </Suspense>
    }
}

#[component]
fn UserDetails(user: UserPage) -> impl IntoView {
    let all = log_href(&LogQuery {
        user: Some(user.id.clone()),
        ..LogQuery::default()
    });
    let when = |t: Option<chrono::DateTime<chrono::FixedOffset>>| {
        t.map(exact_time).unwrap_or_else(|| "never".into())
    };
    let figure = |label: &'static str, testid: &'static str, value: String| {
        view! {
            <div class="figure" data-testid=testid>
                <dt>{label}</dt>
                <dd>{value}</dd>
            </div>
        }
    };
    view! {
        <div class="page-header">
            <h1>"User " <span data-testid="user-id">{user.id.clone()}</span></h1>
            <p class="meta">
                {format!("{} tier · all generations, whenever made · times in {}", user.tier.label(), user.time_zone)}
            </p>
        </div>
        <section class="panel" aria-labelledby="user-heading">
            <h2 id="user-heading">"Usage"</h2>
            <dl class="figures">
                {figure("Tier", "user-tier", user.tier.label().to_owned())}
                {figure("Balance", "user-balance", format!("{} credits", count(user.balance)))}
                {figure("Generations", "user-generations", count(user.generations))}
                {figure("Succeeded", "user-succeeded", count(user.succeeded))}
                {figure("Failed", "user-failed", count(user.failed))}
                {figure("Pending", "user-pending", count(user.pending))}
                {figure("Spend", "user-spend", dollars(user.spend))}
                {figure("Credits Used", "user-credits-used", count(user.credits_used))}
                {figure("Credits Refunded", "user-credits-refunded", count(user.credits_refunded))}
            </dl>
            <p class="meta" data-testid="user-span">
                {format!("First generation {} · last {}", when(user.first_generation), when(user.last_generation))}
            </p>
            <p><a href=all data-testid="user-log">"All generations of this user →"</a></p>
        </section>
        <section class="panel" aria-labelledby="user-failures-heading">
            <h2 id="user-failures-heading">"Recent Failures"</h2>
            <GenerationTable rows=user.recent_failures testid="user-failures" empty="No failed generations."/>
        </section>
    }
}
