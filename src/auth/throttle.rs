//! Slows down and then refuses repeated failed logins, per account and per address.
//!
//! Failures are counted in memory (per server process): after `free_failures` each further
//! failure is answered more slowly, and at `lock_after_*` failures the account or the
//! address is refused for `lockout`. A lock never outlives `lockout`, so someone else's
//! failures cannot keep an admin out for longer than that; failures older than `lockout`
//! are forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct ThrottlePolicy {
    pub free_failures: u32,
    pub lock_after_account_failures: u32,
    pub lock_after_address_failures: u32,
    pub lockout: Duration,
    /// The delay after the first slowed failure; it doubles with each one, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl ThrottlePolicy {
    pub fn with_lockout(lockout: Duration) -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 3,
            lock_after_account_failures: 5,
            lock_after_address_failures: 20,
            lockout,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refused for this long (the `Retry-After`).
    Refuse {
        retry_after: Duration,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key<'a> {
    Account(&'a str),
    Address(IpAddr),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum OwnedKey {
    Account(String),
    Address(IpAddr),
}

impl Key<'_> {
    fn owned(self) -> OwnedKey {
        match self {
            Key::Account(email) => OwnedKey::Account(email.to_owned()),
            Key::Address(ip) => OwnedKey::Address(ip),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// At most this many accounts and addresses are remembered; beyond it the stale ones go.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    failures: Mutex<HashMap<OwnedKey, Failures>>,
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> LoginThrottle {
        LoginThrottle {
            policy,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, address: IpAddr) -> [Key<'_>; 2] {
        [Key::Account(email), Key::Address(address)]
    }

    /// Whether a login for `email` from `address` may be tried now.
    pub fn check(&self, email: &str, address: IpAddr, now: Instant) -> Verdict {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let retry_after = Self::keys(email, address)
            .iter()
            .filter_map(|key| failures.get(&key.owned())?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match retry_after {
            Some(retry_after) => Verdict::Refuse { retry_after },
            None => Verdict::Allow,
        }
    }

    /// Counts a failed login; returns how long to wait before answering it.
    pub fn failed(&self, email: &str, address: IpAddr, now: Instant) -> Duration {
        let policy = &self.policy;
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, f| now.duration_since(f.last) < policy.lockout);
        }
        let mut worst = 0;
        for key in Self::keys(email, address) {
            let lock_after = match key {
                Key::Account(_) => policy.lock_after_account_failures,
                Key::Address(_) => policy.lock_after_address_failures,
            };
            let entry = failures.entry(key.owned()).or_insert(Failures {
                count: 0,
                last: now,
                locked_until: None,
            });
            let lock_over = entry.locked_until.is_some_and(|until| until <= now);
            if lock_over || now.duration_since(entry.last) >= policy.lockout {
                *entry = Failures {
                    count: 0,
                    last: now,
                    locked_until: None,
                };
            }
            entry.count += 1;
            entry.last = now;
            if entry.count >= lock_after && entry.locked_until.is_none() {
                entry.locked_until = Some(now + policy.lockout);
            }
            if matches!(key, Key::Account(_)) {
                worst = worst.max(entry.count);
            }
        }
        self.delay_after(worst)
    }

    /// A login succeeded: the account's own failures are forgotten. The address's are
    /// not, so one known password cannot reset the count of guesses at others.
    pub fn succeeded(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&OwnedKey::Account(email.to_owned()));
    }

    fn delay_after(&self, failures: u32) -> Duration {
        let policy = &self.policy;
        match failures.checked_sub(policy.free_failures + 1) {
            None => Duration::ZERO,
            Some(doublings) => policy
                .first_delay
                .saturating_mul(1 << doublings.min(16))
                .min(policy.max_delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottlePolicy::with_lockout(15 * MINUTE))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn failures_are_slowed_then_the_account_is_locked_for_the_lockout_only() {
        let t = throttle();
        let start = Instant::now();
        let delays: Vec<Duration> = (0..5)
            .map(|_| t.failed("ann@example.com", ip("10.0.0.1"), start))
            .collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(delays, [ms(0), ms(0), ms(0), ms(500), ms(1000)]);
        // Locked for the account, from any address.
        assert_eq!(
            t.check("ann@example.com", ip("10.0.0.2"), start + MINUTE),
            Verdict::Refuse {
                retry_after: 14 * MINUTE
            }
        );
        assert_eq!(
            t.check("bob@example.com", ip("10.0.0.2"), start + MINUTE),
            Verdict::Allow
        );
        // The lock ends after the lockout, and a success then is let through.
        assert_eq!(
            t.check("ann@example.com", ip("10.0.0.2"), start + 15 * MINUTE),
            Verdict::Allow
        );
        // After the lock, counting starts again from zero.
        assert_eq!(
            t.failed("ann@example.com", ip("10.0.0.1"), start + 16 * MINUTE),
            Duration::ZERO
        );
    }

    #[test]
    fn one_address_guessing_many_accounts_is_locked() {
        let t = throttle();
        let now = Instant::now();
        for n in 0..20 {
            assert_eq!(
                t.check(&format!("user{n}@example.com"), ip("10.0.0.9"), now),
                Verdict::Allow
            );
            t.failed(&format!("user{n}@example.com"), ip("10.0.0.9"), now);
        }
        assert!(matches!(
            t.check("ann@example.com", ip("10.0.0.9"), now),
            Verdict::Refuse { .. }
        ));
        assert_eq!(
            t.check("ann@example.com", ip("10.0.0.10"), now),
            Verdict::Allow
        );
    }

    #[test]
    fn a_success_forgets_the_accounts_failures_and_old_failures_fade() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..4 {
            t.failed("ann@example.com", ip("10.0.0.1"), now);
        }
        t.succeeded("ann@example.com");
        assert_eq!(
            t.failed("ann@example.com", ip("10.0.0.1"), now),
            Duration::ZERO
        );
        for _ in 0..3 {
            t.failed("bob@example.com", ip("10.0.0.3"), now);
        }
        let later = now + 16 * MINUTE;
        assert_eq!(
            t.failed("bob@example.com", ip("10.0.0.3"), later),
            Duration::ZERO
        );
    }

    #[test]
    fn delays_stop_growing() {
        let t = throttle();
        assert_eq!(t.delay_after(40), Duration::from_secs(4));
    }
}
