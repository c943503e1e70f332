//! What `serve` sets up: the pages where the app's links lead, and the database's address
//! logged without its password.

use model::paths::*;

#[test]
fn the_pages_are_where_the_links_say() {
    let routes: Vec<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|route| route.path().to_owned())
        .collect();
    // axum's form of the route's `:id`.
    let user_page = format!("{USERS_PATH}/{{id}}");
    for page in [
        DASHBOARD_PATH,
        LOG_PATH,
        ALERTS_PATH,
        LOGIN_PATH,
        SETUP_PATH,
        &user_page,
    ] {
        assert!(
            routes.iter().any(|route| route == page),
            "{page} in {routes:?}"
        );
    }
}
#[test]
fn passwords_stay_out_of_logs() {
    assert_eq!(
        crate::redact("postgres://app:s3cret@db:5432/usage"),
        "postgres://app:***@db:5432/usage"
    );
    assert_eq!(
        crate::redact("postgres://postgres@127.0.0.1/x"),
        "postgres://postgres@127.0.0.1/x"
    );
    assert_eq!(
        crate::redact("sqlite://data/usage-monitor.db"),
        "sqlite://data/usage-monitor.db"
    );
}
