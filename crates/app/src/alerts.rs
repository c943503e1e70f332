//! `/admin/alerts`: the webhooks health changes go to, the health last recorded, the log
//! of what was sent, and a button that sends a test message.

use crate::budgets::BudgetsPanel;
use crate::hydrated::Hydrated;
use crate::server_fns::{get_alerts, SendTestAlert};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use model::alerts::{AlertKind, AlertsPage, Delivery, Outcome, NO_WEBHOOKS};
use model::format::{exact_time, health_label};

#[component]
pub fn AlertsAdminPage() -> impl IntoView {
    let send_test = ServerAction::<SendTestAlert>::new();
    // Read again after each test, to list it.
    let page = Resource::new(move || send_test.version().get(), |_| get_alerts());
    view! {
        <Title text="Alerts · usage-monitor"/>
        <div class="page-header">
            <h1>"Alerts"</h1>
            <p class="meta">"Health changes to and from degraded or critical, and budgets crossed, sent once each to every webhook."</p>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let content = match page.await {
                    Err(error) => Either::Left(view! {
                        <div class="notice notice-error" role="alert" data-testid="load-error">
                            <strong>"Alerts cannot be shown. "</strong>
                            {error.to_string()}
                        </div>
                    }),
                    Ok(page) => Either::Right(view! { <AlertsView page send_test/> }),
                };
                view! { {content} <Hydrated/> }
            })}
        </Transition>
    }
}

#[component]
fn AlertsView(page: AlertsPage, send_test: ServerAction<SendTestAlert>) -> impl IntoView {
    let configured = !page.webhooks.is_empty();
    let state = match (&page.recorded, configured) {
        (Some(recorded), _) => format!(
            "{} since {}",
            health_label(recorded.status),
            exact_time(recorded.since)
        ),
        (None, true) => format!(
            "Not checked yet: the first check (every {} s) records the health.",
            page.check_seconds
        ),
        (None, false) => "Not watched: there is no webhook to tell.".to_owned(),
    };
    view! {
        <section class="panel" aria-labelledby="webhooks-heading">
            <h2 id="webhooks-heading">"Webhooks"</h2>
            {if configured {
                Either::Left(view! {
                    <ul class="alert-webhooks" data-testid="alert-webhooks">
                        {page.webhooks.into_iter().map(|webhook| view! { <li><code>{webhook}</code></li> }).collect_view()}
                    </ul>
                    <p class="meta">
                        {format!("Health is checked every {} s. Only scheme and host are shown: the rest of a webhook URL is a secret.", page.check_seconds)}
                    </p>
                })
            } else {
                Either::Right(view! { <p class="empty" data-testid="no-webhooks">{NO_WEBHOOKS}</p> })
            }}
            <p data-testid="alert-state"><strong>"Health last recorded: "</strong>{state}</p>
            <div class="alert-test">
                <button
                    type="button"
                    data-testid="send-test-alert"
                    disabled=move || !configured || send_test.pending().get()
                    title=(!configured).then_some(NO_WEBHOOKS)
                    on:click=move |_| {
                        send_test.dispatch(SendTestAlert {});
                    }
                >
                    "Send test alert"
                </button>
                <TestResult send_test/>
            </div>
        </section>
        <section class="panel" aria-labelledby="alert-log-heading">
            <h2 id="alert-log-heading">"Sent"</h2>
            <p class="meta">{format!("Newest first, the last {}; times in {}.", model::alerts::LOG_ROWS, page.time_zone)}</p>
            <DeliveryTable deliveries=page.deliveries/>
        </section>
        <BudgetsPanel/>
    }
}

/// What the last test did: sending, or how many webhooks got it and why others did not.
#[component]
fn TestResult(send_test: ServerAction<SendTestAlert>) -> impl IntoView {
    move || {
        if send_test.pending().get() {
            return Some(
                view! { <p class="meta" data-testid="test-alert-result">"Sending…"</p> }.into_any(),
            );
        }
        let result = send_test.value().get()?;
        Some(match result {
            Ok(deliveries) => {
                let delivered = deliveries
                    .iter()
                    .filter(|d| d.outcome == Outcome::Delivered)
                    .count();
                let all_delivered = delivered == deliveries.len();
                view! {
                    <p
                        class=if all_delivered { "notice notice-ok" } else { "notice notice-error" }
                        role="status"
                        data-testid="test-alert-result"
                    >
                        {format!("Test alert delivered to {delivered} of {} webhooks.", deliveries.len())}
                        {deliveries
                            .into_iter()
                            .filter(|d| d.outcome != Outcome::Delivered)
                            .map(|d| format!(" {}: {}", d.webhook, detail(&d).unwrap_or_default()))
                            .collect::<String>()}
                    </p>
                }
                .into_any()
            }
            Err(error) => view! {
                <p class="notice notice-error" role="alert" data-testid="test-alert-result">
                    {format!("The test alert was not sent: {error}")}
                </p>
            }
            .into_any(),
        })
    }
}

#[component]
fn DeliveryTable(deliveries: Vec<Delivery>) -> impl IntoView {
    if deliveries.is_empty() {
        return Either::Left(
            view! { <p class="empty" data-testid="alert-log-empty">"Nothing sent yet."</p> },
        );
    }
    Either::Right(view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Alerts sent">
            <table class="log stacking" data-testid="alert-log">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Alert"</th>
                        <th scope="col">"Webhook"</th>
                        <th scope="col" class="num">"Attempts"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Detail"</th>
                    </tr>
                </thead>
                <tbody>
                    {deliveries.into_iter().map(|d| view! {
                        <tr data-kind=d.kind.as_str() data-outcome=d.outcome.as_str()>
                            <td class="nowrap key" data-label="Time"><time datetime=d.created_at.to_rfc3339()>{exact_time(d.created_at)}</time></td>
                            <td data-label="Alert">{alert(&d)}</td>
                            <td class="long" data-label="Webhook"><code>{d.webhook.clone()}</code></td>
                            <td class="num" data-label="Attempts">{d.attempts}</td>
                            <td data-label="Outcome"><span class=format!("status alert-{}", d.outcome.as_str())>{d.outcome.as_str()}</span></td>
                            <td class="error-text long" data-label="Detail">{detail(&d)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    })
}

/// `Degraded → Critical`, `Critical` (first check), `Test (Healthy)`, or what a budget
/// alert crossed.
fn alert(delivery: &Delivery) -> String {
    if delivery.kind == AlertKind::Budget {
        return delivery.crossed.clone().unwrap_or_default();
    }
    let status = delivery.status.map(health_label).unwrap_or_default();
    match (delivery.kind, delivery.previous) {
        (AlertKind::Test, _) => format!("Test (health {status})"),
        (AlertKind::Change, Some(previous)) => format!("{} → {status}", health_label(previous)),
        (_, _) => format!("{status} (first check)"),
    }
}

/// `HTTP 200`, or why it failed; nothing when neither is known.
fn detail(delivery: &Delivery) -> Option<String> {
    match (&delivery.error, delivery.http_status) {
        (Some(error), Some(status)) => Some(format!("{error} ({status})")),
        (Some(error), None) => Some(error.clone()),
        (None, Some(status)) => Some(format!("HTTP {status}")),
        (None, None) => None,
    }
}
