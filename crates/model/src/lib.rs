//! The types the server and the browser share, and the arithmetic and text made of them:
//! no database and no HTTP here, so that all of it is tested on its own.

// Tests read best as one story each, however long.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod access;
pub mod alerts;
pub mod budgets;
pub mod dashboard;
pub mod dates;
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
pub mod tier;
pub mod trend;
#[cfg(feature = "ssr")]
pub mod windows;
