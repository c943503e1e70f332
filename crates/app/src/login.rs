//! The sign-in form and the first-admin form. Both are plain HTML forms that post to the
//! server, so they work before (or without) the WebAssembly; when one comes back with a
//! problem, the server renders the problem into the same page.

use crate::hydrated::Hydrated;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::access::{path_with_query, FormProblem};

/// The problem the server found with the form just sent, the same on both sides of
/// hydration.
fn form_problem() -> Option<FormProblem> {
    leptos::server::SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        return use_context::<FormProblem>();
        #[cfg(not(feature = "ssr"))]
        None
    })
    .into_inner()
}

#[component]
fn Problem(problem: Option<FormProblem>) -> impl IntoView {
    problem.map(|problem| {
        view! {
            <p class="notice notice-error" role="alert" data-testid="form-problem">
                {problem.message()}
            </p>
        }
    })
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    // The target travels in the form's address, so a form that comes back keeps it.
    let action = move || path_with_query("/login", "next", query.read().get("next").as_deref());
    view! {
        <Title text="Sign in · usage-monitor"/>
        <section class="auth-card">
            <h1>"Sign in"</h1>
            <p class="meta">"Usage & Cost Monitoring is for the platform's admins."</p>
            <Problem problem=form_problem()/>
            <form method="post" action=action>
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required autofocus/>
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit">"Sign in"</button>
            </form>
        </section>
        <Hydrated/>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.read_untracked().get("token");
    let open = leptos::server::SharedValue::new({
        let token = token.clone();
        move || {
            #[cfg(feature = "ssr")]
            return use_context::<crate::state::AppState>()
                .zip(token)
                .is_some_and(|(state, token)| state.setup.accepts(&token));
            #[cfg(not(feature = "ssr"))]
            {
                let _ = token;
                false
            }
        }
    })
    .into_inner();
    let problem = form_problem();
    view! {
        <Title text="Create the first admin · usage-monitor"/>
        <section class="auth-card">
            <h1>"Create the first admin"</h1>
            {if open || problem.is_some() {
                let action = path_with_query("/setup", "token", token.as_deref());
                view! {
                    <p class="meta">
                        "This one-time link was printed by the server. The account you create here can sign in from now on."
                    </p>
                    <Problem problem=problem.clone()/>
                    <form method="post" action=action>
                        <label>
                            "Email"
                            <input type="email" name="email" autocomplete="username" required autofocus/>
                        </label>
                        <label>
                            "Password (at least 12 characters)"
                            <input type="password" name="password" autocomplete="new-password" minlength="12" maxlength="128" required/>
                        </label>
                        <label>
                            "Password again"
                            <input type="password" name="password_confirm" autocomplete="new-password" minlength="12" maxlength="128" required/>
                        </label>
                        <button type="submit">"Create admin and sign in"</button>
                    </form>
                }
                    .into_any()
            } else {
                view! {
                    <Problem problem=Some(FormProblem::SetupClosed)/>
                    <p><a href="/login">"Sign in"</a></p>
                }
                    .into_any()
            }}
        </section>
        <Hydrated/>
    }
}
