//! Admin sessions, kept in the database so that logout and expiry are decided by the
//! server: a new random id at each login, only its hash stored, an idle and an absolute
//! limit. The cookie only carries the id.

use super::secret::{fingerprint, is_well_formed, random_secret};
use crate::db::Db;
use chrono::{DateTime, Utc};
use http::header::HeaderMap;
use sqlx::Row;
use std::time::Duration;

/// Who is signed in, put into each request's extensions by the guard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminSession {
    pub email: String,
}

#[derive(Clone, Debug)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A session ends this long after login, used or not.
    pub absolute: Duration,
    /// Cookies only over https, with the `__Host-` prefix (which requires Secure).
    pub secure_cookie: bool,
}

/// Last-seen times are written at most this often, so that reading pages is not a write
/// per request; idle expiry is late by at most this much.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl SessionPolicy {
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            "__Host-usage_monitor_session"
        } else {
            "usage_monitor_session"
        }
    }

    /// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, host-only, whole site.
    pub fn set_cookie(&self, id: &str) -> String {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        format!(
            "{}={id}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.cookie_name()
        )
    }

    /// `Set-Cookie` that makes the browser forget the session.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            self.cookie_name()
        )
    }

    /// The session id the request's cookies carry, if any; one that is not shaped like an
    /// id (length, alphabet) is no session, found without asking the database.
    pub fn session_id<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        super::cookie::values(headers, self.cookie_name()).find(|value| is_well_formed(value))
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Starts a session for `email`; returns the id for the cookie.
pub async fn create(
    db: &Db,
    email: &str,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<String, sqlx::Error> {
    let id = random_secret();
    let now = now.timestamp_micros();
    // Expired sessions are cleared here, so the table holds only live ones and recent leftovers.
    sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
        .bind(now.saturating_sub(micros(policy.idle)))
        .bind(now.saturating_sub(micros(policy.absolute)))
        .execute(db.writer())
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, admin_email, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(fingerprint(&id))
    .bind(email)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(id)
}

/// The admin a live session belongs to; an expired one is deleted.
pub async fn find(
    db: &Db,
    id: &str,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<Option<AdminSession>, sqlx::Error> {
    let id_hash = fingerprint(id);
    let Some(row) = sqlx::query(
        "SELECT admin_email, created_at, last_seen_at FROM sessions WHERE id_hash = $1",
    )
    .bind(&id_hash)
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    let (email, created_at, last_seen_at): (String, i64, i64) = (
        row.try_get("admin_email")?,
        row.try_get("created_at")?,
        row.try_get("last_seen_at")?,
    );
    let now = now.timestamp_micros();
    if now - last_seen_at > micros(policy.idle) || now - created_at > micros(policy.absolute) {
        end(db, id).await?;
        return Ok(None);
    }
    if now - last_seen_at > micros(TOUCH_EVERY) {
        // Bookkeeping for idle expiry: if it cannot be written now (writes queued too long),
        // the session is still valid and the next request tries again.
        if let Err(error) = sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&id_hash)
            .execute(db.writer())
            .await
        {
            tracing::warn!(%error, "a session's last use was not recorded");
        }
    }
    Ok(Some(AdminSession { email }))
}

/// Ends a session on the server: its id is worthless from now on.
pub async fn end(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(fingerprint(id))
        .execute(db.writer())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::accounts::create_admin;
    use crate::db::testing::on_each_backend;
    use chrono::TimeDelta;
    use http::header::COOKIE;

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            secure_cookie: false,
        }
    }

    #[tokio::test]
    async fn sessions_end_when_idle_too_long_at_their_absolute_limit_or_at_logout() {
        on_each_backend(|db| async move {
            create_admin(&db, "ann@example.com", "correct horse battery", false)
                .await
                .unwrap();
            let policy = policy();
            let t0 = "2026-11-27T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
            let ann = Some(AdminSession {
                email: "ann@example.com".into(),
            });

            let id = create(&db, "ann@example.com", t0, &policy).await.unwrap();
            let stored: String = sqlx::query("SELECT id_hash FROM sessions")
                .fetch_one(&db.pool)
                .await
                .unwrap()
                .get(0);
            assert_ne!(stored, id, "only the hash is stored");
            // Used every 20 minutes, it lives until the absolute limit.
            let mut t = t0;
            while t + TimeDelta::minutes(20) <= t0 + TimeDelta::hours(12) {
                t += TimeDelta::minutes(20);
                assert_eq!(find(&db, &id, t, &policy).await.unwrap(), ann, "at {t}");
            }
            assert_eq!(
                find(
                    &db,
                    &id,
                    t0 + TimeDelta::hours(12) + TimeDelta::minutes(1),
                    &policy
                )
                .await
                .unwrap(),
                None
            );
            assert_eq!(
                find(&db, &id, t0, &policy).await.unwrap(),
                None,
                "an expired session is gone"
            );

            let id = create(&db, "ann@example.com", t0, &policy).await.unwrap();
            assert_eq!(
                find(&db, &id, t0 + TimeDelta::minutes(31), &policy)
                    .await
                    .unwrap(),
                None
            );

            let id = create(&db, "ann@example.com", t0, &policy).await.unwrap();
            assert_eq!(find(&db, &id, t0, &policy).await.unwrap(), ann);
            end(&db, &id).await.unwrap();
            assert_eq!(find(&db, &id, t0, &policy).await.unwrap(), None);
            assert_eq!(find(&db, "forged", t0, &policy).await.unwrap(), None);
        })
        .await;
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_host_only_over_https() {
        let mut policy = policy();
        assert_eq!(
            policy.set_cookie("abc"),
            "usage_monitor_session=abc; Path=/; HttpOnly; SameSite=Strict"
        );
        policy.secure_cookie = true;
        assert_eq!(
            policy.set_cookie("abc"),
            "__Host-usage_monitor_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        let id = random_secret();
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            format!("a=1; __Host-usage_monitor_session={id}; b=2")
                .parse()
                .unwrap(),
        );
        assert_eq!(policy.session_id(&headers), Some(id.as_str()));
        let (longer, escaped) = (format!("{id}=="), format!("%2{}", &id[2..]));
        for malformed in ["xyz", &id[1..], longer.as_str(), escaped.as_str()] {
            let mut headers = HeaderMap::new();
            let cookie = format!("__Host-usage_monitor_session={malformed}");
            headers.insert(COOKIE, cookie.parse().unwrap());
            assert_eq!(policy.session_id(&headers), None, "{malformed}");
        }
        policy.secure_cookie = false;
        assert_eq!(policy.session_id(&headers), None);
    }
}
