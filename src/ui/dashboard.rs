//! The Credits tab: Usage & Cost Monitoring. Server-rendered with the figures in the first
//! response, then refreshed in the browser every `refresh-seconds` through one server
//! function call, keeping the last figures (and saying so) while the server is unreachable.

use super::format::*;
use crate::stats::{
    get_dashboard_settings, get_dashboard_stats, DashboardStats, RecentFailure, Tier,
};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

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
    let stats = Resource::new(|| (), |_| get_dashboard_stats());
    let settings = Resource::new(|| (), |_| get_dashboard_settings());
    view! {
        <Title text="Credits & Usage Monitoring · usage-monitor"/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match (stats.await, settings.await) {
                    (Ok(stats), Ok(settings)) => Either::Left(view! {
                        <Dashboard initial=stats refresh_seconds=settings.refresh_seconds/>
                    }),
                    (Err(error), _) | (_, Err(error)) => Either::Right(view! {
                        <h1>"Credits & Usage Monitoring"</h1>
                        <div class="notice notice-error" role="alert">
                            <strong>"The figures could not be loaded. "</strong>
                            {error.to_string()}
                            " "
                            <a href="/admin/credits">"Try again"</a>
                        </div>
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Dashboard(initial: DashboardStats, refresh_seconds: u64) -> impl IntoView {
    let stats = RwSignal::new(initial);
    let freshness = RwSignal::new(Freshness::Live);
    keep_fresh(stats, freshness, refresh_seconds);
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
        <StaleNotice freshness refresh_seconds/>
        <HealthBanner stats/>
        <OverviewCards stats/>
        <MonthSummary stats/>
        <ProviderUsage stats/>
        <CreditsByTier stats/>
        <RecentFailures stats/>
    }
}

/// Fetches fresh figures every `refresh_seconds`, one request at a time, in the browser only.
fn keep_fresh(
    stats: RwSignal<DashboardStats>,
    freshness: RwSignal<Freshness>,
    refresh_seconds: u64,
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
                match get_dashboard_stats().await {
                    Ok(fresh) => {
                        last_success = js_sys::Date::now();
                        stats.set(fresh);
                        freshness.set(Freshness::Live);
                    }
                    Err(error) if error.to_string().contains(crate::auth::SIGN_IN_FIRST) => {
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
    let _ = (stats, freshness, refresh_seconds);
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
                        <a href=crate::auth::path_with_query("/login", "next", Some("/admin/credits"))>"Sign in again"</a>
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
    view! {
        <section class="cards" aria-label="Today">
            <StatCard
                title="Active Users Today"
                testid="active-users-today"
                value=text(|s| count(s.today_stats.active_users))
                subtitle=text(|s| format!("{} with credits", count(s.user_stats.users_with_credits)))
            />
            <StatCard
                title="Generations Today"
                testid="generations-today"
                value=text(|s| count(s.today_stats.generations))
                subtitle=text(|s| format!("{} failed", count(s.today_stats.failed)))
            />
            <StatCard
                title="Success Rate (7 days)"
                testid="success-rate-7d"
                value=text(|s| percent(s.success_rate))
                subtitle=text(|s| format!("{} refunds issued", count(s.refunds_last_7_days)))
            />
            <StatCard
                title="Cost Today"
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
                "This Month " <span class="muted">{move || stats.with(|s| format!("({})", month_label(s.generated_at)))}</span>
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

#[component]
fn ProviderUsage(stats: Signal<DashboardStats>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="providers-heading">
            <h2 id="providers-heading">"AI Provider Usage " <span class="muted">"(Last 30 Days)"</span></h2>
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
fn CreditsByTier(stats: Signal<DashboardStats>) -> impl IntoView {
    let row = move |tier: Tier| {
        let figure = move |f: fn(&crate::stats::TierCredits) -> i64| {
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
            <h2 id="tiers-heading">"User Credits by Tier"</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="tiers-heading">
                <table data-testid="tiers">
                    <thead>
                        <tr>
                            <th scope="col">"Tier"</th>
                            <th scope="col" class="num">"Users"</th>
                            <th scope="col" class="num">"Total Credits"</th>
                            <th scope="col" class="num">"Consumed This Month"</th>
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

#[component]
fn RecentFailures(stats: Signal<DashboardStats>) -> impl IntoView {
    move || {
        let (failures, now) = stats.with(|s| (s.recent_failures.clone(), s.generated_at));
        (!failures.is_empty()).then(|| {
            view! {
                <section class="panel" aria-labelledby="failures-heading" data-testid="recent-failures">
                    <h2 id="failures-heading">"Recent Failures " <span class="muted">"(Last 7 Days)"</span></h2>
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
