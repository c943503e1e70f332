//! The app layer: the pages' components and their thin server functions (the HTML shell
//! and the routes: the admin area, and the forms that let admins in), with what the server
//! side of them reaches: the settings (`config`), the one error type (`error`), the state
//! every handler shares (`state`) and the alerts' sending to webhooks (`delivery`).

// Tests read best as one story each, however long.
#![cfg_attr(test, allow(clippy::too_many_lines))]

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod delivery;
pub mod error;
#[cfg(feature = "ssr")]
pub mod state;

pub mod alerts;
pub mod budgets;
pub mod dashboard;
pub mod hydrated;
pub mod log;
pub mod login;
pub mod server_fns;
pub mod trend;

use crate::alerts::AlertsAdminPage;
use crate::dashboard::CreditsPage;
use crate::hydrated::Hydrated;
use crate::log::{GenerationsPage, UserPageView};
use crate::login::{LoginPage, SetupPage};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::use_location;
use leptos_router::{path, SsrMode};
use model::paths::{ADMIN_AREA, ALERTS_PATH, DASHBOARD_PATH, LOG_PATH};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options=options.clone()/>
                <MetaTags/>
                <HashedStylesheet options/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <TopBar/>
            <main class="content">
                <Routes fallback=NotFound>
                    <Route path=path!("/admin/credits") view=CreditsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/generations") view=GenerationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/:id") view=UserPageView ssr=SsrMode::Async/>
                    <Route path=path!("/admin/alerts") view=AlertsAdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// The navigation and the sign-out button, in the admin area only.
#[component]
fn TopBar() -> impl IntoView {
    let location = use_location();
    let in_admin_area = move || location.pathname.with(|path| path.starts_with(ADMIN_AREA));
    view! {
        <header class="topbar">
            // From the sign-in pages, a full page load: the server sends the signed-out
            // back to sign in, where the page drawn in the browser could not.
            <a class="brand" href=DASHBOARD_PATH rel=move || (!in_admin_area()).then_some("external")>
                "usage-monitor"
            </a>
            <Show when=in_admin_area>
                <nav aria-label="Admin">
                    <A href=DASHBOARD_PATH>"Credits"</A>
                    <A href=LOG_PATH>"Generations"</A>
                    <A href=ALERTS_PATH>"Alerts"</A>
                </nav>
                <form class="sign-out" method="post" action="/logout">
                    <button type="submit" data-testid="sign-out">"Sign out"</button>
                </form>
            </Show>
        </header>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · usage-monitor"/>
        <h1>"Not found"</h1>
        <p>"There is no page here. " <a href=DASHBOARD_PATH>"Go to the dashboard"</a></p>
        <Hydrated/>
    }
}
