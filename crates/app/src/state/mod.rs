//! What every handler and server function can reach: the database, the settings, the
//! login door's gates and the figures shared by concurrent requests.

pub mod hashing;
pub mod setup_link;
pub mod shared;

use crate::config::Settings;
use axum::extract::FromRef;
use chrono::{DateTime, Utc};
use hashing::HashingGate;
use leptos::config::LeptosOptions;
use model::dashboard::DashboardStats;
use model::log::TopUsers;
use model::range::DateRange;
use setup_link::SetupLink;
use shared::{Shared, Unavailable};
use std::sync::Arc;
use std::time::Duration;
use store::auth::throttle::{LoginThrottle, ThrottlePolicy};
use store::db::Db;

/// What every handler and server function can reach (server functions through context).
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    pub throttle: Arc<LoginThrottle>,
    pub hashing: Arc<HashingGate>,
    pub setup: Arc<SetupLink>,
    pub stats: Arc<Shared<DashboardStats>>,
    pub top_users: Arc<Shared<TopUsers>>,
    /// Whether the database answered `/readyz`'s probe.
    pub ready: Arc<Shared<bool>>,
    /// A slot for each download of the log that may run at once.
    pub exports: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: Db, settings: Settings) -> AppState {
        AppState {
            leptos_options,
            db,
            throttle: Arc::new(LoginThrottle::new(ThrottlePolicy::with_lockout(
                settings.access.login_lockout,
            ))),
            hashing: Arc::new(HashingGate::new(
                settings.access.login_hash_concurrency,
                settings.access.login_hash_queue,
            )),
            stats: Arc::new(Shared::new(settings.stats_max_age)),
            top_users: Arc::new(Shared::new(model::log::TOP_USERS_MAX_AGE)),
            ready: Arc::new(Shared::new(READY_MAX_AGE)),
            exports: Arc::new(tokio::sync::Semaphore::new(settings.exports.at_once)),
            settings: Arc::new(settings),
            setup: Arc::default(),
        }
    }
}

impl AppState {
    /// The dashboard's figures.
    pub async fn figures(&self, range: Option<&DateRange>) -> Result<DashboardStats, Unavailable> {
        let (db, report) = (&self.db, &self.settings.report);
        shared_unless_ranged(&self.stats, range, || {
            store::figures::load(db, report, chrono::Utc::now(), range)
        })
        .await
    }

    /// The default figures, and when their computation ended (for the alerts, which must
    /// know how old the shared figures are).
    pub async fn figures_finished(&self) -> Result<(DashboardStats, DateTime<Utc>), Unavailable> {
        let (db, report) = (&self.db, &self.settings.report);
        self.stats
            .get_finished(|| store::figures::load(db, report, chrono::Utc::now(), None))
            .await
    }

    /// The top users by cost.
    pub async fn top_users(&self, range: Option<&DateRange>) -> Result<TopUsers, Unavailable> {
        let (db, report) = (&self.db, &self.settings.report);
        shared_unless_ranged(&self.top_users, range, || {
            store::log::top_users(db, report, chrono::Utc::now(), range)
        })
        .await
    }
}

/// The default view through `shared`, which many pages ask for at once; a chosen range
/// (an admin asks for one at a time) computed for the request.
async fn shared_unless_ranged<T: Clone, Fut>(
    shared: &Shared<T>,
    range: Option<&DateRange>,
    compute: impl FnOnce() -> Fut,
) -> Result<T, Unavailable>
where
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    match range {
        None => shared.get(compute).await,
        Some(_) => compute().await.map_err(Arc::new),
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

/// How old an answer `/readyz` may give: load balancers and orchestrators probe every
/// server often, and the database need not be asked by each probe.
const READY_MAX_AGE: Duration = Duration::from_secs(1);
