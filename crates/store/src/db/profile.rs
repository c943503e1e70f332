//! Time spent per kind of statement while switched on: the benchmark's account of where
//! an import's time goes. Only with the feature `profile`, which the benchmark's crate
//! turns on: without it, `timed` and `add` are nothing, and the server's statements take
//! no lock for them.

use std::collections::BTreeMap;
#[cfg(feature = "profile")]
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per kind of statement: the time spent and how many ran.
pub type Spent = BTreeMap<String, (Duration, u64)>;

#[cfg(feature = "profile")]
static SPENT: Mutex<Option<Spent>> = Mutex::new(None);

#[cfg(feature = "profile")]
fn slot() -> std::sync::MutexGuard<'static, Option<Spent>> {
    SPENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts counting afresh.
#[cfg(feature = "profile")]
pub fn start() {
    *slot() = Some(Spent::new());
}

/// Stops counting and returns what was counted.
#[cfg(feature = "profile")]
pub fn take() -> Spent {
    slot().take().unwrap_or_default()
}

/// Counts the time since `started` for `what`, if counting.
#[cfg(feature = "profile")]
pub fn add(what: impl FnOnce() -> String, started: Instant) {
    if let Some(spent) = slot().as_mut() {
        let entry = spent.entry(what()).or_default();
        entry.0 += started.elapsed();
        entry.1 += 1;
    }
}

/// Without the feature, nothing is counted.
#[cfg(not(feature = "profile"))]
pub fn add(_what: impl FnOnce() -> String, _started: Instant) {}

/// Runs `work`, counting its time for `what`.
pub async fn timed<F: std::future::Future>(what: &'static str, work: F) -> F::Output {
    let started = Instant::now();
    let output = work.await;
    add(|| what.to_owned(), started);
    output
}
