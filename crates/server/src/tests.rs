//! The server's tests over real HTTP, one file per concern; the tests of a module of
//! their own sit in that module's folder (`auth/tests.rs`, `export/tests.rs`, …).

pub(crate) mod alerts;
mod budgets;
mod connection;
pub(crate) mod hostile;
mod input;
mod page_scripts;
mod reliability;
mod serve;
