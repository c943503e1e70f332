//! The addresses of the pages, for links, redirects and messages. The router's own
//! `path!` patterns must be literals; a server test checks that they match these.

/// Every page an admin signs in to see lies under this.
pub const ADMIN_AREA: &str = "/admin";
/// The dashboard: Usage & Cost Monitoring.
pub const DASHBOARD_PATH: &str = "/admin/credits";
/// The generations log.
pub const LOG_PATH: &str = "/admin/generations";
/// The alerts page.
pub const ALERTS_PATH: &str = "/admin/alerts";
/// A user's page is this, a slash, and the user's id.
pub const USERS_PATH: &str = "/admin/users";
pub const LOGIN_PATH: &str = "/login";
pub const SETUP_PATH: &str = "/setup";
pub const LOGOUT_PATH: &str = "/logout";
