//! usage-monitor: the Usage & Cost Monitoring dashboard of an AI generation platform.
//!
//! The crate builds twice: with `ssr` it is the server and CLI (`src/main.rs`), with
//! `hydrate` it is the WebAssembly that makes the server-rendered page live.
//!
//! Its layers, lowest first; each uses only those before it (docs/architecture.md):
//! - [`model`]: the types server and browser share (figures, money, ranges, formatting);
//! - [`store`] (server): the database, ingest, running totals, figures, log, alerts;
//! - [`config`] (server): the settings, read once from `Leptos.toml` and the environment;
//! - [`error`] and [`state`] (server): what handlers answer on failure, and what they reach;
//! - [`app`]: the pages' components and their thin server functions;
//! - [`server`] (server): the router, the access guard, the forms, the JSON API, the CLI.

// Tests read best as one story each, however long.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod model;

#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub mod config;

pub mod error;

#[cfg(feature = "ssr")]
pub mod state;

pub mod app;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
