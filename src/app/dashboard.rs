//! The Credits tab: Usage & Cost Monitoring. Server-rendered with the figures in the first
//! response, then refreshed in the browser every `refresh-seconds` through one server
//! function call, keeping the last figures (and saying so) while the server is unreachable.

use super::log::{export_href, log_href, user_href, ExportLink};
use super::trend::TrendChart;
use crate::app::hydrated::Hydrated;
use crate::app::server_fns::{get_dashboard_settings, get_dashboard_stats, get_top_users};
use crate::model::dashboard::{
    DashboardStats, DateRange, Preset, RangeQuery, RecentFailure, Tier, TrendStep,
};
use crate::model::format::*;
use crate::model::log::{LogQuery, Problem, TopUsers};
use crate::model::paths::{DASHBOARD_PATH, LOGIN_PATH};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Whether the figures on screen are the latest the server had.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // only the browser refreshes
enum Freshness {
    Live,
    /// The last refresh failed; the figures are `age_seconds` old.
    Stale {
        age_seconds: u64,
        error: String,
    },
    /// The session ended (logout elsewhere, or expiry): the figures stop refreshing.
    SignedOut,
}

#[component]
pub fn CreditsPage() -> impl IntoView {
    let query = use_query_map();
    let range_query = Memo::new(move |_| {
        query.with(|q| RangeQuery {
            range: q.get("range"),
            from: q.get("from"),
            to: q.get("to"),
        })
    });
    let stats = Resource::new(
        move || range_query.get(),
        |query| async move {
            // Checked here first, so that a mistyped range is explained without a request.
            DateRange::from_query(&query).map_err(|error| error.to_string())?;
            get_dashboard_stats(query)
                .await
                .map_err(|error| error.to_string())
        },
    );
    let settings = Resource::new(|| (), |_| get_dashboard_settings());
    view! {
        <Title text="Credits & Usage Monitoring · usage-monitor"/>
        // Keeps the figures on screen while another range's load.
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let query = range_query.get_untracked();
                let content = match (stats.await, settings.await) {
                    (Ok(stats), Ok(settings)) => Either::Left(view! {
                        <Dashboard initial=stats refresh_seconds=settings.refresh_seconds query/>
                    }),
                    (Err(error), _) => Either::Right(view! {
                        <LoadFailure error query/>
                    }),
                    (_, Err(error)) => Either::Right(view! {
                        <LoadFailure error=error.to_string() query/>
                    }),
                };
                view! { {content} <Hydrated/> }
            })}
        </Transition>
    }
}

/// The page when the figures could not be had: a refused range, or an unreachable server.
#[component]
fn LoadFailure(error: String, query: RangeQuery) -> impl IntoView {
    let chosen = DateRange::from_query(&query);
    let (title, retry) = match &chosen {
        Err(_) => ("The range cannot be shown. ", None),
        Ok(range) => (
            "The figures could not be loaded. ",
            Some(page_href(range.as_ref(), None)),
        ),
    };
    view! {
        <h1>"Credits & Usage Monitoring"</h1>
        <RangePicker chosen=chosen.clone().ok().flatten() query/>
        <div class="notice notice-error" role="alert" data-testid="load-error">
            <strong>{title}</strong>
            {error}
            {retry.map(|href| view! { " " <a href=href>"Try again"</a> })}
        </div>
    }
}

/// The dashboard's address for `range` (the default view without one), its trends chart
/// showing `provider` (all without one).
fn page_href(range: Option<&DateRange>, provider: Option<&str>) -> String {
    let mut query = range.map(DateRange::to_query).unwrap_or_default();
    if let Some(provider) = provider {
        let pair = form_urlencoded::Serializer::new(String::new())
            .append_pair(PROVIDER_PARAMETER, provider)
            .finish();
        query = if query.is_empty() {
            pair
        } else {
            format!("{query}&{pair}")
        };
    }
    if query.is_empty() {
        DASHBOARD_PATH.to_owned()
    } else {
        format!("{DASHBOARD_PATH}?{query}")
    }
}

/// The provider the trends chart shows, from the page's address.
fn chart_provider() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get(PROVIDER_PARAMETER).filter(|p| !p.is_empty())))
}

const PROVIDER_PARAMETER: &str = "provider";

/// The presets as links and a custom from–to as a GET form: every choice is a URL, so it can
/// be shared, bookmarked and gone back from.
#[component]
fn RangePicker(chosen: Option<DateRange>, query: RangeQuery) -> impl IntoView {
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

#[component]
fn Dashboard(initial: DashboardStats, refresh_seconds: u64, query: RangeQuery) -> impl IntoView {
    let chosen = DateRange::from_query(&query).ok().flatten();
    let range = initial.range.clone();
    let stats = RwSignal::new(initial);
    let freshness = RwSignal::new(Freshness::Live);
    // Loaded by the browser, so that the page never waits for it (see README, "Top users").
    let top_users = LocalResource::new({
        let query = query.clone();
        move || {
            let query = query.clone();
            async move {
                get_top_users(query)
                    .await
                    .map_err(|error| error.to_string())
            }
        }
    });
    keep_fresh(stats, freshness, refresh_seconds, query.clone(), top_users);
    let stats: Signal<DashboardStats> = stats.into();

    view! {
        <div class="page-header">
            <h1>"Credits & Usage Monitoring"</h1>
            <p class="meta">
                "Updated "
                <time data-testid="last-updated" datetime=move || stats.with(|s| s.generated_at.to_rfc3339())>
                    {move || stats.with(|s| clock(s.generated_at))}
                </time>
                " · Time zone "
                <span data-testid="time-zone">{move || stats.with(|s| s.time_zone.clone())}</span>
                {format!(" · refreshes every {refresh_seconds} s")}
            </p>
        </div>
        <RangePicker chosen query=query.clone()/>
        {range.map(|range| view! {
            <p class="range-note" data-testid="range-note">
                "Showing "
                <strong title=format!("{} to {} (excluded)", exact_time(range.from), exact_time(range.to))>
                    {range.label}
                </strong>
                ". Health stays the last 24 hours; users with credits and balances are as of now."
            </p>
        })}
        <StaleNotice freshness refresh_seconds/>
        <HealthBanner stats/>
        <OverviewCards stats/>
        <MonthSummary stats/>
        <Trends stats chosen query=query.clone()/>
        <RefundReconciliation stats query=query.clone()/>
        <ProviderUsage stats export=export_href("providers", &LogQuery::of_range(&query))/>
        <CreditsByTier stats export=export_href("tiers", &LogQuery::of_range(&query))/>
        <TopUsersByCost stats top_users export=export_href("top-users", &LogQuery::of_range(&query))/>
        <RecentFailures stats export=export_href("failures", &LogQuery::of_range(&query))/>
    }
}

/// Fetches fresh figures every `refresh_seconds`, one request at a time, in the browser only.
fn keep_fresh(
    stats: RwSignal<DashboardStats>,
    freshness: RwSignal<Freshness>,
    refresh_seconds: u64,
    query: RangeQuery,
    top_users: LocalResource<Result<TopUsers, String>>,
) {
    #[cfg(feature = "hydrate")]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let mounted = Arc::new(AtomicBool::new(true));
        on_cleanup({
            let mounted = Arc::clone(&mounted);
            move || mounted.store(false, Ordering::Relaxed)
        });
        leptos::task::spawn_local(async move {
            let mut last_success = js_sys::Date::now();
            loop {
                gloo_timers::future::sleep(std::time::Duration::from_secs(refresh_seconds)).await;
                if !mounted.load(Ordering::Relaxed) {
                    break;
                }
                match get_dashboard_stats(query.clone()).await {
                    Ok(fresh) => {
                        last_success = js_sys::Date::now();
                        stats.set(fresh);
                        freshness.set(Freshness::Live);
                        top_users.refetch();
                    }
                    Err(error) if error.is_sign_in_first() => {
                        freshness.set(Freshness::SignedOut);
                        break;
                    }
                    Err(error) => freshness.set(Freshness::Stale {
                        age_seconds: ((js_sys::Date::now() - last_success) / 1000.0).max(0.0)
                            as u64,
                        error: error.to_string(),
                    }),
                }
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (stats, freshness, refresh_seconds, query, top_users);
}

#[component]
fn StaleNotice(freshness: RwSignal<Freshness>, refresh_seconds: u64) -> impl IntoView {
    view! {
        <div role="status" aria-live="polite">
            {move || match freshness.get() {
                Freshness::Live => None,
                Freshness::SignedOut => Some(view! {
                    <div class="notice notice-warning" data-testid="signed-out-notice">
                        "Your session has ended, so these figures no longer refresh. "
                        // A full page load: the signed-out page starts afresh from the server.
                        <a href=crate::model::access::path_with_query(LOGIN_PATH, "next", Some(DASHBOARD_PATH)) rel="external">"Sign in again"</a>
                    </div>
                }.into_any()),
                Freshness::Stale { age_seconds, error } => Some(view! {
                    <div class="notice notice-warning" data-testid="stale-notice" title=error>
                        {format!(
                            "Figures from {} ago; server unreachable. Retrying every {refresh_seconds} s.",
                            age(age_seconds)
                        )}
                    </div>
                }.into_any()),
            }}
        </div>
    }
}

#[component]
fn HealthBanner(stats: Signal<DashboardStats>) -> impl IntoView {
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

#[component]
fn StatCard(
    title: &'static str,
    value: Signal<String>,
    subtitle: Signal<String>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="card" data-testid=testid>
            <p class="card-title">{title}</p>
            <p class="card-value" data-testid="value">{value}</p>
            <p class="card-subtitle" data-testid="subtitle">{subtitle}</p>
        </div>
    }
}

#[component]
fn OverviewCards(stats: Signal<DashboardStats>) -> impl IntoView {
    let text = move |f: fn(&DashboardStats) -> String| Signal::derive(move || stats.with(f));
    // A chosen range is the same for every refresh of this page.
    let ranged = stats.with_untracked(|s| s.range.is_some());
    let title = move |default: &'static str, in_range: &'static str| {
        if ranged {
            in_range
        } else {
            default
        }
    };
    view! {
        <section class="cards" aria-label=move || stats.with(|s| window_name(s, "Today"))>
            <StatCard
                title=title("Active Users Today", "Active Users")
                testid="active-users-today"
                value=text(|s| count(s.today_stats.active_users))
                subtitle=text(|s| format!("{} with credits", count(s.user_stats.users_with_credits)))
            />
            <StatCard
                title=title("Generations Today", "Generations")
                testid="generations-today"
                value=text(|s| count(s.today_stats.generations))
                subtitle=text(|s| format!("{} failed", count(s.today_stats.failed)))
            />
            <StatCard
                title=title("Success Rate (7 days)", "Success Rate")
                testid="success-rate-7d"
                value=text(|s| percent(s.success_rate))
                subtitle=text(|s| format!("{} refunds issued", count(s.refunds_last_7_days)))
            />
            <StatCard
                title=title("Cost Today", "Cost")
                testid="cost-today"
                value=text(|s| dollars(s.today_stats.cost))
                subtitle=text(|_| "WaveSpeed charges".to_owned())
            />
        </section>
    }
}

#[component]
fn MonthSummary(stats: Signal<DashboardStats>) -> impl IntoView {
    let figure =
        move |label: &'static str, testid: &'static str, f: fn(&DashboardStats) -> String| {
            view! {
                <div class="figure" data-testid=testid>
                    <dt>{label}</dt>
                    <dd>{move || stats.with(f)}</dd>
                </div>
            }
        };
    view! {
        <section class="panel" aria-labelledby="month-heading">
            <h2 id="month-heading">
                {move || stats.with(|s| if s.range.is_some() { "Selected Range " } else { "This Month " })}
                <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, &month_label(s.generated_at))))}</span>
            </h2>
            <dl class="figures">
                {figure("Total Generations", "month-generations", |s| count(s.month_stats.generations))}
                {figure("WaveSpeed Cost", "month-cost", |s| dollars(s.month_stats.cost))}
                {figure("Success Rate", "month-success-rate", |s| percent(s.month_stats.success_rate))}
                {figure("Avg Cost / Generation", "month-average-cost", |s| dollars(s.month_stats.average_cost))}
                {figure("Refunds Issued", "month-refunds", |s| count(s.month_stats.refunds))}
            </dl>
        </section>
    }
}

/// Generations over time, for every provider or one chosen by a link that keeps the range.
#[component]
fn Trends(
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

#[component]
fn ProviderUsage(stats: Signal<DashboardStats>, export: String) -> impl IntoView {
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
                    <div class="table-scroll" tabindex="0" role="region" aria-labelledby="providers-heading">
                        <table data-testid="providers">
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
                                        <td class="num">{count(p.total_calls)}</td>
                                        <td class="num">{percent(p.success_rate)}</td>
                                        <td class={if p.failed > 0 { "num failed" } else { "num" }}>{count(p.failed)}</td>
                                        <td class="num">{latency(p.latency_p50_ms)}</td>
                                        <td class="num">{latency(p.latency_p95_ms)}</td>
                                        <td class="num strong">{dollars(p.total_cost)}</td>
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

#[component]
fn CreditsByTier(stats: Signal<DashboardStats>, export: String) -> impl IntoView {
    let row = move |tier: Tier| {
        let figure = move |f: fn(&crate::model::dashboard::TierCredits) -> i64| {
            move || stats.with(|s| count(f(s.user_stats.credits_by_tier.get(tier))))
        };
        view! {
            <tr data-tier=tier.as_str()>
                <th scope="row">{tier.label()}</th>
                <td class="num">{figure(|t| t.count)}</td>
                <td class="num">{figure(|t| t.total_credits)}</td>
                <td class="num">{figure(|t| t.total_consumed)}</td>
            </tr>
        }
    };
    view! {
        <section class="panel" aria-labelledby="tiers-heading">
            <div class="panel-head">
                <h2 id="tiers-heading">"User Credits by Tier"</h2>
                <ExportLink href=export table="tiers"/>
            </div>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="tiers-heading">
                <table data-testid="tiers">
                    <thead>
                        <tr>
                            <th scope="col">"Tier"</th>
                            <th scope="col" class="num">"Users"</th>
                            <th scope="col" class="num">"Total Credits"</th>
                            <th scope="col" class="num">{move || stats.with(|s| if s.range.is_some() { "Consumed in Range" } else { "Consumed This Month" })}</th>
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

/// Failures never refunded and refunds over the charge, each counted and linked to the log
/// filtered on it, over the last 30 days or the chosen range.
#[component]
fn RefundReconciliation(stats: Signal<DashboardStats>, query: RangeQuery) -> impl IntoView {
    let log_of = move |problem: Problem| {
        let mut log = LogQuery::of_range(&query);
        if DateRange::from_query(&query).ok().flatten().is_none() {
            log.range = Some(Preset::Last30Days.slug().to_owned());
        }
        log_href(&LogQuery {
            problem: Some(problem.slug().to_owned()),
            ..log
        })
    };
    let figure = move |label: String,
                       testid: &'static str,
                       value: fn(&DashboardStats) -> i64,
                       problem: Problem| {
        let href = log_of(problem);
        view! {
            <div class=move || { if stats.with(value) > 0 { "figure figure-bad" } else { "figure" } } data-testid=testid>
                <dt>{label}</dt>
                <dd><a href=href>{move || count(stats.with(value))}</a></dd>
            </div>
        }
    };
    let grace = stats.with_untracked(|s| s.reconciliation.grace_minutes);
    view! {
        <section class="panel" aria-labelledby="reconciliation-heading" data-testid="reconciliation">
            <h2 id="reconciliation-heading">
                "Refund Reconciliation "
                <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, "Last 30 Days")))}</span>
            </h2>
            <dl class="figures">
                {figure(
                    format!("Failed, not refunded after {grace} min"),
                    "unrefunded-failures",
                    |s| s.reconciliation.unrefunded_failures,
                    Problem::Unrefunded,
                )}
                {figure(
                    "Refunds larger than charged".to_owned(),
                    "over-refunds",
                    |s| s.reconciliation.over_refunds,
                    Problem::OverRefunded,
                )}
            </dl>
        </section>
    }
}

#[component]
fn TopUsersByCost(
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
                            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="top-users-heading">
                                <table data-testid="top-users-table">
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
                                                <td>{user.tier.label()}</td>
                                                <td class="num">{count(user.generations)}</td>
                                                <td class="num">{count(user.consumed)}</td>
                                                <td class="num strong">{dollars(user.cost)}</td>
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

#[component]
fn RecentFailures(stats: Signal<DashboardStats>, export: String) -> impl IntoView {
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
                    <div class="table-scroll" tabindex="0" role="region" aria-labelledby="failures-heading">
                        <table>
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
                                        <td class="nowrap">
                                            <time datetime=f.time.to_rfc3339() title=exact_time(f.time)>
                                                {relative_time(f.time, now)}
                                            </time>
                                        </td>
                                        <td class="error-text">{f.error}</td>
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
