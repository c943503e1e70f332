//! Loading events: parsing and checking them (`event`, which needs no server, so that the
//! fuzzer can build it alone), applying them (`store`), the JSON Lines import (`import`)
//! that `usage-monitor import` and `usage-monitor demo` use, and the ingest API (`api`).

pub mod event;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
mod import;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub use import::{
    begin_write, import_lines, store_events, store_parsed, ImportError, Rejection, Report,
};

#[cfg(all(test, feature = "ssr"))]
pub(crate) mod hostile;
#[cfg(all(test, feature = "ssr"))]
mod tests;
