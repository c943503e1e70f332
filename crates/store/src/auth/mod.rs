//! Admins' accounts and their passwords' hashing, sessions, API tokens, the login
//! throttle and its device cookies, and the first-admin link.

pub mod accounts;
pub mod cookie;
pub mod device;
pub mod hashing;
pub mod secret;
pub mod session;
pub mod setup_link;
pub mod throttle;
pub mod token;
