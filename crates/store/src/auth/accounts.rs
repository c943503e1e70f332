//! Admin accounts: email and an argon2id password hash.

use crate::db::Db;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sqlx::Row;
use std::sync::OnceLock;

/// ASVS 2.1.1/2.1.2: at least 12 characters, and long passphrases are welcome.
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest email a form may send (RFC 5321's limit for a path), in bytes.
pub const MAX_EMAIL_BYTES: usize = 254;
/// The longest password a form may send, in bytes: far above any password an admin can
/// have, and refused before any work is done for it.
pub const MAX_FORM_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("an admin with the email {0} exists already")]
    Exists(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The sizes a login or setup form's fields may have, checked before anything else is
/// done with them. The reason names the field, never its value.
pub fn check_form_sizes(email: &str, passwords: &[&str]) -> Result<(), AccountError> {
    if email.len() > MAX_EMAIL_BYTES {
        return Err(AccountError::Invalid(format!(
            "the email has {} bytes; at most {MAX_EMAIL_BYTES} are allowed",
            email.len()
        )));
    }
    if let Some(long) = passwords
        .iter()
        .find(|password| password.len() > MAX_FORM_PASSWORD_BYTES)
    {
        return Err(AccountError::Invalid(format!(
            "the password has {} bytes; at most {MAX_FORM_PASSWORD_BYTES} are allowed",
            long.len()
        )));
    }
    Ok(())
}

/// argon2id with OWASP's parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Emails are compared without case and surrounding spaces.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn check_email(email: &str) -> Result<(), AccountError> {
    let valid = email.len() <= MAX_EMAIL_BYTES
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "email {email:?} is not an address such as ann@example.com"
        )))
    }
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password has {chars} characters; it needs at least {MIN_PASSWORD_CHARS}"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password has {chars} characters; at most {MAX_PASSWORD_CHARS} are allowed"
        )));
    }
    Ok(())
}

/// Hashes on a blocking thread: argon2 is meant to be slow.
async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16-byte salt");
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 hashing of a bounded password")
            .to_string()
    })
    .await
    .expect("hashing thread")
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, checked when the email is unknown so that a wrong email
/// takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16-byte salt");
        argon2()
            .hash_password(super::secret::random_secret().as_bytes(), &salt)
            .expect("argon2 hashing")
            .to_string()
    })
}

pub async fn admin_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS admins FROM admins")
        .fetch_one(&db.pool)
        .await?
        .try_get("admins")
}

/// Creates an admin, or with `replace` sets a new password for an existing one and ends
/// its sessions. Returns the normalized email.
pub async fn create_admin(
    db: &Db,
    email: &str,
    password: &str,
    replace: bool,
) -> Result<String, AccountError> {
    let (email, hash) = checked_and_hashed(email, password).await?;
    let mut tx = db.writer().begin().await?;
    insert_admin(&mut tx, &email, &hash, replace).await?;
    tx.commit().await?;
    Ok(email)
}

/// Creates the first admin, only while there is none (the setup link's one use). Counting
/// and inserting happen in one turn of the writers, so that two servers started on an
/// empty database cannot each create a "first" admin.
pub async fn create_first_admin(
    db: &Db,
    email: &str,
    password: &str,
) -> Result<String, AccountError> {
    if admin_count(db).await? > 0 {
        return Err(AccountError::Exists(normalize_email(email)));
    }
    let (email, hash) = checked_and_hashed(email, password).await?;
    let mut tx = crate::db::transaction::begin_write_turn(db).await?;
    let admins: i64 = sqlx::query("SELECT COUNT(*) AS admins FROM admins")
        .fetch_one(&mut *tx)
        .await?
        .try_get("admins")?;
    if admins > 0 {
        return Err(AccountError::Exists(email));
    }
    insert_admin(&mut tx, &email, &hash, false).await?;
    tx.commit().await?;
    Ok(email)
}

/// The normalized email and the password's hash, once both are valid.
async fn checked_and_hashed(email: &str, password: &str) -> Result<(String, String), AccountError> {
    let email = normalize_email(email);
    check_email(&email)?;
    check_password(password)?;
    Ok((email, hash_password(password.to_owned()).await))
}

async fn insert_admin(
    conn: &mut sqlx::AnyConnection,
    email: &str,
    hash: &str,
    replace: bool,
) -> Result<(), AccountError> {
    let now = chrono::Utc::now().timestamp_micros();
    let inserted = sqlx::query(
        "INSERT INTO admins (email, password_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(email)
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        if !replace {
            return Err(AccountError::Exists(email.to_owned()));
        }
        sqlx::query("UPDATE admins SET password_hash = $1 WHERE email = $2")
            .bind(hash)
            .bind(email)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE admin_email = $1")
            .bind(email)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A login's password and the stored hash of its email, to be compared. The comparison is
/// slow on purpose (argon2id, 19 MiB): the caller runs it on a blocking thread and bounds
/// how many run at once.
pub struct LoginCheck {
    stored: Option<String>,
    password: String,
}

impl LoginCheck {
    /// Whether the password is the admin's; blocks for the hash's time, the same whether
    /// the email is unknown or the password wrong.
    pub fn matches(self) -> bool {
        // The decoy too is made here, on the checking thread.
        let matches = match &self.stored {
            Some(hash) => verify(&self.password, hash),
            None => verify(&self.password, decoy_hash()),
        };
        self.stored.is_some() && matches
    }
}

/// Looks up the password hash of the admin with `email`, for a [`LoginCheck`] of
/// `password`.
pub async fn login_check(db: &Db, email: &str, password: &str) -> Result<LoginCheck, sqlx::Error> {
    let email = normalize_email(email);
    // No admin has an email that is not one (and PostgreSQL would refuse to look up text
    // with a NUL in it): such an email is unknown, checked against the decoy alike.
    let stored: Option<String> = match check_email(&email) {
        Ok(()) => sqlx::query("SELECT password_hash FROM admins WHERE email = $1")
            .bind(email)
            .fetch_optional(&db.pool)
            .await?
            .map(|row| row.try_get("password_hash"))
            .transpose()?,
        Err(_) => None,
    };
    Ok(LoginCheck {
        stored,
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::on_each_backend;

    async fn verify_login(db: &Db, email: &str, password: &str) -> Result<bool, sqlx::Error> {
        let check = login_check(db, email, password).await?;
        Ok(tokio::task::spawn_blocking(|| check.matches())
            .await
            .unwrap())
    }

    #[test]
    fn passwords_and_emails_are_checked_with_reasons() {
        assert!(check_password("correct horse battery").is_ok());
        let short = check_password("short").unwrap_err().to_string();
        assert!(short.contains("at least 12"), "{short}");
        assert!(check_password(&"x".repeat(129)).is_err());
        assert!(check_email("ann@example.com").is_ok());
        for bad in ["ann", "@example.com", "ann@", "a nn@example.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(normalize_email("  Ann@Example.COM "), "ann@example.com");
        assert!(check_form_sizes(&"a".repeat(254), &["p".repeat(1024).as_str()]).is_ok());
        let long_email = format!("{}@example.com", "x".repeat(250));
        let reason = check_form_sizes(&long_email, &[]).unwrap_err().to_string();
        assert_eq!(reason, "the email has 262 bytes; at most 254 are allowed");
        let reason = check_form_sizes("ann@example.com", &["ok", &"é".repeat(513)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            reason,
            "the password has 1026 bytes; at most 1024 are allowed"
        );
    }

    #[tokio::test]
    async fn two_servers_on_an_empty_database_make_one_first_admin() {
        on_each_backend(|db| async move {
            let url = db.pool.connect_options().database_url.to_string();
            let other = Db::connect(&url, crate::db::testing::TIMEOUTS)
                .await
                .unwrap();
            let (one, two) = tokio::join!(
                create_first_admin(&db, "ann@example.com", "correct horse battery"),
                create_first_admin(&other, "bob@example.com", "correct horse battery"),
            );
            assert!(one.is_ok() != two.is_ok(), "{one:?} {two:?}");
            let refused = one.err().or(two.err()).unwrap();
            assert!(matches!(refused, AccountError::Exists(_)), "{refused:?}");
            assert_eq!(admin_count(&db).await.unwrap(), 1);
            other.close().await;
        })
        .await;
    }

    #[tokio::test]
    async fn an_admin_signs_in_with_its_password_only() {
        on_each_backend(|db| async move {
            let email = create_admin(&db, "Ann@Example.com", "correct horse battery", false)
                .await
                .unwrap();
            assert_eq!(email, "ann@example.com");
            assert!(
                verify_login(&db, "ann@example.com", "correct horse battery")
                    .await
                    .unwrap()
            );
            assert!(
                !verify_login(&db, "ann@example.com", "correct horse battery!")
                    .await
                    .unwrap()
            );
            assert!(
                !verify_login(&db, "bob@example.com", "correct horse battery")
                    .await
                    .unwrap()
            );
            let stored: String = sqlx::query("SELECT password_hash FROM admins")
                .fetch_one(&db.pool)
                .await
                .unwrap()
                .get(0);
            assert!(
                stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{stored}"
            );
            assert!(matches!(
                create_admin(&db, "ann@example.com", "another long password", false).await,
                Err(AccountError::Exists(_))
            ));
            assert!(matches!(
                create_first_admin(&db, "bob@example.com", "another long password").await,
                Err(AccountError::Exists(_))
            ));
            create_admin(&db, "ann@example.com", "another long password", true)
                .await
                .unwrap();
            assert!(
                verify_login(&db, "ann@example.com", "another long password")
                    .await
                    .unwrap()
            );
            assert!(
                !verify_login(&db, "ann@example.com", "correct horse battery")
                    .await
                    .unwrap()
            );
        })
        .await;
    }
}
