// mimalloc, for Rust and (by its `override` feature) for SQLite's C code alike: imports
// allocate for every event, and the system allocator is slow at it.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    usage_monitor::server::cli::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser side starts from `usage_monitor::hydrate`; this binary is only built with `ssr`.
}
