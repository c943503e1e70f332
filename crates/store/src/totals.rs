//! Running totals per 15-minute bucket (`migrations/0003_totals.sql`, with generations by
//! provider and tier in one table since `0005_generation_totals.sql`), so that the dashboard
//! reads a few thousand bucket rows instead of millions of generations.
//!
//! Writers collect the change of a whole batch in [`Deltas`] and apply it in the batch's own
//! transaction, in sorted key order; `rebuild` recomputes everything from the raw rows.

pub mod error_groups;
pub mod grand;
pub mod pending_moves;
pub mod tier_changes;
pub mod users;

use crate::db::bulk::insert_rows;
use model::dashboard::Tier;
use model::event::Status;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// How rows written into `generation_totals` add to the rows already there.
const ADD_TO_GENERATION_TOTALS: &str = "ON CONFLICT (span, bucket, provider, tier) DO UPDATE SET
             generations = generation_totals.generations + excluded.generations,
             succeeded = generation_totals.succeeded + excluded.succeeded,
             failed = generation_totals.failed + excluded.failed,
             cost_micros = generation_totals.cost_micros + excluded.cost_micros,
             consumed = generation_totals.consumed + excluded.consumed,
             unrefunded = generation_totals.unrefunded + excluded.unrefunded,
             over_refunded = generation_totals.over_refunded + excluded.over_refunded";

pub use crate::buckets::{bucket_ceil, bucket_floor, DAY, QUARTER, SPANS};

/// What one generation (with its refund, if any) adds to the totals.
pub struct Contribution<'a> {
    pub user_id: &'a str,
    pub created_at: i64,
    pub provider: &'a str,
    pub status: Status,
    pub credits: i64,
    pub cost_micros: i64,
    /// The tier its user has now.
    pub tier: Tier,
    /// The refund's credits and time.
    pub refund: Option<(i64, i64)>,
    pub completed_at: Option<i64>,
    /// A failure's error group (`None`: not yet filled in).
    pub error_group: Option<&'a str>,
}

/// What the generations of one bucket, provider and tier add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationCounts {
    pub generations: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cost_micros: i64,
    /// Credits charged minus refunded.
    pub consumed: i64,
    /// Failed ones with no refund.
    pub unrefunded: i64,
    /// Those refunded more credits than they are charged.
    pub over_refunded: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BalanceCounts {
    pub users: i64,
    pub credits: i64,
    pub users_with_credits: i64,
}

/// Changes to the totals, summed per key (span and bucket first). Sorted maps: writers
/// touch rows in one order.
#[derive(Debug, Default)]
pub struct Deltas {
    /// By span, bucket, provider and tier.
    generations: BTreeMap<(i64, i64, String, &'static str), GenerationCounts>,
    refunds: BTreeMap<(i64, i64), i64>,
    balances: BTreeMap<&'static str, BalanceCounts>,
    activity: BTreeMap<(i64, i64), i64>,
    /// Finished generations by span, bucket, provider and latency bin.
    latency: BTreeMap<(i64, i64, String, i64), i64>,
    users: users::UserDeltas,
    error_groups: error_groups::GroupDeltas,
}

impl Deltas {
    /// Adds (`sign` 1) or takes away (`sign` -1) a generation's share of the totals.
    pub fn generation(&mut self, g: &Contribution<'_>, sign: i64) {
        users::add(&mut self.users, g, sign);
        if g.status == Status::Failed {
            error_groups::add(
                &mut self.error_groups,
                g.error_group,
                g.provider,
                g.created_at,
                sign,
            );
        }
        let refunded = g.refund.map_or(0, |(credits, _)| credits);
        for span in SPANS {
            let bucket = bucket_floor(g.created_at, span);
            let counts = self
                .generations
                .entry((span, bucket, g.provider.to_owned(), g.tier.as_str()))
                .or_default();
            counts.generations += sign;
            counts.succeeded += sign * i64::from(g.status == Status::Succeeded);
            counts.failed += sign * i64::from(g.status == Status::Failed);
            counts.cost_micros += sign * g.cost_micros;
            counts.consumed += sign * (g.credits - refunded);
            counts.unrefunded += sign * i64::from(g.status == Status::Failed && g.refund.is_none());
            counts.over_refunded += sign * i64::from(refunded > g.credits);
            if let Some((_, at)) = g.refund {
                *self
                    .refunds
                    .entry((span, bucket_floor(at, span)))
                    .or_default() += sign;
            }
            if let (true, Some(completed_at)) = (g.status != Status::Pending, g.completed_at) {
                let bin = crate::latency_bins::bin_of(completed_at - g.created_at);
                *self
                    .latency
                    .entry((span, bucket, g.provider.to_owned(), bin))
                    .or_default() += sign;
            }
        }
    }

    /// Adds or takes away a user's balance.
    pub fn user(&mut self, tier: Tier, credits: i64, sign: i64) {
        let counts = self.balances.entry(tier.as_str()).or_default();
        counts.users += sign;
        counts.credits += sign * credits;
        counts.users_with_credits += sign * i64::from(credits > 0);
    }

    /// Adds or takes away a user's newest generation time.
    pub fn newest_generation(&mut self, at: Option<i64>, sign: i64) {
        if let Some(at) = at {
            for span in SPANS {
                *self
                    .activity
                    .entry((span, bucket_floor(at, span)))
                    .or_default() += sign;
            }
        }
    }

    /// Adds the changes to the stored totals, skipping keys whose change is nothing.
    pub async fn apply(self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let Deltas {
            generations,
            refunds,
            balances,
            activity,
            latency,
            users,
            error_groups,
        } = self;
        add_generation_totals(conn, generations).await?;
        let refunds: Vec<_> = refunds.into_iter().filter(|(_, c)| *c != 0).collect();
        insert_rows(
            conn,
            "refund_totals",
            ["span", "bucket", "refunds"],
            "ON CONFLICT (span, bucket) DO UPDATE SET refunds = refund_totals.refunds + excluded.refunds",
            &refunds,
            |((span, bucket), refunds)| [(*span).into(), (*bucket).into(), (*refunds).into()],
        )
        .await?;
        add_balance_totals(conn, balances).await?;
        let activity: Vec<_> = activity.into_iter().filter(|(_, c)| *c != 0).collect();
        insert_rows(
            conn,
            "activity_totals",
            ["span", "bucket", "users"],
            "ON CONFLICT (span, bucket) DO UPDATE SET users = activity_totals.users + excluded.users",
            &activity,
            |((span, bucket), users)| [(*span).into(), (*bucket).into(), (*users).into()],
        )
        .await?;
        add_latency_totals(conn, latency).await?;
        users::apply(conn, users).await?;
        error_groups::apply(conn, error_groups).await
    }

    /// Moves a failure from one error group to another (its group filled in or recomputed).
    pub fn regroup(&mut self, provider: &str, created_at: i64, from: Option<&str>, to: &str) {
        let deltas = &mut self.error_groups;
        error_groups::add(deltas, from, provider, created_at, -1);
        error_groups::add(deltas, Some(to), provider, created_at, 1);
    }
}

/// [`Deltas::apply`]'s generation totals.
async fn add_generation_totals(
    conn: &mut AnyConnection,
    generations: BTreeMap<(i64, i64, String, &'static str), GenerationCounts>,
) -> Result<(), sqlx::Error> {
    let generations: Vec<_> = generations
        .into_iter()
        .filter(|(_, c)| *c != GenerationCounts::default())
        .collect();
    insert_rows(
        conn,
        "generation_totals",
        [
            "span",
            "bucket",
            "provider",
            "tier",
            "generations",
            "succeeded",
            "failed",
            "cost_micros",
            "consumed",
            "unrefunded",
            "over_refunded",
        ],
        ADD_TO_GENERATION_TOTALS,
        &generations,
        |((span, bucket, provider, tier), c)| {
            [
                (*span).into(),
                (*bucket).into(),
                provider.as_str().into(),
                (*tier).into(),
                c.generations.into(),
                c.succeeded.into(),
                c.failed.into(),
                c.cost_micros.into(),
                c.consumed.into(),
                c.unrefunded.into(),
                c.over_refunded.into(),
            ]
        },
    )
    .await
}

/// [`Deltas::apply`]'s balance totals.
async fn add_balance_totals(
    conn: &mut AnyConnection,
    balances: BTreeMap<&'static str, BalanceCounts>,
) -> Result<(), sqlx::Error> {
    let balances: Vec<_> = balances
        .into_iter()
        .filter(|(_, c)| *c != BalanceCounts::default())
        .collect();
    insert_rows(
        conn,
        "balance_totals",
        ["tier", "users", "credits", "users_with_credits"],
        "ON CONFLICT (tier) DO UPDATE SET
             users = balance_totals.users + excluded.users,
             credits = balance_totals.credits + excluded.credits,
             users_with_credits = balance_totals.users_with_credits + excluded.users_with_credits",
        &balances,
        |(tier, c)| {
            [
                (*tier).into(),
                c.users.into(),
                c.credits.into(),
                c.users_with_credits.into(),
            ]
        },
    )
    .await
}

/// [`Deltas::apply`]'s latency totals.
async fn add_latency_totals(
    conn: &mut AnyConnection,
    latency: BTreeMap<(i64, i64, String, i64), i64>,
) -> Result<(), sqlx::Error> {
    let latency: Vec<_> = latency.into_iter().filter(|(_, c)| *c != 0).collect();
    insert_rows(
        conn,
        "latency_totals",
        ["span", "bucket", "provider", "bin", "generations"],
        "ON CONFLICT (span, bucket, provider, bin) DO UPDATE SET
             generations = latency_totals.generations + excluded.generations",
        &latency,
        |((span, bucket, provider, bin), n)| {
            [
                (*span).into(),
                (*bucket).into(),
                provider.as_str().into(),
                (*bin).into(),
                (*n).into(),
            ]
        },
    )
    .await
}

/// Every stored total, without the keys whose totals are all zero (which mean the same as
/// no row), in key order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub generations: Vec<(i64, i64, String, String, GenerationCounts)>,
    pub refunds: Vec<(i64, i64, i64)>,
    pub balances: Vec<(String, BalanceCounts)>,
    /// Each user's newest generation time, for the users that have one.
    pub last_generation_at: Vec<(String, i64)>,
    pub activity: Vec<(i64, i64, i64)>,
    pub latency: Vec<(i64, i64, String, i64, i64)>,
    /// By user, span and bucket.
    pub users: Vec<(String, i64, i64, users::UserCounts)>,
    /// By span, bucket, group and provider.
    pub error_groups: Vec<(i64, i64, String, String, i64)>,
    pub grand: grand::GrandTotals,
}

impl Snapshot {
    pub async fn read(conn: &mut AnyConnection) -> Result<Snapshot, sqlx::Error> {
        Ok(Snapshot {
            generations: read_generation_totals(conn).await?,
            refunds: read_bucket_counts(
                conn,
                "SELECT span, bucket, refunds AS count FROM refund_totals WHERE refunds <> 0 ORDER BY span, bucket",
            )
            .await?,
            balances: read_balance_totals(conn).await?,
            last_generation_at: read_last_generation_times(conn).await?,
            activity: read_bucket_counts(
                conn,
                "SELECT span, bucket, users AS count FROM activity_totals WHERE users <> 0 ORDER BY span, bucket",
            )
            .await?,
            latency: read_latency_totals(conn).await?,
            users: users::read_all(conn).await?,
            error_groups: error_groups::read_all(conn).await?,
            grand: grand::GrandTotals::read(conn).await?,
        })
    }
}

/// [`Snapshot::read`]'s generation totals.
async fn read_generation_totals(
    conn: &mut AnyConnection,
) -> Result<Vec<(i64, i64, String, String, GenerationCounts)>, sqlx::Error> {
    let mut generations = Vec::new();
    for row in sqlx::query(
        "SELECT span, bucket, provider, tier, generations, succeeded, failed, cost_micros, consumed,
                unrefunded, over_refunded
         FROM generation_totals
         WHERE generations <> 0 OR cost_micros <> 0 OR consumed <> 0
         ORDER BY span, bucket, provider, tier",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let counts = GenerationCounts {
            generations: row.try_get("generations")?,
            succeeded: row.try_get("succeeded")?,
            failed: row.try_get("failed")?,
            cost_micros: row.try_get("cost_micros")?,
            consumed: row.try_get("consumed")?,
            unrefunded: row.try_get("unrefunded")?,
            over_refunded: row.try_get("over_refunded")?,
        };
        generations.push((
            row.try_get("span")?,
            row.try_get("bucket")?,
            row.try_get("provider")?,
            row.try_get("tier")?,
            counts,
        ));
    }
    Ok(generations)
}

/// A count per span and bucket, as `sql` selects them (`span`, `bucket`, `count`).
async fn read_bucket_counts(
    conn: &mut AnyConnection,
    sql: &str,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    let mut counts = Vec::new();
    for row in sqlx::query(sql).fetch_all(&mut *conn).await? {
        counts.push((
            row.try_get("span")?,
            row.try_get("bucket")?,
            row.try_get("count")?,
        ));
    }
    Ok(counts)
}

/// [`Snapshot::read`]'s balance totals.
async fn read_balance_totals(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, BalanceCounts)>, sqlx::Error> {
    let mut balances = Vec::new();
    for row in sqlx::query(
        "SELECT tier, users, credits, users_with_credits FROM balance_totals
         WHERE users <> 0 OR credits <> 0 ORDER BY tier",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let counts = BalanceCounts {
            users: row.try_get("users")?,
            credits: row.try_get("credits")?,
            users_with_credits: row.try_get("users_with_credits")?,
        };
        balances.push((row.try_get("tier")?, counts));
    }
    Ok(balances)
}

/// Each user's newest generation time, for the users that have one.
async fn read_last_generation_times(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut times = Vec::new();
    for row in sqlx::query(
        "SELECT id, last_generation_at FROM users WHERE last_generation_at IS NOT NULL ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        times.push((row.try_get("id")?, row.try_get("last_generation_at")?));
    }
    Ok(times)
}

/// [`Snapshot::read`]'s latency totals.
async fn read_latency_totals(
    conn: &mut AnyConnection,
) -> Result<Vec<(i64, i64, String, i64, i64)>, sqlx::Error> {
    let mut latency = Vec::new();
    for row in sqlx::query(
        "SELECT span, bucket, provider, bin, generations FROM latency_totals
         WHERE generations <> 0 ORDER BY span, bucket, provider, bin",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        latency.push((
            row.try_get("span")?,
            row.try_get("bucket")?,
            row.try_get("provider")?,
            row.try_get("bin")?,
            row.try_get("generations")?,
        ));
    }
    Ok(latency)
}

/// The statements that compute the totals from the raw rows: those of the migrations that
/// last laid out the totals tables (and filled them), so that the two can never disagree.
fn fill_statements() -> impl Iterator<Item = &'static str> {
    const MIGRATIONS: [&str; 5] = [
        include_str!("../../../migrations/0006_reconciliation_totals.sql"),
        include_str!("../../../migrations/0007_latency_totals.sql"),
        include_str!("../../../migrations/0009_grand_totals.sql"),
        include_str!("../../../migrations/0013_user_totals.sql"),
        include_str!("../../../migrations/0014_error_group_totals.sql"),
    ];
    MIGRATIONS.into_iter().flat_map(|migration| {
        let (_, fill) = migration
            .split_once("-- fill:")
            .expect("a totals migration marks its fill statements");
        let fill = fill
            .split_once('\n')
            .map_or("", |(_, statements)| statements);
        fill.split(';')
            .map(str::trim)
            .filter(|statement| !statement.is_empty())
    })
}

/// What `rebuild` found.
#[derive(Debug, PartialEq, Eq)]
pub struct Rebuilt {
    /// Whether the stored totals already equalled the recomputed ones.
    pub were_exact: bool,
}

/// The totals tables, emptied by `rebuild` before they are filled again.
const TOTALS_TABLES: [&str; 8] = [
    "generation_totals",
    "refund_totals",
    "balance_totals",
    "activity_totals",
    "latency_totals",
    "grand_totals",
    "user_totals",
    "error_group_totals",
];

/// The statement `rebuild` runs: `number` (from 1) of `of`, and what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RebuildStep {
    pub number: usize,
    pub of: usize,
    pub what: String,
}

/// Recomputes every total from the raw rows, in one transaction (writers wait for it). A
/// pending tier move is finished first, in the same transaction: the recomputed totals
/// count every generation under its user's tier now, and the move's row must go with it.
pub async fn rebuild(db: &crate::db::Db) -> Result<Rebuilt, sqlx::Error> {
    rebuild_telling(db, |_| {}).await
}

/// [`rebuild`], telling `tell` each statement as it begins (most of the time goes to a few
/// of them, on every row).
pub async fn rebuild_telling(
    db: &crate::db::Db,
    mut tell: impl FnMut(RebuildStep),
) -> Result<Rebuilt, sqlx::Error> {
    let mut tx = crate::db::transaction::begin_write_turn(db).await?;
    pending_moves::finish_all_within(&mut tx).await?;
    let before = Snapshot::read(&mut tx).await?;
    let statements: Vec<String> = TOTALS_TABLES
        .iter()
        .map(|table| format!("DELETE FROM {table}"))
        .chain(fill_statements().map(str::to_owned))
        .collect();
    for (n, statement) in statements.iter().enumerate() {
        tell(RebuildStep {
            number: n + 1,
            of: statements.len(),
            what: what_it_does(statement),
        });
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    let after = Snapshot::read(&mut tx).await?;
    tx.commit().await?;
    Ok(Rebuilt {
        were_exact: before == after,
    })
}

/// A rebuild statement in words, from its verb and table: "filling user totals".
fn what_it_does(statement: &str) -> String {
    let mut words = statement.split_whitespace();
    let (verb, table) = match (words.next(), words.next(), words.next()) {
        (Some("DELETE"), Some("FROM"), Some(table)) => ("emptying", table),
        (Some("INSERT"), Some("INTO"), Some(table)) => ("filling", table),
        (Some("UPDATE"), Some(table), _) => ("updating", table),
        _ => ("running a statement on", "the totals"),
    };
    format!("{verb} {}", table.replace('_', " "))
}

#[cfg(test)]
mod tests;
