// mimalloc, for Rust and (by its `override` feature) for SQLite's C code alike: an import
// spent a third of its time in the system allocator, and went from 34 k to 53 k events/s
// at 10 M generations on SQLite.
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
