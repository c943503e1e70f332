//! usage-monitor: the Usage & Cost Monitoring dashboard of an AI generation platform.
//!
//! The crate builds twice: with `ssr` it is the server and CLI (`src/main.rs`), with
//! `hydrate` it is the WebAssembly that makes the server-rendered page live.

pub mod alerts;
pub mod app;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod bench;
pub mod log;
pub mod stats;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "event-parsing")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod logging;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod server_cache;
#[cfg(feature = "ssr")]
pub mod totals;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
