//! Admins' accounts and their passwords' hashing, sessions, API tokens, and the login
//! throttle and its device cookies.

pub mod accounts;
pub mod cookie;
pub mod device;
pub mod secret;
pub mod session;
pub mod throttle;
pub mod token;
