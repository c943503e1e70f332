//! Slows down and then refuses repeated logins (docs/security.md, rules 1, 4 and 6).
//!
//! Attempts are counted in the database (`login_attempts`), so that every server on it
//! enforces one limit. An attempt is reserved *before* its password is checked, in one
//! transaction over its keys (all or none); a success, or an attempt that was never
//! checked, gives its reservation back. So a burst of any size, on one server or many,
//! checks at most the limit's number of passwords.
//!
//! - A client is its IPv4 address, or its IPv6 /64 (one subscriber's network, in which
//!   new addresses cost nothing). The account at one client is refused after
//!   `account_address_limit` attempts, a client after `address_limit` (whatever the
//!   accounts), and an IPv6 /48 after `network_limit`, until `lockout` has passed since
//!   the last attempt counted.
//! - The account alone is never locked, so that failures from elsewhere cannot keep its
//!   admin out. It is paced instead: from the attempt after `free_attempts` on, the next
//!   one is refused for a delay (doubling, at most `max_delay`). A refusal for the pace
//!   still counts against the client that sent it, so that rotating clients pay.
//! - An attempt that carries a device cookie signed for its account (`device`) is counted
//!   on that device alone, `device_limit` per lockout: neither the account's pace nor a
//!   lock on its address, which others caused, holds it back.

use super::device::DeviceKey;
use super::secret::fingerprint;
use crate::db::transaction::begin_row_write;
use crate::db::Db;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sqlx::{AnyConnection, Row};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// An IPv6 client is counted by its /64: a subscriber's network, whose addresses are free.
pub const IPV6_CLIENT_PREFIX: u8 = 64;
/// An IPv6 network, counted with a larger limit: a site's allocation of /64s.
pub const IPV6_NETWORK_PREFIX: u8 = 48;

#[derive(Clone, Debug)]
pub struct ThrottlePolicy {
    pub free_attempts: u32,
    pub account_address_limit: u32,
    pub address_limit: u32,
    /// Attempts from one IPv6 /48, whatever its /64s and accounts.
    pub network_limit: u32,
    /// Attempts with one device cookie.
    pub device_limit: u32,
    pub lockout: Duration,
    /// The pause after the first paced attempt; it doubles with each one, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl ThrottlePolicy {
    pub fn with_lockout(lockout: Duration) -> ThrottlePolicy {
        ThrottlePolicy {
            free_attempts: 3,
            account_address_limit: 5,
            address_limit: 20,
            network_limit: 100,
            device_limit: 5,
            lockout,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
        }
    }

    /// The most attempts on one account that its pacing lets through within `elapsed` of
    /// the first: the free ones at once, then one after each pause.
    pub fn account_attempts_within(&self, elapsed: Duration) -> u32 {
        let mut waited = Duration::ZERO;
        let mut attempts: u32 = 1;
        loop {
            waited += self.delay_after(i64::from(attempts));
            if waited > elapsed {
                return attempts;
            }
            attempts += 1;
        }
    }

    /// The pause an account's `attempts`-th attempt of a window imposes.
    fn delay_after(&self, attempts: i64) -> Duration {
        match attempts.checked_sub(i64::from(self.free_attempts) + 1) {
            Some(doublings) if doublings >= 0 => self
                .first_delay
                .saturating_mul(1 << doublings.min(16))
                .min(self.max_delay),
            _ => Duration::ZERO,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow(Reservation),
    /// Refused for this long (the `Retry-After`).
    Refuse {
        retry_after: Duration,
    },
}

/// An attempt let through and counted.
#[derive(Debug, PartialEq, Eq)]
pub struct Reservation {
    keys: Vec<String>,
    account: String,
    /// How long the answer to a wrong password waits (the account's pace).
    pub pace: Duration,
}

/// Why an attempt is given back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GivenBack {
    /// The password was right: the account's pace is lifted too, so that its admin is not
    /// kept waiting by the pause their own sign-in set.
    RightPassword,
    /// The password was never checked (the server was too busy).
    NotChecked,
}

/// One of an attempt's counters.
struct Key {
    name: String,
    /// Attempts let through per window; `i64::MAX` for the account, which is paced instead.
    limit: i64,
    paced: bool,
}

/// Expired rows are deleted at most this often by each server.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    /// The database's key for device cookies, read once.
    device_key: tokio::sync::OnceCell<DeviceKey>,
    /// When this server last deleted expired rows (microseconds).
    last_sweep: AtomicI64,
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn duration_from_micros(micros: i64) -> Duration {
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> LoginThrottle {
        LoginThrottle {
            policy,
            device_key: tokio::sync::OnceCell::new(),
            last_sweep: AtomicI64::new(i64::MIN),
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// The attempt's keys, in one order for every attempt (the network, the client, the
    /// account at the client, the account), so that concurrent reservations and give-backs
    /// take their rows' locks in the same order and cannot deadlock. The account comes
    /// last, so that a refusal for its pace is charged to the others.
    fn keys(&self, email: &str, address: IpAddr) -> Vec<Key> {
        let limit = |n: u32| i64::from(n);
        let (client, network) = client_and_network(address);
        let mut keys = Vec::with_capacity(4);
        if let Some(network) = network {
            keys.push(Key {
                name: format!("network:{network}"),
                limit: limit(self.policy.network_limit),
                paced: false,
            });
        }
        keys.extend([
            Key {
                name: format!("address:{client}"),
                limit: limit(self.policy.address_limit),
                paced: false,
            },
            Key {
                name: format!(
                    "account-at-address:{}",
                    fingerprint(&format!("{email}\n{client}"))
                ),
                limit: limit(self.policy.account_address_limit),
                paced: false,
            },
            Key {
                name: format!("account:{}", fingerprint(email)),
                limit: i64::MAX,
                paced: true,
            },
        ]);
        keys
    }

    /// The key of a device cookie signed for `email`; `None` for no cookie or a bad one.
    async fn device(
        &self,
        db: &Db,
        email: &str,
        cookie: Option<&str>,
    ) -> Result<Option<Key>, sqlx::Error> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let key = self.device_key(db).await?;
        Ok(key.verify(email, cookie).map(|nonce| Key {
            name: format!("device:{}", fingerprint(nonce)),
            limit: i64::from(self.policy.device_limit),
            paced: false,
        }))
    }

    /// A device cookie's value for a browser that has just signed in to `email`.
    pub async fn device_cookie(&self, db: &Db, email: &str) -> Result<String, sqlx::Error> {
        Ok(self.device_key(db).await?.issue(email))
    }

    /// The key that signs device cookies, read from the database once.
    async fn device_key(&self, db: &Db) -> Result<&DeviceKey, sqlx::Error> {
        (self.device_key)
            .get_or_try_init(|| DeviceKey::load_or_create(db))
            .await
    }

    /// Counts an attempt for `email` from `address`, with the device cookie `device` if the
    /// browser sent one, if all its keys allow one; else none, except that a refusal for
    /// the account's pace is charged to the client's keys.
    pub async fn reserve(
        &self,
        db: &Db,
        email: &str,
        address: IpAddr,
        device: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Verdict, sqlx::Error> {
        let now = now.timestamp_micros();
        self.sweep(db, now).await?;
        let account = format!("account:{}", fingerprint(email));
        let keys = match self.device(db, email, device).await? {
            Some(device) => vec![device],
            None => self.keys(email, address),
        };
        let mut tx = begin_row_write(db).await?;
        let mut pace = Duration::ZERO;
        for key in &keys {
            let expires_at = now.saturating_add(micros(self.policy.lockout));
            match take(&mut tx, key, now, expires_at).await? {
                Some(attempts) if key.paced => {
                    pace = self.policy.delay_after(attempts);
                    set_pace(&mut tx, key, now.saturating_add(micros(pace))).await?;
                }
                Some(_) => {}
                None => {
                    let retry_after = retry_after(&mut tx, key, now).await?;
                    if key.paced {
                        // The keys before the account's were taken: the client pays.
                        tx.commit().await?;
                    } else {
                        tx.rollback().await?;
                    }
                    return Ok(Verdict::Refuse { retry_after });
                }
            }
        }
        tx.commit().await?;
        Ok(Verdict::Allow(Reservation {
            account,
            keys: keys.into_iter().map(|key| key.name).collect(),
            pace,
        }))
    }

    /// Gives an attempt back: its password was right, or never checked. Its keys are
    /// updated one by one in the reservation's order (see [`LoginThrottle::keys`]).
    pub async fn give_back(
        &self,
        db: &Db,
        reservation: &Reservation,
        why: GivenBack,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let unpaced = match why {
            GivenBack::RightPassword => reservation.account.as_str(),
            GivenBack::NotChecked => "",
        };
        let mut tx = begin_row_write(db).await?;
        for key in &reservation.keys {
            sqlx::query(
                "UPDATE login_attempts SET attempts = attempts - 1,
                     not_before = CASE WHEN key = $3 THEN $2 ELSE not_before END
                 WHERE key = $1 AND attempts > 0 AND expires_at > $2",
            )
            .bind(key)
            .bind(now.timestamp_micros())
            .bind(unpaced)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the rows whose window has passed, at most once per [`SWEEP_EVERY`].
    async fn sweep(&self, db: &Db, now: i64) -> Result<(), sqlx::Error> {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < micros(SWEEP_EVERY)
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        sqlx::query("DELETE FROM login_attempts WHERE expires_at <= $1")
            .bind(now)
            .execute(db.writer())
            .await?;
        Ok(())
    }
}

/// What `address` is counted as: the client (an IPv4 address, or an IPv6 /64), and its
/// IPv6 /48.
fn client_and_network(address: IpAddr) -> (String, Option<String>) {
    let prefix = |length: u8| {
        IpNet::new(address, length)
            .map(|net| net.trunc().to_string())
            .unwrap_or_else(|_| address.to_string())
    };
    match address.to_canonical() {
        IpAddr::V4(v4) => (v4.to_string(), None),
        IpAddr::V6(_) => (
            prefix(IPV6_CLIENT_PREFIX),
            Some(prefix(IPV6_NETWORK_PREFIX)),
        ),
    }
}

/// Counts one attempt on `key` if it has room; its attempts then, or `None` when full or
/// paced. One conditional upsert: the row's lock makes concurrent ones take turns.
async fn take(
    conn: &mut AnyConnection,
    key: &Key,
    now: i64,
    expires_at: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO login_attempts (key, attempts, not_before, expires_at) VALUES ($1, 1, 0, $2)
         ON CONFLICT (key) DO UPDATE SET
             attempts = CASE WHEN login_attempts.expires_at <= $3 THEN 1
                             ELSE login_attempts.attempts + 1 END,
             not_before = CASE WHEN login_attempts.expires_at <= $3 THEN 0
                               ELSE login_attempts.not_before END,
             expires_at = $2
         WHERE login_attempts.expires_at <= $3
            OR (login_attempts.attempts < $4 AND login_attempts.not_before <= $3)
         RETURNING attempts",
    )
    .bind(&key.name)
    .bind(expires_at)
    .bind(now)
    .bind(key.limit)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| row.try_get("attempts")).transpose()
}

async fn set_pace(conn: &mut AnyConnection, key: &Key, not_before: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE login_attempts SET not_before = $1 WHERE key = $2")
        .bind(not_before)
        .bind(&key.name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How long until `key`, which refused an attempt, takes one again.
async fn retry_after(
    conn: &mut AnyConnection,
    key: &Key,
    now: i64,
) -> Result<Duration, sqlx::Error> {
    let row =
        sqlx::query("SELECT attempts, not_before, expires_at FROM login_attempts WHERE key = $1")
            .bind(&key.name)
            .fetch_one(&mut *conn)
            .await?;
    let (attempts, not_before, expires_at): (i64, i64, i64) = (
        row.try_get("attempts")?,
        row.try_get("not_before")?,
        row.try_get("expires_at")?,
    );
    let until = if attempts >= key.limit {
        expires_at
    } else {
        not_before
    };
    Ok(duration_from_micros(until.saturating_sub(now)).max(Duration::from_millis(1)))
}

#[cfg(test)]
mod tests;
