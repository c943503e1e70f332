// mimalloc, for Rust and (by its `override` feature) for SQLite's C code alike: imports
// allocate for every event, and the system allocator is slow at it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    usage_monitor::cli::run().await
}
