//! Applies a batch of events to the database, following the rules of docs/metrics.md: the same
//! event twice changes nothing, a finished generation never goes back to pending, a
//! generation may come before its user, and a refund needs its generation.
//!
//! A batch reads the rows its events name in a few statements, applies the events in order
//! in memory, then writes the changed rows with multi-row statements and moves the running
//! totals (`crate::totals`) by the difference between the rows before and after; a
//! user's tier change moves the totals of their stored generations in the database
//! (`crate::totals::tier_changes`), without reading them, or records the move of a long
//! history for its caller to finish after the commit (`crate::totals::pending_moves`):
//! until then each generation counts under its counted tier. The caller
//! holds the write lock (`crate::db::transaction::begin_write_turn`), so nothing changes those rows meanwhile.
//! An event that would take a grand total (`crate::totals::grand`) past `i64` is rejected.

use crate::db::bulk::{id_lists, insert_rows};
use crate::db::profile::timed;
use crate::totals::grand::GrandTotals;
use crate::totals::pending_moves::{self, counted_tier, parse_tier, Deferred, PendingMove};
use crate::totals::{Contribution, Deltas};
use model::dashboard::Tier;
use model::error_group::pattern;
use model::event::{Event, GenerationEvent, RefundEvent, Status, UserEvent};
use sqlx::{AnyConnection, Row};

/// Rows by id, hashed with foldhash as an event's fields are (`super::event::FieldMap`).
type ById<T> = std::collections::HashMap<String, T, foldhash::fast::RandomState>;
/// Ids in the order the batch's events named them, so that new rows are written in that
/// order (by time, as events come), which keeps a time range's rows in few pages; sorted
/// random ids (UUIDs) would scatter them.
type Ids<T> = indexmap::IndexSet<T, foldhash::fast::RandomState>;

/// What applying a valid event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// It created or changed something.
    Stored,
    /// The database already said the same (a repeat), or the event was older news
    /// (a `pending` update for a finished generation).
    Unchanged,
}

/// Why an event was rejected, in words for its sender: shared, not copied, by the lists
/// that carry it from the parser to the answer.
pub type Reason = std::sync::Arc<str>;

/// The outcome of one event: applied, or rejected with the reason for its sender.
pub type Outcome = Result<Applied, Reason>;

#[derive(Clone, Debug, PartialEq, Eq)]
struct UserRow {
    tier: Tier,
    credits: i64,
    email: Option<String>,
    last_generation_at: Option<i64>,
    /// The move of their generations' totals to `tier` not yet done.
    pending: Option<PendingMove>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct GenerationRow {
    user_id: String,
    provider: String,
    model: Option<String>,
    status: Status,
    credits: i64,
    cost_micros: i64,
    created_at: i64,
    completed_at: Option<i64>,
    error: Option<String>,
    /// A failure's error group (`None` for the others, and for a failure stored before
    /// groups were, until it is filled in).
    error_group: Option<String>,
    /// Its refund: credits and time.
    refund: Option<(i64, i64)>,
}

impl GenerationRow {
    /// The row `g` makes of `old` (if stored): a failure's group follows its status and
    /// error text, and stays as stored while neither changes.
    fn from_event(g: &GenerationEvent, old: Option<&GenerationRow>) -> GenerationRow {
        let error_group = match old {
            Some(old) if (old.status, &old.error) == (g.status, &g.error) => {
                old.error_group.clone()
            }
            _ => (g.status == Status::Failed).then(|| pattern(g.error.as_deref())),
        };
        GenerationRow {
            user_id: g.user_id.clone(),
            provider: g.provider.clone(),
            model: g.model.clone(),
            status: g.status,
            credits: g.credits,
            cost_micros: g.cost.micros(),
            created_at: g.created_at,
            completed_at: g.completed_at,
            error: g.error.clone(),
            error_group,
            refund: old.and_then(|old| old.refund),
        }
    }

    fn contribution(&self, tier: Tier) -> Contribution<'_> {
        Contribution {
            user_id: &self.user_id,
            created_at: self.created_at,
            provider: &self.provider,
            status: self.status,
            credits: self.credits,
            cost_micros: self.cost_micros,
            tier,
            refund: self.refund,
            completed_at: self.completed_at,
            error_group: self.error_group.as_deref(),
        }
    }
}

/// Rows by id, as stored (`None`: absent) or as the batch leaves them.
#[derive(Clone, Debug, Default)]
struct Rows {
    users: ById<UserRow>,
    generations: ById<GenerationRow>,
}

impl Rows {
    /// The tier a generation of `user_id` created at `created_at` counts under.
    fn counted_tier(&self, user_id: &str, created_at: i64) -> Tier {
        // Every generation's user is read or created along with it.
        self.users.get(user_id).map_or(Tier::Free, |user| {
            counted_tier(user.tier, user.pending.as_ref(), created_at)
        })
    }
}

/// Applies `events` in order on `conn` (in the caller's write transaction) and returns
/// each one's outcome (those that could not be parsed keep their reason), with the tier
/// moves the caller finishes after the commit.
pub async fn store_batch(
    conn: &mut AnyConnection,
    parsed: &[Result<&Event, Reason>],
) -> Result<(Vec<Outcome>, Deferred), sqlx::Error> {
    let events: Vec<&Event> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().copied())
        .collect();
    let before = timed("read the rows the events name", read_rows_of(conn, events)).await?;

    let grand_before = timed("read grand_totals", GrandTotals::read(conn)).await?;
    let mut grand = grand_before;
    let mut after = before.clone();
    let mut changes = Changes::default();
    let outcomes = parsed
        .iter()
        .map(|parsed| match parsed {
            Err(reason) => Err(reason.clone()),
            Ok(Event::User(u)) => apply_user(&mut after, &mut changes, &mut grand, u),
            Ok(Event::Generation(g)) => apply_generation(&mut after, &mut changes, &mut grand, g),
            Ok(Event::Refund(r)) => apply_refund(&mut after, &mut changes, r),
        })
        .collect();
    // Before the rows are written: it moves the totals of the generations as stored.
    let changed = changed_tiers(&before, &after, &changes);
    let moving = pending_moves::change_tiers(conn, &changed);
    let (recorded, deferred) = timed("move the totals of users who changed tier", moving).await?;
    for (id, _, _, _) in &changed {
        if let Some(user) = after.users.get_mut(*id) {
            user.pending = None;
        }
    }
    for (id, pending) in recorded {
        if let Some(user) = after.users.get_mut(&id) {
            user.pending = Some(pending);
        }
    }

    write(conn, &before, &mut after, &changes).await?;

    deltas(&before, &after, &changes).apply(conn).await?;
    timed("write grand_totals", grand.write(grand_before, conn)).await?;
    Ok((outcomes, deferred))
}

/// The stored rows the events touch: their generations, and the users of those and of the
/// events.
async fn read_rows_of(conn: &mut AnyConnection, events: Vec<&Event>) -> Result<Rows, sqlx::Error> {
    let generation_ids: Ids<&str> = events
        .iter()
        .filter_map(|event| match event {
            Event::Generation(g) => Some(g.id.as_str()),
            Event::Refund(r) => Some(r.generation_id.as_str()),
            Event::User(_) => None,
        })
        .collect();
    let mut rows = Rows::default();
    read_generations(conn, "g.id", &generation_ids, &mut rows).await?;
    let mut user_ids: Ids<String> = rows
        .generations
        .values()
        .map(|g| g.user_id.clone())
        .collect();
    for event in events {
        match event {
            Event::User(u) => user_ids.insert(u.id.clone()),
            Event::Generation(g) => user_ids.insert(g.user_id.clone()),
            Event::Refund(_) => false,
        };
    }
    read_users(conn, &user_ids, &mut rows).await?;
    Ok(rows)
}

/// The users whose tier the batch changes, with their old and new tier and their pending
/// move.
fn changed_tiers<'a>(
    before: &Rows,
    after: &Rows,
    changes: &'a Changes,
) -> Vec<(&'a str, Tier, Tier, Option<PendingMove>)> {
    changes
        .users
        .iter()
        .filter_map(|id| {
            let old = before.users.get(id)?;
            let new = after.users.get(id)?.tier;
            (old.tier != new).then_some((id.as_str(), old.tier, new, old.pending))
        })
        .collect()
}

/// The change to the totals: the changed rows' shares before taken away, after added.
/// A stored row counts under its counted tier after the batch's moves: a user who changed
/// tier has had the totals of their stored generations moved to it, or has a pending move
/// from their old tier (`pending_moves::change_tiers`), which `after` holds.
fn deltas(before: &Rows, after: &Rows, changes: &Changes) -> Deltas {
    let mut deltas = Deltas::default();
    for id in &changes.generations {
        if let Some(row) = before.generations.get(id) {
            let tier = after.counted_tier(&row.user_id, row.created_at);
            deltas.generation(&row.contribution(tier), -1);
        }
        if let Some(row) = after.generations.get(id) {
            let tier = after.counted_tier(&row.user_id, row.created_at);
            deltas.generation(&row.contribution(tier), 1);
        }
    }
    for id in changes.users.union(&changes.lost_newest) {
        if let Some(user) = before.users.get(id) {
            deltas.user(user.tier, user.credits, -1);
            deltas.newest_generation(user.last_generation_at, -1);
        }
        if let Some(user) = after.users.get(id) {
            deltas.user(user.tier, user.credits, 1);
            deltas.newest_generation(user.last_generation_at, 1);
        }
    }
    deltas
}

/// Ids of the rows a batch changed.
#[derive(Debug, Default)]
struct Changes {
    users: Ids<String>,
    generations: Ids<String>,
    /// Users who may have lost their newest generation (it moved to another user or to an
    /// earlier time): their `last_generation_at` is read again from their generations.
    lost_newest: Ids<String>,
}

fn apply_user(
    rows: &mut Rows,
    changes: &mut Changes,
    grand: &mut GrandTotals,
    u: &UserEvent,
) -> Outcome {
    match rows.users.get_mut(&u.id) {
        Some(user) if (user.tier, user.credits, &user.email) == (u.tier, u.credits, &u.email) => {
            return Ok(Applied::Unchanged)
        }
        Some(user) => {
            grand
                .replace_balance(user.credits, u.credits)
                .map_err(|overflow| Reason::from(overflow.to_string()))?;
            user.tier = u.tier;
            user.credits = u.credits;
            user.email = u.email.clone();
        }
        None => {
            grand
                .replace_balance(0, u.credits)
                .map_err(|overflow| Reason::from(overflow.to_string()))?;
            rows.users.insert(
                u.id.clone(),
                UserRow {
                    tier: u.tier,
                    credits: u.credits,
                    email: u.email.clone(),
                    last_generation_at: None,
                    pending: None,
                },
            );
        }
    }
    changes.users.insert(u.id.clone());
    Ok(Applied::Stored)
}

fn apply_generation(
    rows: &mut Rows,
    changes: &mut Changes,
    grand: &mut GrandTotals,
    g: &GenerationEvent,
) -> Outcome {
    let old = rows.generations.get(&g.id);
    if old.is_some_and(|old| old.status != Status::Pending && g.status == Status::Pending) {
        return Ok(Applied::Unchanged);
    }
    let new = GenerationRow::from_event(g, old);
    if old == Some(&new) {
        return Ok(Applied::Unchanged);
    }
    let amounts = |row: &GenerationRow| (row.cost_micros, row.credits);
    grand
        .replace_generation(old.map_or((0, 0), amounts), amounts(&new))
        .map_err(|overflow| Reason::from(overflow.to_string()))?;
    if let Some(old) = old {
        if old.user_id != new.user_id || old.created_at > new.created_at {
            changes.lost_newest.insert(old.user_id.clone());
        }
    }
    // A user we have not heard of yet starts as free with no credits, until its own event.
    let user = rows.users.entry(g.user_id.clone()).or_insert(UserRow {
        tier: Tier::Free,
        credits: 0,
        email: None,
        last_generation_at: None,
        pending: None,
    });
    if user.last_generation_at < Some(g.created_at) {
        user.last_generation_at = Some(g.created_at);
        changes.users.insert(g.user_id.clone());
    }
    rows.generations.insert(g.id.clone(), new);
    changes.generations.insert(g.id.clone());
    Ok(Applied::Stored)
}

fn apply_refund(rows: &mut Rows, changes: &mut Changes, refund: &RefundEvent) -> Outcome {
    let id = &refund.generation_id;
    let Some(generation) = rows.generations.get_mut(id) else {
        return Err(
            format!("refund for unknown generation {id:?}; send the generation first").into(),
        );
    };
    let charged = generation.credits;
    if refund.credits > charged {
        return Err(format!(
            "refund of {} credits exceeds the {charged} credits charged for generation {id:?}",
            refund.credits
        )
        .into());
    }
    match generation.refund {
        None => {
            generation.refund = Some((refund.credits, refund.at));
            changes.generations.insert(id.clone());
            Ok(Applied::Stored)
        }
        Some(stored) if stored == (refund.credits, refund.at) => Ok(Applied::Unchanged),
        Some((credits, _)) => Err(format!(
            "generation {id:?} already has a different refund ({credits} credits); a generation has at most one"
        )
        .into()),
    }
}

#[cfg(test)]
thread_local! {
    /// Generation rows read into the program on this thread: the tests' measure of what a
    /// batch loads.
    pub static GENERATIONS_READ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Reads the generations (with their refunds) whose `column` is one of `ids`.
async fn read_generations(
    conn: &mut AnyConnection,
    column: &str,
    ids: &Ids<&str>,
    rows: &mut Rows,
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = ids.iter().copied().collect();
    for list in id_lists(conn, &ids) {
        let sql = format!(
            "SELECT g.id, g.user_id, g.provider, g.model, g.status, g.credits, g.cost_micros,
                    g.created_at, g.completed_at, g.error, g.error_group,
                    r.credits AS refund_credits, r.at AS refund_at
             FROM generations g LEFT JOIN refunds r ON r.generation_id = g.id
             WHERE {column} IN {}",
            list.sql
        );
        let found = list.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
        #[cfg(test)]
        GENERATIONS_READ.with(|read| read.set(read.get() + found.len() as u64));
        for row in found {
            let status: String = row.try_get("status")?;
            let refund_credits: Option<i64> = row.try_get("refund_credits")?;
            let refund_at: Option<i64> = row.try_get("refund_at")?;
            let generation = GenerationRow {
                user_id: row.try_get("user_id")?,
                provider: row.try_get("provider")?,
                model: row.try_get("model")?,
                status: Status::parse(&status).ok_or_else(|| bad_value("status", &status))?,
                credits: row.try_get("credits")?,
                cost_micros: row.try_get("cost_micros")?,
                created_at: row.try_get("created_at")?,
                completed_at: row.try_get("completed_at")?,
                error: row.try_get("error")?,
                error_group: row.try_get("error_group")?,
                refund: refund_credits.zip(refund_at),
            };
            rows.generations.insert(row.try_get("id")?, generation);
        }
    }
    Ok(())
}

/// Reads the users, each with their pending tier move.
async fn read_users(
    conn: &mut AnyConnection,
    ids: &Ids<String>,
    rows: &mut Rows,
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    for list in id_lists(conn, &ids) {
        let sql = format!(
            "SELECT u.id, u.tier, u.credits, u.email, u.last_generation_at,
                    p.from_tier, p.moved_up_to
             FROM users u LEFT JOIN pending_tier_moves p ON p.user_id = u.id
             WHERE u.id IN {}",
            list.sql
        );
        for row in list.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
            let from: Option<String> = row.try_get("from_tier")?;
            let moved_up_to: Option<i64> = row.try_get("moved_up_to")?;
            let pending = match (from, moved_up_to) {
                (Some(from), Some(moved_up_to)) => Some(PendingMove {
                    from: parse_tier(&from)?,
                    moved_up_to,
                }),
                _ => None,
            };
            let user = UserRow {
                tier: parse_tier(&row.try_get::<String, _>("tier")?)?,
                credits: row.try_get("credits")?,
                email: row.try_get("email")?,
                last_generation_at: row.try_get("last_generation_at")?,
                pending,
            };
            rows.users.insert(row.try_get("id")?, user);
        }
    }
    Ok(())
}

/// A stored value the schema's CHECK constraints should have kept out.
fn bad_value(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} {value:?} in the database").into())
}

/// Writes the changed rows: users first, then generations, then new refunds (each row's
/// parent before it); then reads the newest generation time of users who may have lost
/// theirs back into `after`.
async fn write(
    conn: &mut AnyConnection,
    before: &Rows,
    after: &mut Rows,
    changes: &Changes,
) -> Result<(), sqlx::Error> {
    write_users(conn, after, changes).await?;
    write_generations_and_refunds(conn, before, after, changes).await?;
    timed(
        "read users' newest generation again",
        reread_newest_generations(conn, after, changes),
    )
    .await
}

/// Inserts or updates the changed users.
async fn write_users(
    conn: &mut AnyConnection,
    after: &Rows,
    changes: &Changes,
) -> Result<(), sqlx::Error> {
    let users: Vec<(&String, &UserRow)> = changes
        .users
        .iter()
        .filter_map(|id| Some((id, after.users.get(id)?)))
        .collect();
    insert_rows(
        conn,
        "users",
        ["id", "tier", "credits", "email", "last_generation_at"],
        "ON CONFLICT (id) DO UPDATE SET tier = excluded.tier, credits = excluded.credits,
             email = excluded.email, last_generation_at = excluded.last_generation_at",
        &users,
        |(id, u)| {
            [
                id.as_str().into(),
                u.tier.as_str().into(),
                u.credits.into(),
                u.email.as_deref().into(),
                u.last_generation_at.into(),
            ]
        },
    )
    .await
}

/// Inserts the new generations, updates the changed ones, then inserts the new refunds.
async fn write_generations_and_refunds(
    conn: &mut AnyConnection,
    before: &Rows,
    after: &Rows,
    changes: &Changes,
) -> Result<(), sqlx::Error> {
    // New rows need no conflict check: the write lock keeps other writers out.
    let mut inserted = Vec::new();
    let mut updated = Vec::new();
    let mut refunds = Vec::new();
    for id in &changes.generations {
        let Some(row) = after.generations.get(id) else {
            continue;
        };
        let old = before.generations.get(id);
        match old {
            None => inserted.push((id, row)),
            // A new refund changes the row too: it carries the credits refunded.
            Some(old) if row != old => updated.push((id, row)),
            Some(_) => {}
        }
        if let (Some(refund), None) = (row.refund, old.and_then(|old| old.refund)) {
            refunds.push((id, refund));
        }
    }
    let upsert = "ON CONFLICT (id) DO UPDATE SET
         user_id = excluded.user_id, provider = excluded.provider, model = excluded.model,
         status = excluded.status, credits = excluded.credits, cost_micros = excluded.cost_micros,
         created_at = excluded.created_at, completed_at = excluded.completed_at, error = excluded.error,
         error_group = excluded.error_group, refunded_credits = excluded.refunded_credits";
    for (rows, tail) in [(&inserted, ""), (&updated, upsert)] {
        insert_generations(conn, tail, rows).await?;
    }
    insert_rows(
        conn,
        "refunds",
        ["generation_id", "credits", "at"],
        "",
        &refunds,
        |(id, (credits, at))| [id.as_str().into(), (*credits).into(), (*at).into()],
    )
    .await
}

/// `INSERT INTO generations … tail` for every row.
async fn insert_generations(
    conn: &mut AnyConnection,
    tail: &str,
    rows: &[(&String, &GenerationRow)],
) -> Result<(), sqlx::Error> {
    insert_rows(
        conn,
        "generations",
        [
            "id",
            "user_id",
            "provider",
            "model",
            "status",
            "credits",
            "cost_micros",
            "created_at",
            "completed_at",
            "error",
            "error_group",
            "refunded_credits",
        ],
        tail,
        rows,
        |(id, g)| {
            [
                id.as_str().into(),
                g.user_id.as_str().into(),
                g.provider.as_str().into(),
                g.model.as_deref().into(),
                g.status.as_str().into(),
                g.credits.into(),
                g.cost_micros.into(),
                g.created_at.into(),
                g.completed_at.into(),
                g.error.as_deref().into(),
                g.error_group.as_deref().into(),
                g.refund.map(|(credits, _)| credits).into(),
            ]
        },
    )
    .await
}

/// Sets the newest generation time of the users who may have lost theirs from their
/// generations, in the database and in `after`.
async fn reread_newest_generations(
    conn: &mut AnyConnection,
    after: &mut Rows,
    changes: &Changes,
) -> Result<(), sqlx::Error> {
    let lost: Vec<&str> = changes.lost_newest.iter().map(String::as_str).collect();
    for list in id_lists(conn, &lost) {
        let sql = format!(
            "UPDATE users SET last_generation_at =
                 (SELECT MAX(g.created_at) FROM generations g WHERE g.user_id = users.id)
             WHERE id IN {}",
            list.sql
        );
        list.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
        let sql = format!(
            "SELECT id, last_generation_at FROM users WHERE id IN {}",
            list.sql
        );
        for row in list.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
            let id: String = row.try_get("id")?;
            if let Some(user) = after.users.get_mut(&id) {
                user.last_generation_at = row.try_get("last_generation_at")?;
            }
        }
    }
    Ok(())
}
