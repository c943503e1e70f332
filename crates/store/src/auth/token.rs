//! API tokens for machines: `ingest` tokens may send events, `read` tokens may read the
//! figures. A token is shown once when created; the database keeps its hash only.

use super::secret::{fingerprint, random_secret};
use crate::db::Db;
use chrono::{DateTime, Utc};
use http::header::{HeaderMap, AUTHORIZATION};
use sqlx::Row;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Ingest,
    Read,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token named {0:?} exists already; revoke it or pick another name")]
    Exists(String),
    #[error("no active token is named {0:?}")]
    Unknown(String),
    #[error("the token name must be 1 to 100 printable characters")]
    BadName,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Usage is written at most once a minute per token, not on every request.
const LAST_USED_PRECISION_MICROS: i64 = 60_000_000;

/// Creates a token and returns it; this is the only time it can be seen.
pub async fn create(db: &Db, name: &str, scope: Scope) -> Result<String, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(TokenError::BadName);
    }
    // The prefix says what it is to people and to secret scanners.
    let token = format!("um_{}_{}", scope.as_str(), random_secret());
    let inserted = sqlx::query(
        "INSERT INTO api_tokens (name, scope, token_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(scope.as_str())
    .bind(fingerprint(&token))
    .bind(Utc::now().timestamp_micros())
    .execute(db.writer())
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(TokenError::Exists(name.to_owned()));
    }
    Ok(token)
}

/// Revokes a token at once: requests carrying it are refused from now on.
pub async fn revoke(db: &Db, name: &str) -> Result<(), TokenError> {
    let revoked =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(Utc::now().timestamp_micros())
            .bind(name)
            .execute(db.writer())
            .await?
            .rows_affected();
    if revoked == 0 {
        return Err(TokenError::Unknown(name.to_owned()));
    }
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let time = |micros: Option<i64>| micros.and_then(DateTime::from_timestamp_micros);
    sqlx::query(
        "SELECT name, scope, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at, name",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(TokenInfo {
            name: row.try_get("name")?,
            scope: Scope::parse(&row.try_get::<String, _>("scope")?).unwrap_or(Scope::Read),
            created_at: time(Some(row.try_get("created_at")?)).unwrap_or_default(),
            last_used_at: time(row.try_get("last_used_at")?),
            revoked_at: time(row.try_get("revoked_at")?),
        })
    })
    .collect()
}

/// The bearer token of a request, if it sent one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The name of the live token with this value and scope, if there is one.
pub async fn authenticate(
    db: &Db,
    token: &str,
    scope: Scope,
) -> Result<Option<String>, sqlx::Error> {
    let hash = fingerprint(token);
    let Some(row) = sqlx::query(
        "SELECT name, last_used_at FROM api_tokens
         WHERE token_hash = $1 AND scope = $2 AND revoked_at IS NULL",
    )
    .bind(&hash)
    .bind(scope.as_str())
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    let (name, last_used_at): (String, Option<i64>) =
        (row.try_get("name")?, row.try_get("last_used_at")?);
    // Decided here rather than in the UPDATE's WHERE: a statement that writes nothing
    // still waits for SQLite's write lock, which an import may hold.
    let now = Utc::now().timestamp_micros();
    if last_used_at.is_none_or(|last| last < now - LAST_USED_PRECISION_MICROS) {
        // Bookkeeping only: a request is not refused because it could not be recorded.
        if let Err(error) =
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(db.writer())
                .await
        {
            tracing::warn!(%error, token = %name, "a token's last use was not recorded");
        }
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::on_each_backend;

    #[tokio::test]
    async fn tokens_work_for_their_scope_until_revoked() {
        on_each_backend(|db| async move {
            let token = create(&db, "platform", Scope::Ingest).await.unwrap();
            assert!(token.starts_with("um_ingest_"), "{token}");
            let stored: String = sqlx::query("SELECT token_hash FROM api_tokens")
                .fetch_one(&db.pool)
                .await
                .unwrap()
                .get(0);
            assert!(!stored.contains(&token[10..]), "only the hash is stored");
            assert_eq!(
                authenticate(&db, &token, Scope::Ingest)
                    .await
                    .unwrap()
                    .as_deref(),
                Some("platform")
            );
            assert_eq!(authenticate(&db, &token, Scope::Read).await.unwrap(), None);
            assert_eq!(
                authenticate(&db, "um_ingest_guess", Scope::Ingest)
                    .await
                    .unwrap(),
                None
            );
            assert!(matches!(
                create(&db, "platform", Scope::Read).await,
                Err(TokenError::Exists(_))
            ));
            assert!(matches!(
                create(&db, " ", Scope::Read).await,
                Err(TokenError::BadName)
            ));

            let listed = list(&db).await.unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].scope, Scope::Ingest);
            assert!(listed[0].last_used_at.is_some());
            assert_eq!(listed[0].revoked_at, None);

            revoke(&db, "platform").await.unwrap();
            assert_eq!(
                authenticate(&db, &token, Scope::Ingest).await.unwrap(),
                None
            );
            assert!(list(&db).await.unwrap()[0].revoked_at.is_some());
            assert!(matches!(
                revoke(&db, "platform").await,
                Err(TokenError::Unknown(_))
            ));
        })
        .await;
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer um_read_abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("um_read_abc"));
        headers.insert(AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
