//! The Credits tab: Usage & Cost Monitoring. Server-rendered with the figures in the first
//! response, then refreshed in the browser every `refresh-seconds` through one server
//! function call, keeping the last figures (and saying so) while the server is unreachable.

mod budget_bar;
mod cards;
mod error_groups;
mod failures;
mod health;
mod margin;
mod month;
mod providers;
mod range_picker;
mod reconciliation;
mod tiers;
mod top_users;
mod trends;

use cards::OverviewCards;
use error_groups::ErrorGroupsPanel;
use failures::RecentFailuresPanel;
use health::HealthBanner;
use margin::RevenueMarginPanel;
use month::MonthSummaryPanel;
use providers::ProviderUsagePanel;
use range_picker::RangePicker;
use reconciliation::ReconciliationPanel;
use tiers::CreditsByTierPanel;
use top_users::TopUsersPanel;
use trends::TrendsPanel;

use crate::hydrated::Hydrated;
use crate::log::export_href;
use crate::server_fns::{get_dashboard_settings, get_dashboard_stats, get_top_users};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::dashboard::{DashboardStats, DateRange, RangeQuery};
use model::format::{age, clock, exact_time};
use model::log::{LogQuery, TopUsers};
use model::paths::{DASHBOARD_PATH, LOGIN_PATH};

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

#[component]
fn Dashboard(initial: DashboardStats, refresh_seconds: u64, query: RangeQuery) -> impl IntoView {
    let chosen = DateRange::from_query(&query).ok().flatten();
    let range = initial.range.clone();
    let stats = RwSignal::new(initial);
    let freshness = RwSignal::new(Freshness::Live);
    // Loaded by the browser, so that the page never waits for it (see docs/metrics.md, "Top users, the generations log and user pages").
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
        <MonthSummaryPanel stats/>
        <TrendsPanel stats chosen query=query.clone()/>
        <ReconciliationPanel stats query=query.clone()/>
        <ProviderUsagePanel stats export=export_href("providers", &LogQuery::of_range(&query))/>
        <CreditsByTierPanel stats export=export_href("tiers", &LogQuery::of_range(&query))/>
        <RevenueMarginPanel stats export=export_href("margin", &LogQuery::of_range(&query))/>
        <TopUsersPanel stats top_users export=export_href("top-users", &LogQuery::of_range(&query))/>
        <RecentFailuresPanel stats export=export_href("failures", &LogQuery::of_range(&query))/>
        <ErrorGroupsPanel stats query=query.clone() export=export_href("error-groups", &LogQuery::of_range(&query))/>
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
                        <a href=model::access::path_with_query(LOGIN_PATH, "next", Some(DASHBOARD_PATH)) rel="external">"Sign in again"</a>
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
