//! Bounds the password checks running at once (docs/security.md, rule 2): each takes
//! argon2id's 19 MiB for a few dozen milliseconds of a core, so without a bound a few
//! hundred parallel logins take hundreds of MiB. A few run at once; a bounded number wait
//! their turn for a short while; the others are told to come back (`503`). The gate is
//! this process's; the throttle, in the database, bounds the attempts of every server.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::auth::accounts;
use store::db::Db;
use tokio::sync::Semaphore;

/// The longest a check waits for its turn before it is given up.
pub const MAX_WAIT: Duration = Duration::from_secs(5);
/// What a client that was turned away is told to wait.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Too many checks running and waiting: this one was not made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins at once; try again in {} s", RETRY_AFTER.as_secs())]
pub struct Busy;

/// Why a password could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Whether the email and password belong to an admin, checked when `gate` gives the check
/// its turn. Takes the same time whether the email is unknown or the password wrong.
pub async fn verify_login(
    db: &Db,
    gate: &HashingGate,
    email: &str,
    password: &str,
) -> Result<bool, LoginError> {
    let check = accounts::login_check(db, email, password).await?;
    Ok(gate.run(move || check.matches()).await?)
}

#[derive(Debug)]
pub struct HashingGate {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Checks made since the start, for tests and to see the gate work.
    checks: AtomicU64,
}

/// Counts a waiting check for as long as it waits, also when its request is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashingGate {
    /// `concurrency` checks at once (at least one), `max_waiting` more waiting.
    pub fn new(concurrency: usize, max_waiting: usize) -> HashingGate {
        HashingGate {
            running: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            checks: AtomicU64::new(0),
        }
    }

    /// Runs `check` on a blocking thread when its turn comes, or gives up.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = match Arc::clone(&self.running).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(Busy);
                }
                let _waiting = Waiting(&self.waiting);
                let turn = Arc::clone(&self.running).acquire_owned();
                match tokio::time::timeout(MAX_WAIT, turn).await {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Busy),
                }
            }
        };
        self.checks.fetch_add(1, Ordering::Relaxed);
        // The permit goes with the check: if the request is dropped meanwhile, the thread
        // still holds its turn until the check ends.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check()
        })
        .await
        .map_err(|_| Busy)
    }

    /// How many checks have been made.
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_bound_run_and_at_most_the_queue_waits() {
        let gate = Arc::new(HashingGate::new(2, 3));
        let (now_running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks = (0..10).map(|_| {
            let (gate, now_running, most) = (gate.clone(), now_running.clone(), most.clone());
            tokio::spawn(async move {
                gate.run(move || {
                    let n = now_running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    // Long enough that all ten have asked before the first two end.
                    std::thread::sleep(Duration::from_millis(500));
                    now_running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            })
        });
        let outcomes: Vec<_> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(|joined| joined.unwrap())
            .collect();
        // Ten at once: two run, three wait (and run later), five are turned away at once.
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 5);
        assert_eq!(outcomes.iter().filter(|o| **o == Err(Busy)).count(), 5);
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(gate.checks(), 5);
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
    }
}
