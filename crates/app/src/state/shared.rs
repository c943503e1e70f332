//! The figures as the server hands them out: computed once and shared by every request
//! that asks within `stats-max-age-milliseconds` (1 s by default, at most 5 s, 0 for never);
//! the top users the same way, for a minute ([`Shared`] serves both).
//!
//! Under load this turns hundreds of identical computations a second into one; an admin's
//! page, which refreshes every 30 s, sees figures at most that much older, and says when
//! they were computed (`generatedAt`). Requests that arrive while the figures are being
//! computed wait for that computation instead of starting their own. A failure is shared
//! the same way, so that during an outage waiting requests get their 503 together rather
//! than each waiting for the database in turn; it is not kept longer than the figures.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The database could not give the figures; the error is the one the computation met.
pub type Unavailable = Arc<sqlx::Error>;

/// A computed value (the default figures, the top users) shared for at most `max_age`.
#[derive(Debug)]
pub struct Shared<T> {
    max_age: Duration,
    latest: Mutex<Option<Latest<T>>>,
}

#[derive(Debug)]
struct Latest<T> {
    /// For a value, when it was computed as of; for a failure, when it was met.
    at: Instant,
    /// When the computation ended: every read it made was made by then.
    finished: DateTime<Utc>,
    outcome: Result<T, Unavailable>,
}

impl<T: Clone> Shared<T> {
    pub fn new(max_age: Duration) -> Shared<T> {
        Shared {
            max_age,
            latest: Mutex::new(None),
        }
    }

    /// The value as of at most `max_age` ago, or what `compute` gives now.
    pub async fn get<F, Fut>(&self, compute: F) -> Result<T, Unavailable>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        Ok(self.get_finished(compute).await?.0)
    }

    /// As [`Shared::get`], with the time its computation ended.
    pub async fn get_finished<F, Fut>(&self, compute: F) -> Result<(T, DateTime<Utc>), Unavailable>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        if self.max_age.is_zero() {
            let value = compute().await.map_err(Arc::new)?;
            return Ok((value, Utc::now()));
        }
        // Held while computing: whoever comes meanwhile waits for this computation.
        let mut latest = self.latest.lock().await;
        if let Some(latest) = latest.as_ref().filter(|l| l.at.elapsed() <= self.max_age) {
            return latest.outcome.clone().map(|value| (value, latest.finished));
        }
        let started = Instant::now();
        let outcome = compute().await.map_err(Arc::new);
        let finished = Utc::now();
        let at = if outcome.is_ok() {
            started
        } else {
            Instant::now()
        };
        *latest = Some(Latest {
            at,
            finished,
            outcome: outcome.clone(),
        });
        outcome.map(|value| (value, finished))
    }

    /// Drops the value kept, after any computation under way: the next request computes
    /// anew. For a change this server made that its own pages must show at once.
    pub async fn forget(&self) {
        *self.latest.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::dashboard::DashboardStats;
    use store::db::testing::on_each_backend;
    use store::db::Db;
    use store::figures as query;
    use store::ingest::import_lines;
    use store::report::ReportSettings;

    type SharedStats = Shared<DashboardStats>;

    /// The default figures, through `shared`.
    async fn get(
        shared: &SharedStats,
        db: &Db,
        settings: &ReportSettings,
    ) -> Result<DashboardStats, Unavailable> {
        shared
            .get(|| query::load(db, settings, chrono::Utc::now(), None))
            .await
    }

    async fn generation(db: &Db, id: &str) {
        let created_at = chrono::Utc::now().to_rfc3339();
        let line = serde_json::json!({
            "kind": "generation", "id": id, "user_id": "u1", "provider": "Seedream",
            "status": "succeeded", "credits": 2, "cost_usd": "0.03", "created_at": created_at,
        });
        let report = import_lines(db, format!("{line}\n").as_bytes(), false)
            .await
            .unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }

    fn utc() -> ReportSettings {
        ReportSettings::in_zone(chrono_tz::UTC)
    }

    fn generations_today(stats: &DashboardStats) -> i64 {
        stats.today_stats.generations
    }

    #[tokio::test]
    async fn figures_are_shared_for_at_most_their_age_then_computed_again() {
        on_each_backend(|db| async move {
            let settings = utc();
            let shared = SharedStats::new(Duration::from_millis(400));
            generation(&db, "g1").await;
            let first = get(&shared, &db, &settings).await.unwrap();
            assert_eq!(generations_today(&first), 1);

            generation(&db, "g2").await;
            let again = get(&shared, &db, &settings).await.unwrap();
            assert_eq!(again, first, "within the age, the same figures");

            tokio::time::sleep(Duration::from_millis(450)).await;
            let later = get(&shared, &db, &settings).await.unwrap();
            assert_eq!(generations_today(&later), 2);
            assert!(later.generated_at > first.generated_at);
        })
        .await;
    }

    #[tokio::test]
    async fn forgotten_figures_are_computed_again_at_once() {
        on_each_backend(|db| async move {
            let settings = utc();
            let shared = SharedStats::new(Duration::from_secs(5));
            generation(&db, "g1").await;
            let first = get(&shared, &db, &settings).await.unwrap();
            generation(&db, "g2").await;
            assert_eq!(get(&shared, &db, &settings).await.unwrap(), first);
            shared.forget().await;
            let after = get(&shared, &db, &settings).await.unwrap();
            assert_eq!(generations_today(&after), 2);
        })
        .await;
    }

    #[tokio::test]
    async fn requests_arriving_together_share_one_computation() {
        on_each_backend(|db| async move {
            let settings = utc();
            let shared = SharedStats::new(Duration::from_secs(5));
            generation(&db, "g1").await;
            let all =
                futures::future::join_all((0..32).map(|_| get(&shared, &db, &settings))).await;
            let first = all[0].as_ref().unwrap();
            for stats in &all {
                // One computation: the very same instant for everyone.
                assert_eq!(stats.as_ref().unwrap().generated_at, first.generated_at);
            }
        })
        .await;
    }

    #[tokio::test]
    async fn with_no_age_every_request_computes_its_own() {
        on_each_backend(|db| async move {
            let settings = utc();
            let shared = SharedStats::new(Duration::ZERO);
            generation(&db, "g1").await;
            assert_eq!(
                generations_today(&get(&shared, &db, &settings).await.unwrap()),
                1
            );
            generation(&db, "g2").await;
            assert_eq!(
                generations_today(&get(&shared, &db, &settings).await.unwrap()),
                2
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_failure_is_shared_by_those_waiting_and_then_tried_again() {
        let (db, _folder) = store::db::testing::fresh_sqlite().await;
        let settings = utc();
        let shared = SharedStats::new(Duration::from_millis(300));
        db.close().await;
        let all = futures::future::join_all((0..8).map(|_| get(&shared, &db, &settings))).await;
        let first = all[0].as_ref().unwrap_err();
        for outcome in &all {
            assert!(
                Arc::ptr_eq(outcome.as_ref().unwrap_err(), first),
                "one attempt for all"
            );
        }
        tokio::time::sleep(Duration::from_millis(350)).await;
        let retried = get(&shared, &db, &settings).await.unwrap_err();
        assert!(!Arc::ptr_eq(&retried, first), "a new attempt after the age");
    }
}
