//! The WebAssembly that makes the server-rendered page live: it hydrates the app's
//! components (`usage-monitor-app` with `hydrate`) in the browser.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
