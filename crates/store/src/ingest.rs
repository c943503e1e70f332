//! Loading events: parsing and checking them (`event`, which needs no server, so that the
//! fuzzer can build it alone), applying them (`store`), the JSON Lines import (`import`)
//! that `usage-monitor import` and `usage-monitor demo` use, and the ingest API (`api`).

mod import;
pub mod store;

pub use import::{
    import_lines, import_lines_telling, store_events, store_events_before_moves, store_parsed,
    store_parsed_before_moves, ImportError, Progress, Rejection, Report,
};
pub use store::Reason;

#[cfg(test)]
mod tests;
