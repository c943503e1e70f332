//! Applies events to the database, following the rules of METRICS.md: the same event twice
//! changes nothing, a finished generation never goes back to pending, a generation may come
//! before its user, and a refund needs its generation.

use super::event::{Event, GenerationEvent, RefundEvent, UserEvent};
use sqlx::{AnyConnection, Row};

/// What applying a valid event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// It created or changed something.
    Stored,
    /// The database already said the same (a repeat), or the event was older news
    /// (a `pending` update for a finished generation).
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event contradicts what is stored; the sender should fix or retry it.
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn apply(conn: &mut AnyConnection, event: &Event) -> Result<Applied, ApplyError> {
    match event {
        Event::User(user) => apply_user(conn, user).await,
        Event::Generation(generation) => apply_generation(conn, generation).await,
        Event::Refund(refund) => apply_refund(conn, refund).await,
    }
}

fn applied(rows_affected: u64) -> Applied {
    if rows_affected > 0 {
        Applied::Stored
    } else {
        Applied::Unchanged
    }
}

async fn apply_user(conn: &mut AnyConnection, user: &UserEvent) -> Result<Applied, ApplyError> {
    let result = sqlx::query(
        "INSERT INTO users (id, tier, credits, email) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET tier = excluded.tier, credits = excluded.credits, email = excluded.email
         WHERE users.tier <> excluded.tier
            OR users.credits <> excluded.credits
            OR users.email IS DISTINCT FROM excluded.email",
    )
    .bind(&user.id)
    .bind(user.tier.as_str())
    .bind(user.credits)
    .bind(&user.email)
    .execute(conn)
    .await?;
    Ok(applied(result.rows_affected()))
}

async fn apply_generation(
    conn: &mut AnyConnection,
    g: &GenerationEvent,
) -> Result<Applied, ApplyError> {
    // A user we have not heard of yet starts as free with no credits, until its own event.
    sqlx::query(
        "INSERT INTO users (id, tier, credits) VALUES ($1, 'free', 0) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&g.user_id)
    .execute(&mut *conn)
    .await?;
    let result = sqlx::query(
        "INSERT INTO generations
             (id, user_id, provider, model, status, credits, cost_micros, created_at, completed_at, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET
             user_id = excluded.user_id, provider = excluded.provider, model = excluded.model,
             status = excluded.status, credits = excluded.credits, cost_micros = excluded.cost_micros,
             created_at = excluded.created_at, completed_at = excluded.completed_at, error = excluded.error
         WHERE (generations.status = 'pending' OR excluded.status <> 'pending')
           AND (generations.user_id <> excluded.user_id
             OR generations.provider <> excluded.provider
             OR generations.model IS DISTINCT FROM excluded.model
             OR generations.status <> excluded.status
             OR generations.credits <> excluded.credits
             OR generations.cost_micros <> excluded.cost_micros
             OR generations.created_at <> excluded.created_at
             OR generations.completed_at IS DISTINCT FROM excluded.completed_at
             OR generations.error IS DISTINCT FROM excluded.error)",
    )
    .bind(&g.id)
    .bind(&g.user_id)
    .bind(&g.provider)
    .bind(&g.model)
    .bind(g.status.as_str())
    .bind(g.credits)
    .bind(g.cost.micros())
    .bind(g.created_at)
    .bind(g.completed_at)
    .bind(&g.error)
    .execute(&mut *conn)
    .await?;
    Ok(applied(result.rows_affected()))
}

async fn apply_refund(
    conn: &mut AnyConnection,
    refund: &RefundEvent,
) -> Result<Applied, ApplyError> {
    let id = &refund.generation_id;
    let charged: Option<i64> = sqlx::query("SELECT credits FROM generations WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    let Some(charged) = charged else {
        return Err(ApplyError::Rejected(format!(
            "refund for unknown generation {id:?}; send the generation first"
        )));
    };
    if refund.credits > charged {
        return Err(ApplyError::Rejected(format!(
            "refund of {} credits exceeds the {charged} credits charged for generation {id:?}",
            refund.credits
        )));
    }
    let result = sqlx::query("INSERT INTO refunds (generation_id, credits, at) VALUES ($1, $2, $3) ON CONFLICT (generation_id) DO NOTHING")
        .bind(id)
        .bind(refund.credits)
        .bind(refund.at)
        .execute(&mut *conn)
        .await?;
    if result.rows_affected() > 0 {
        return Ok(Applied::Stored);
    }
    let row = sqlx::query("SELECT credits, at FROM refunds WHERE generation_id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let (credits, at): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    if (credits, at) == (refund.credits, refund.at) {
        Ok(Applied::Unchanged)
    } else {
        Err(ApplyError::Rejected(format!(
            "generation {id:?} already has a different refund ({credits} credits); a generation has at most one"
        )))
    }
}
