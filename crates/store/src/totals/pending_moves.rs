//! Tier moves that finish after the batch's commit (`pending_tier_moves`): a batch that
//! changes the tier of a user with a long history records the move and commits; the same
//! caller then moves the totals part by part, each part in its own short write transaction,
//! so that other writers and sign-ins wait for one part at most. What a generation counts
//! under meanwhile is the counted tier (`super::tier_changes`).

use super::tier_changes::{move_next_part, move_rest, move_users};
use crate::db::transaction::begin_write_turn;
use crate::db::Db;
use model::dashboard::Tier;
use sqlx::{AnyConnection, Row};

/// A user's move not yet done: their generations created after `moved_up_to` still count
/// under `from`, the others under their tier now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingMove {
    pub from: Tier,
    pub moved_up_to: i64,
}

/// The tier under which a generation created at `created_at` by a user now in `tier` counts,
/// with the user's pending move (if any): the counted tier.
pub fn counted_tier(tier: Tier, pending: Option<&PendingMove>, created_at: i64) -> Tier {
    match pending {
        Some(pending) if created_at > pending.moved_up_to => pending.from,
        _ => tier,
    }
}

/// The users whose moves committed batches recorded, for their caller to finish after the
/// commit ([`Deferred::finish`]).
#[must_use = "the recorded moves are finished by `finish`"]
#[derive(Debug, Default)]
pub struct Deferred {
    users: Vec<String>,
}

impl Deferred {
    /// Adds the moves another batch recorded.
    pub fn absorb(&mut self, other: Deferred) {
        self.users.extend(other.users);
    }

    /// Finishes the moves, part by part, each part in its own write transaction. A move that
    /// another writer finished meanwhile (or finished and started anew) is simply found done
    /// (or is carried on): each part reads the move as it stands.
    pub async fn finish(self, db: &Db) -> Result<(), sqlx::Error> {
        for user in &self.users {
            while move_a_part(db, user).await? {}
        }
        Ok(())
    }
}

/// In a batch's write transaction, before its rows are written: the tier changes
/// `(user, old tier, new tier, pending move)`. A pending move is finished first (within
/// the transaction: a user who changes tier again soon after a change of a long history
/// waits for the rest of it). Short histories then move at once; each long one is recorded
/// as a pending move, returned, whose generations all still count under the old tier.
pub async fn change_tiers(
    conn: &mut AnyConnection,
    changed: &[(&str, Tier, Tier, Option<PendingMove>)],
) -> Result<(Vec<(String, PendingMove)>, Deferred), sqlx::Error> {
    for (user, old, _, pending) in changed {
        if let Some(pending) = pending {
            move_rest(conn, user, (pending.from, *old), pending.moved_up_to).await?;
            delete(conn, user).await?;
        }
    }
    let moved: Vec<(&str, Tier, Tier)> = changed
        .iter()
        .map(|(user, old, new, _)| (*user, *old, *new))
        .collect();
    let long = move_users(conn, &moved).await?;
    let mut recorded = Vec::new();
    for (user, from, to) in long {
        sqlx::query(
            "INSERT INTO pending_tier_moves (user_id, from_tier, to_tier, moved_up_to)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(user)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(i64::MIN)
        .execute(&mut *conn)
        .await?;
        let pending = PendingMove {
            from,
            moved_up_to: i64::MIN,
        };
        recorded.push((user.to_owned(), pending));
    }
    let users = recorded.iter().map(|(user, _)| user.clone()).collect();
    Ok((recorded, Deferred { users }))
}

/// Moves the next part of `user`'s pending move, if there is one, in a write transaction of
/// its own: the part's totals and the move's `moved_up_to` change together. Whether more
/// remains.
pub async fn move_a_part(db: &Db, user: &str) -> Result<bool, sqlx::Error> {
    let mut tx = begin_write_turn(db).await?;
    let Some((pending, tier)) = read(&mut tx, user).await? else {
        tx.commit().await?;
        return Ok(false);
    };
    let tiers = (pending.from, tier);
    let up_to = move_next_part(&mut tx, user, tiers, pending.moved_up_to).await?;
    let more = up_to != i64::MAX;
    if more {
        sqlx::query("UPDATE pending_tier_moves SET moved_up_to = $1 WHERE user_id = $2")
            .bind(up_to)
            .bind(user)
            .execute(&mut *tx)
            .await?;
    } else {
        delete(&mut tx, user).await?;
    }
    tx.commit().await?;
    Ok(more)
}

/// Finishes every pending move, each part in its own transaction: for a store opened after
/// a process stopped in the middle of one.
pub async fn finish_all(db: &Db) -> Result<(), sqlx::Error> {
    let users = sqlx::query("SELECT user_id FROM pending_tier_moves ORDER BY user_id")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|row| row.try_get("user_id"))
        .collect::<Result<_, _>>()?;
    Deferred { users }.finish(db).await
}

/// Finishes every pending move in the caller's write transaction (`rebuild`'s, which then
/// finds the totals exact if they were).
pub async fn finish_all_within(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let users: Vec<String> = sqlx::query("SELECT user_id FROM pending_tier_moves")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get("user_id"))
        .collect::<Result<_, _>>()?;
    for user in &users {
        if let Some((pending, tier)) = read(conn, user).await? {
            move_rest(conn, user, (pending.from, tier), pending.moved_up_to).await?;
            delete(conn, user).await?;
        }
    }
    Ok(())
}

/// `user`'s pending move, if any, with their tier now.
async fn read(
    conn: &mut AnyConnection,
    user: &str,
) -> Result<Option<(PendingMove, Tier)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT p.from_tier, p.moved_up_to, u.tier
         FROM pending_tier_moves p JOIN users u ON u.id = p.user_id
         WHERE p.user_id = $1",
    )
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let pending = PendingMove {
        from: parse_tier(&row.try_get::<String, _>("from_tier")?)?,
        moved_up_to: row.try_get("moved_up_to")?,
    };
    Ok(Some((
        pending,
        parse_tier(&row.try_get::<String, _>("tier")?)?,
    )))
}

/// A stored tier, which the schema's CHECK constraints keep to the known ones.
pub fn parse_tier(tier: &str) -> Result<Tier, sqlx::Error> {
    Tier::parse(tier).ok_or_else(|| {
        sqlx::Error::Decode(format!("unexpected tier {tier:?} in the database").into())
    })
}

async fn delete(conn: &mut AnyConnection, user: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM pending_tier_moves WHERE user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
