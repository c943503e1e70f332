//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a
//! browser that has signed in to an account carries a cookie that proves it, so that its
//! attempts at that account are counted apart from everyone else's (docs/security.md,
//! rule 4). The cookie is a random nonce and the HMAC-SHA256 of the account and the nonce,
//! under a key kept in the database (table `server_secrets`) so that every server trusts
//! the cookies of the others.

use super::secret::{fingerprint, is_well_formed, random_secret};
use crate::db::Db;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::header::HeaderMap;
use sha2::Sha256;
use std::time::Duration;

/// How long a browser keeps its device cookie.
pub const DEVICE_COOKIE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The key's name in `server_secrets`.
const KEY_NAME: &str = "device-cookie";

/// The key that signs device cookies.
pub struct DeviceKey(String);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(..)")
    }
}

impl DeviceKey {
    /// The database's key, made by the first server that asks for it.
    pub async fn load_or_create(db: &Db) -> Result<DeviceKey, sqlx::Error> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(KEY_NAME)
        .bind(random_secret())
        .execute(db.writer())
        .await?;
        let key: String = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(KEY_NAME)
            .fetch_one(db.writer())
            .await?;
        Ok(DeviceKey(key))
    }

    fn signature(&self, email: &str, nonce: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(fingerprint(email).as_bytes());
        mac.update(b"\n");
        mac.update(nonce.as_bytes());
        mac
    }

    /// A new cookie value for a browser that has just signed in to `email`.
    pub fn issue(&self, email: &str) -> String {
        let nonce = random_secret();
        let signature = self.signature(email, &nonce).finalize().into_bytes();
        format!("{nonce}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The device `cookie` names, if it was signed for `email`: its nonce.
    pub fn verify<'c>(&self, email: &str, cookie: &'c str) -> Option<&'c str> {
        let (nonce, signature) = cookie.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let valid = is_well_formed(nonce)
            && self
                .signature(email, nonce)
                .verify_slice(&signature)
                .is_ok();
        valid.then_some(nonce)
    }
}

/// The cookie's name: with the `__Host-` prefix (which requires Secure) under https.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-usage_monitor_device"
    } else {
        "usage_monitor_device"
    }
}

/// `Set-Cookie` for a device cookie: HttpOnly, SameSite=Strict, for a year.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure_attribute = if secure { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure_attribute}",
        cookie_name(secure),
        DEVICE_COOKIE_LIFETIME.as_secs()
    )
}

/// The device cookie a request carries, if any (not yet verified).
pub fn presented(headers: &HeaderMap, secure: bool) -> Option<&str> {
    super::cookie::values(headers, cookie_name(secure)).next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::on_each_backend;

    #[tokio::test]
    async fn a_cookie_is_trusted_for_its_account_only_and_by_every_server() {
        on_each_backend(|db| async move {
            let key = DeviceKey::load_or_create(&db).await.unwrap();
            let cookie = key.issue("ann@example.com");
            let nonce = key.verify("ann@example.com", &cookie).unwrap();
            assert!(is_well_formed(nonce));
            // Another server on the database has the same key.
            let again = DeviceKey::load_or_create(&db).await.unwrap();
            assert_eq!(again.verify("ann@example.com", &cookie), Some(nonce));
            assert_eq!(key.verify("bob@example.com", &cookie), None);
            let (_, signature) = cookie.split_once('.').unwrap();
            let forged = format!("{}.{signature}", random_secret());
            for bad in [forged.as_str(), nonce, "", ".", "x.y", &cookie[1..]] {
                assert_eq!(key.verify("ann@example.com", bad), None, "{bad}");
            }
            assert_ne!(key.issue("ann@example.com"), cookie);
        })
        .await;
    }
}
