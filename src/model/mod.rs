//! The types the server and the browser share, and the arithmetic and text made of them:
//! no database and no HTTP here, so that all of it is tested on its own.

pub mod access;
pub mod alerts;
pub mod budgets;
pub mod dashboard;
pub mod error_group;
#[cfg(feature = "event-parsing")]
pub mod event;
pub mod format;
pub mod log;
pub mod margin;
pub mod money;
pub mod paths;
#[cfg(feature = "ssr")]
pub mod projection;
pub mod range;
pub mod trend;
#[cfg(feature = "ssr")]
pub mod windows;
