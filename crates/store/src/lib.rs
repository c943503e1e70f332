//! Everything the server keeps: the database and its migrations (`db`), loading events
//! (`ingest`), the running totals kept with them (`totals`), the figures read from both
//! (`figures`), the log and user pages (`log`), alerts' history and delivery (`alerts`), budgets and their crossings (`budgets`),
//! admins' accounts, sessions and tokens (`auth`), and the demo data (`demo`).

// Tests read best as one story each, however long.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod alerts;
pub mod all_time;
pub mod auth;
pub mod buckets;
pub mod budgets;
pub mod db;
pub mod demo;
pub mod error_groups;
pub mod figures;
pub mod ingest;
pub mod latency_bins;
pub mod log;
pub mod open;
pub mod parts;
pub mod report;
pub mod totals;
pub mod user_ranking;
