//! Computes [`DashboardStats`] with SQL aggregates on the database host: only totals and
//! the ten newest failures travel back, never the rows themselves.
//!
//! The dashboard reads the running totals (`crate::store::totals`): a window's whole UTC days and
//! 15-minute buckets from the totals tables, and each partial day or quarter at its edges
//! from the cheaper side: the part inside the window, or the bucket's total less the part
//! outside. Time after `now` holds no rows, so the day and the quarter that `now` falls in
//! cost one bucket each; a rolling window's first day costs at most half a day of
//! quarters, and its first quarter at most seven and a half minutes of raw rows, however
//! many generations there are. The same figures straight from the raw rows
//! ([`Source::RawRows`]) are the reference that tests and the benchmark compare against.

pub mod latency;

use crate::model::dashboard::*;
use crate::model::range::DateRange;
use crate::model::trend::TrendBar;
use crate::model::windows::{Window, Windows};
use crate::store::db::Db;
use crate::store::totals::{bucket_ceil, bucket_floor, SPANS};
use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use chrono_tz::Tz;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// Where the figures are computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The running totals, plus the raw rows of partial buckets: what the dashboard uses.
    Totals,
    /// The straightforward SQL over the raw rows (indexed on `created_at`).
    RawRows,
}

/// What the figures depend on besides the data.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    pub time_zone: Tz,
    pub health: HealthThresholds,
    /// How long a failed generation may wait for its refund before reconciliation counts it.
    pub refund_grace: chrono::Duration,
}

/// `refund-grace-minutes` unless configured.
pub const DEFAULT_REFUND_GRACE: chrono::Duration = chrono::Duration::minutes(15);

impl ReportSettings {
    /// The default thresholds and grace period, reporting in `zone`.
    pub fn in_zone(time_zone: Tz) -> ReportSettings {
        ReportSettings {
            time_zone,
            health: HealthThresholds::default(),
            refund_grace: DEFAULT_REFUND_GRACE,
        }
    }
}

/// Counts and cost of the generations created in a window.
#[derive(Debug, Default)]
struct GenerationTotals {
    generations: i64,
    succeeded: i64,
    failed: i64,
    cost: Money,
}

// Every query below gives the same seven columns, three texts and four integers (NULL
// where a query has fewer), so that all of them join in one statement ([`Statement`]).

const GENERATION_TOTALS: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*),
           COUNT(*) FILTER (WHERE status = 'succeeded'),
           COUNT(*) FILTER (WHERE status = 'failed'),
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT)
    FROM generations
    WHERE created_at >= $1 AND created_at < $2";

const BUCKET_GENERATION_TOTALS: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(generations), 0) AS BIGINT),
           CAST(COALESCE(SUM(succeeded), 0) AS BIGINT),
           CAST(COALESCE(SUM(failed), 0) AS BIGINT),
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT)
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2";

const ACTIVE_USERS: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(DISTINCT user_id), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generations WHERE created_at >= $1 AND created_at < $2";

/// Users whose newest generation is in the window...
const NEWEST_IN: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM users WHERE last_generation_at >= $1 AND last_generation_at < $2";

const BUCKET_NEWEST_IN: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(users), 0) AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
           CAST(NULL AS BIGINT)
    FROM activity_totals WHERE span = $3 AND bucket >= $1 AND bucket < $2";

/// ...and those with a newer one (few, unless the window ends in the past) that also have
/// one in the window. Written for a plan made without the values (see [`load_from`]): the
/// upper bound makes it read the index of `last_generation_at`, and `OFFSET 0` keeps the
/// check a lookup per user, where a join could read all of the window's generations.
const NEWER_BUT_ACTIVE_IN: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM users u
    WHERE u.last_generation_at BETWEEN $2 AND 9223372036854775807
      AND EXISTS (SELECT 1 FROM generations g
                  WHERE g.user_id = u.id AND g.created_at >= $1 AND g.created_at < $2
                  LIMIT 1 OFFSET 0)";

const REFUNDS: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM refunds WHERE at >= $1 AND at < $2";

const BUCKET_REFUNDS: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(refunds), 0) AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
           CAST(NULL AS BIGINT)
    FROM refund_totals WHERE span = $3 AND bucket >= $1 AND bucket < $2";

const PROVIDERS: &str = "
    SELECT provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*),
           COUNT(*) FILTER (WHERE status = 'succeeded'),
           COUNT(*) FILTER (WHERE status = 'failed'),
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT)
    FROM generations
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY provider";

const BUCKET_PROVIDERS: &str = "
    SELECT provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(SUM(generations) AS BIGINT),
           CAST(SUM(succeeded) AS BIGINT),
           CAST(SUM(failed) AS BIGINT),
           CAST(SUM(cost_micros) AS BIGINT)
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY provider
    HAVING SUM(generations) <> 0";

const BALANCES_BY_TIER: &str = "
    SELECT tier, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*),
           CAST(COALESCE(SUM(credits), 0) AS BIGINT),
           COUNT(*) FILTER (WHERE credits > 0),
           CAST(NULL AS BIGINT)
    FROM users
    GROUP BY tier";

const BUCKET_BALANCES_BY_TIER: &str = "
    SELECT tier, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           users, credits, users_with_credits, CAST(NULL AS BIGINT)
    FROM balance_totals";

/// Credits charged minus refunded for the window's generations, by the user's tier now.
const CONSUMED_BY_TIER: &str = "
    SELECT u.tier, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(g.credits), 0) - COALESCE(SUM(r.credits), 0) AS BIGINT),
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generations g
    JOIN users u ON u.id = g.user_id
    LEFT JOIN refunds r ON r.generation_id = g.id
    WHERE g.created_at >= $1 AND g.created_at < $2
    GROUP BY u.tier";

/// The same for the minutes of raw rows at a window's edge, each row's tier and refund read
/// by key: the plan PostgreSQL makes without the range's values (see [`load_from`]) so
/// reads only those rows, where a join may be planned as scans of `users` and `refunds`.
const CONSUMED_BY_TIER_AT_EDGE: &str = "
    SELECT (SELECT u.tier FROM users u WHERE u.id = g.user_id), CAST(NULL AS TEXT),
           CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(g.credits - COALESCE(
               (SELECT r.credits FROM refunds r WHERE r.generation_id = g.id), 0)), 0) AS BIGINT),
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generations g
    WHERE g.created_at >= $1 AND g.created_at < $2
    GROUP BY 1";

const BUCKET_CONSUMED_BY_TIER: &str = "
    SELECT tier, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(SUM(consumed) AS BIGINT),
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY tier";

/// Failed generations with no refund, and refunds larger than the credits charged (the
/// two columns each count one of them; a window query reads both). Each row's refund is
/// read by key, as at the window's edge in [`CONSUMED_BY_TIER_AT_EDGE`].
const RECONCILIATION: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(CASE WHEN g.status = 'failed' AND NOT EXISTS
               (SELECT 1 FROM refunds r WHERE r.generation_id = g.id) THEN 1 ELSE 0 END), 0)
               AS BIGINT),
           CAST(COALESCE(SUM(CASE WHEN
               (SELECT r.credits FROM refunds r WHERE r.generation_id = g.id) > g.credits
               THEN 1 ELSE 0 END), 0) AS BIGINT),
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generations g
    WHERE g.created_at >= $1 AND g.created_at < $2";

const BUCKET_RECONCILIATION: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(COALESCE(SUM(unrefunded), 0) AS BIGINT),
           CAST(COALESCE(SUM(over_refunded), 0) AS BIGINT),
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2";

/// Finished generations per provider and latency bin (see `super::latency`).
const LATENCY: &str = "
    SELECT g.provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           (SELECT MAX(b.bin) FROM latency_bins b
            WHERE b.lower_micros <= g.completed_at - g.created_at OR b.bin = 0),
           COUNT(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generations g
    WHERE g.created_at >= $1 AND g.created_at < $2
      AND g.status <> 'pending' AND g.completed_at IS NOT NULL
    GROUP BY 1, 4";

const BUCKET_LATENCY: &str = "
    SELECT provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           bin, CAST(SUM(generations) AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM latency_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY provider, bin";

/// A trend bar's counts and cost by provider, from pieces of many bars at once: each row of
/// `VALUES {pieces}` is `(start, end, span, bar, sign)`, read as `piece.column1` to
/// `column5` (the names SQLite and PostgreSQL both give), and each of its buckets of `span`
/// from `start` to `end` adds up (sign 1) or takes away (-1) to bar `bar`. Each piece must
/// be one read of the primary key: `CROSS JOIN` makes SQLite loop over the pieces, its
/// reading connections make no automatic indexes (`crate::store::db`), and the statement's
/// settings keep PostgreSQL from a hash join (see [`load_from`]).
const BUCKET_TREND: &str = "
    SELECT CAST({figure} AS BIGINT), piece.column4, CAST(1 AS BIGINT),
           t.provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(SUM(piece.column5 * t.generations) AS BIGINT),
           CAST(SUM(piece.column5 * t.succeeded) AS BIGINT),
           CAST(SUM(piece.column5 * t.failed) AS BIGINT),
           CAST(SUM(piece.column5 * t.cost_micros) AS BIGINT)
    FROM (VALUES {pieces}) piece
    CROSS JOIN generation_totals t
    WHERE t.span = piece.column3 AND t.bucket >= piece.column1 AND t.bucket < piece.column2
    GROUP BY piece.column4, t.provider";

/// The same from the raw rows created from `start` to `end` (`span` unused).
const TREND: &str = "
    SELECT CAST({figure} AS BIGINT), piece.column4, CAST(1 AS BIGINT),
           g.provider, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(SUM(piece.column5) AS BIGINT),
           CAST(SUM(CASE WHEN g.status = 'succeeded' THEN piece.column5 ELSE 0 END) AS BIGINT),
           CAST(SUM(CASE WHEN g.status = 'failed' THEN piece.column5 ELSE 0 END) AS BIGINT),
           CAST(SUM(piece.column5 * g.cost_micros) AS BIGINT)
    FROM (VALUES {pieces}) piece
    CROSS JOIN generations g
    WHERE g.created_at >= piece.column1 AND g.created_at < piece.column2
    GROUP BY piece.column4, g.provider";

const RECENT_FAILURES: &str = "
    SELECT id, provider, error, created_at,
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generations
    WHERE status = 'failed' AND created_at >= $1 AND created_at < $2
    ORDER BY created_at DESC, id DESC
    LIMIT $3";

/// What a row of the figures' statement is part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Figure {
    Generations,
    Refunds,
    ActiveUsers,
    Providers,
    Balances,
    Consumed,
    Failures,
    Reconciliation,
    Latency,
    Trend,
}

impl Figure {
    const ALL: [Figure; 10] = [
        Figure::Generations,
        Figure::Refunds,
        Figure::ActiveUsers,
        Figure::Providers,
        Figure::Balances,
        Figure::Consumed,
        Figure::Failures,
        Figure::Reconciliation,
        Figure::Latency,
        Figure::Trend,
    ];
}

/// The dashboard's figures as of `now` over the guide's windows or a `chosen` range, from
/// the running totals.
pub async fn load(
    db: &Db,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    chosen: Option<&DateRange>,
) -> Result<DashboardStats, sqlx::Error> {
    load_from(db, Source::Totals, settings, now, chosen).await
}

/// The dashboard's figures as of `now` over the guide's windows or a `chosen` range,
/// computed from `source`.
pub async fn load_from(
    db: &Db,
    source: Source,
    settings: &ReportSettings,
    now: DateTime<Utc>,
    chosen: Option<&DateRange>,
) -> Result<DashboardStats, sqlx::Error> {
    // Times are stored to the microsecond; `now` need not be finer.
    let now = now.trunc_subsecs(6);
    let windows = Windows::chosen(now, settings.time_zone, chosen);
    // Generations of today, this month, the last 7 days, the last 24 hours, in this order.
    let generation_windows = [
        windows.today,
        windows.this_month,
        windows.last_7_days,
        windows.last_24h,
    ];
    // Refunds of this month and of the last 7 days.
    let refund_windows = [windows.this_month, windows.last_7_days];

    let mut statement = Statement::default();
    let pick = |straightforward: &'static str, with_totals: &'static str| match source {
        Source::Totals => with_totals,
        Source::RawRows => straightforward,
    };
    statement.windows(
        Figure::Generations,
        source,
        &generation_windows,
        GENERATION_TOTALS,
        BUCKET_GENERATION_TOTALS,
    );
    statement.windows(
        Figure::Refunds,
        source,
        &refund_windows,
        REFUNDS,
        BUCKET_REFUNDS,
    );
    let today = range(windows.today);
    match source {
        Source::Totals => {
            statement.windows(
                Figure::ActiveUsers,
                source,
                &[windows.today],
                NEWEST_IN,
                BUCKET_NEWEST_IN,
            );
            statement.part(
                Figure::ActiveUsers,
                0,
                1,
                NEWER_BUT_ACTIVE_IN,
                &[today.0, today.1],
            );
        }
        Source::RawRows => {
            statement.part(Figure::ActiveUsers, 0, 1, ACTIVE_USERS, &[today.0, today.1])
        }
    }
    statement.windows(
        Figure::Providers,
        source,
        &[windows.last_30_days],
        PROVIDERS,
        BUCKET_PROVIDERS,
    );
    statement.windows(
        Figure::Latency,
        source,
        &[windows.last_30_days],
        LATENCY,
        BUCKET_LATENCY,
    );
    statement.part(
        Figure::Balances,
        0,
        1,
        pick(BALANCES_BY_TIER, BUCKET_BALANCES_BY_TIER),
        &[],
    );
    statement.windows(
        Figure::Consumed,
        source,
        &[windows.this_month],
        pick(CONSUMED_BY_TIER, CONSUMED_BY_TIER_AT_EDGE),
        BUCKET_CONSUMED_BY_TIER,
    );
    // Failures count once their refund is overdue; refunds larger than charged at once.
    let overdue = Window {
        start: windows.last_30_days.start,
        end: windows.last_30_days.end.min(now - settings.refund_grace),
    };
    statement.windows(
        Figure::Reconciliation,
        source,
        &[overdue, windows.last_30_days],
        RECONCILIATION,
        BUCKET_RECONCILIATION,
    );
    let trend_step = TrendStep::for_length(windows.trend.end - windows.trend.start);
    let bars = windows.trend.bars(settings.time_zone, trend_step);
    statement.bars(Figure::Trend, source, &bars, TREND, BUCKET_TREND);
    let week = range(windows.last_7_days);
    statement.part(
        Figure::Failures,
        0,
        1,
        RECENT_FAILURES,
        &[week.0, week.1, RECENT_FAILURES_LIMIT],
    );

    // One statement sees one snapshot, so every figure agrees with every other.
    let rows = if db.is_sqlite() || source == Source::RawRows {
        statement.fetch(&mut *db.pool.acquire().await?).await?
    } else {
        // PostgreSQL would plan the statement's many small parts as a parallel append, and
        // starting its workers takes longer (about 10 ms) than reading the few thousand
        // rows. Planning the parts for each call's values took longer than running them
        // (3 ms against 2 at 1 M generations), so the plan is made once per connection,
        // without the values: every part reads a range of an index whatever its bounds.
        // Such a plan's cost, guessed without the values, passes `jit_above_cost`, and
        // compiling it took 150 ms. The trend's pieces, joined to the totals by ranges whose
        // values the plan does not know, were hashed against a scan of every total (20 ms
        // at 1 M generations) instead of read a piece at a time through the index (1 ms):
        // the statement's only joins are those, so hash and merge joins are off for it.
        // Sent with BEGIN in one message: no round trip of its own.
        let mut tx = db
            .pool
            .begin_with(
                "BEGIN READ ONLY; SET LOCAL max_parallel_workers_per_gather = 0;
                 SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL jit = off;
                 SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off",
            )
            .await?;
        let rows = statement.fetch(&mut tx).await?;
        tx.commit().await?;
        rows
    };

    let mut generations: [GenerationTotals; 4] = Default::default();
    let mut refunds = [0; 2];
    let mut active_users = 0;
    let mut by_provider: BTreeMap<String, GenerationTotals> = BTreeMap::new();
    let mut latency_bins: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    let mut user_stats = UserStats::default();
    let mut failures: Vec<(i64, String, String, Option<String>)> = Vec::new();
    let mut trend_counts: Vec<BTreeMap<String, GenerationTotals>> =
        bars.iter().map(|_| BTreeMap::new()).collect();
    let mut reconciliation = Reconciliation {
        grace_minutes: settings.refund_grace.num_minutes(),
        ..Reconciliation::default()
    };
    for row in rows {
        let Some(&figure) = Figure::ALL.get(row.try_get::<i64, _>(0)? as usize) else {
            continue;
        };
        let window = row.try_get::<i64, _>(1)? as usize;
        let sign: i64 = row.try_get(2)?;
        let int = |i: usize| row.try_get::<i64, _>(INTEGERS + i);
        match figure {
            Figure::Generations => generations[window].add(&read_totals(&row)?, sign)?,
            Figure::Refunds => refunds[window] += sign * int(0)?,
            Figure::ActiveUsers => active_users += sign * int(0)?,
            Figure::Providers => by_provider
                .entry(row.try_get(TEXTS)?)
                .or_default()
                .add(&read_totals(&row)?, sign)?,
            Figure::Balances => {
                let Some(tier) = Tier::parse(&row.try_get::<String, _>(TEXTS)?) else {
                    continue;
                };
                let (count, credits, with_credits) = (int(0)?, int(1)?, int(2)?);
                let entry = user_stats.credits_by_tier.get_mut(tier);
                entry.count = count;
                entry.total_credits = credits;
                user_stats.users_with_credits += with_credits;
                let circulating = &mut user_stats.total_credits_in_circulation;
                *circulating = summed(*circulating, credits, 1)?;
            }
            Figure::Consumed => {
                let tier: Option<String> = row.try_get(TEXTS)?;
                if let Some(tier) = tier.as_deref().and_then(Tier::parse) {
                    let consumed = &mut user_stats.credits_by_tier.get_mut(tier).total_consumed;
                    *consumed = summed(*consumed, int(0)?, sign)?;
                }
            }
            // The first window counts overdue failures, the second refunds larger than charged.
            Figure::Reconciliation if window == 0 => {
                reconciliation.unrefunded_failures += sign * int(0)?
            }
            Figure::Reconciliation => reconciliation.over_refunds += sign * int(1)?,
            Figure::Latency => {
                *latency_bins
                    .entry(row.try_get(TEXTS)?)
                    .or_default()
                    .entry(int(0)?)
                    .or_default() += sign * int(1)?
            }
            Figure::Trend => {
                if let Some(bar) = trend_counts.get_mut(window) {
                    bar.entry(row.try_get(TEXTS)?)
                        .or_default()
                        .add(&read_totals(&row)?, sign)?
                }
            }
            Figure::Failures => failures.push((
                row.try_get(TEXTS + 3)?,
                row.try_get(TEXTS)?,
                row.try_get(TEXTS + 1)?,
                row.try_get(TEXTS + 2)?,
            )),
        }
    }
    let [today, month, week, day] = generations;
    let [month_refunds, week_refunds] = refunds;

    let mut providers: Vec<ProviderUsage> = by_provider
        .into_iter()
        // A quarter's total less its rows outside the window can leave nothing.
        .filter(|(_, t)| t.generations != 0)
        .map(|(name, t)| {
            let bins = latency_bins.remove(&name).unwrap_or_default();
            ProviderUsage {
                total_calls: t.generations,
                successful: t.succeeded,
                failed: t.failed,
                success_rate: success_rate(t.succeeded, t.failed),
                total_cost: t.cost,
                latency_p50_ms: latency::percentile_ms(&bins, 0.5),
                latency_p95_ms: latency::percentile_ms(&bins, 0.95),
                name,
            }
        })
        .collect();
    sort_providers(&mut providers);

    // The parts of a UNION ALL keep no order: newest first, by time, then id.
    failures.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    let zone = settings.time_zone;
    let recent_failures = failures
        .into_iter()
        .map(|(created_at, id, provider, error)| RecentFailure {
            id,
            provider,
            error: error
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| "Unknown error".into()),
            time: in_zone(from_micros(created_at), zone),
        })
        .collect();

    let trend = Trend {
        step: trend_step,
        bars: bars
            .iter()
            .zip(trend_counts)
            .map(|(bar, providers)| TrendBar {
                start: in_zone(bar.start, zone),
                providers: providers
                    .into_iter()
                    .filter(|(_, t)| t.generations != 0)
                    .map(|(name, t)| (name, t.by_status()))
                    .collect(),
            })
            .collect(),
        end: in_zone(windows.trend.end, zone),
    };

    Ok(DashboardStats {
        generated_at: in_zone(now, zone),
        time_zone: zone.name().to_owned(),
        range: chosen.map(|range| windows.today.named(range, zone)),
        today_stats: TodayStats {
            active_users,
            generations: today.generations,
            successful: today.succeeded,
            failed: today.failed,
            cost: today.cost,
        },
        month_stats: MonthStats {
            generations: month.generations,
            successful: month.succeeded,
            failed: month.failed,
            cost: month.cost,
            refunds: month_refunds,
            success_rate: success_rate(month.succeeded, month.failed),
            average_cost: average_cost(month.cost, month.generations),
        },
        success_rate: success_rate(week.succeeded, week.failed),
        refunds_last_7_days: week_refunds,
        user_stats,
        providers,
        recent_failures,
        reconciliation,
        system_health: SystemHealth {
            status: health_status(day.succeeded, day.failed, settings.health),
            tasks_last_24h: day.generations,
            failure_last_24h: day.failed,
            failure_rate: percent_of(day.failed, day.succeeded),
        },
        trend,
    })
}

/// A window as microseconds: start inclusive, end exclusive.
type Range = (i64, i64);

fn range(window: Window) -> Range {
    (
        window.start.timestamp_micros(),
        window.end.timestamp_micros(),
    )
}

/// What a window query reads: whole buckets of one span from the totals, or raw rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Buckets { span: i64, range: Range },
    Raw(Range),
}

/// The parts of `window` and the sign each is to be added up with: the whole window's raw
/// rows, or the buckets and raw edges [`cover`] reads it with, runs of buckets merged.
fn parts(source: Source, window: Window) -> Vec<(Part, i64)> {
    if source == Source::RawRows {
        return vec![(Part::Raw(range(window)), 1)];
    }
    let mut pieces = Vec::new();
    cover(
        range(window),
        1,
        &SPANS,
        window.end.timestamp_micros(),
        &mut pieces,
    );
    let mut buckets = Vec::new();
    let mut raw = Vec::new();
    for (part, sign) in pieces {
        match part {
            Part::Buckets { span, range } => buckets.push((span, range, sign)),
            Part::Raw(_) => raw.push((part, sign)),
        }
    }
    merge_adjacent(buckets)
        .into_iter()
        .map(|(span, range, sign)| (Part::Buckets { span, range }, sign))
        .chain(raw)
        .collect()
}

/// Adds to `out` the parts that read `(start, end)` with `sign`: the whole buckets of the
/// longest of `spans` inside it, and each partial bucket from its cheaper side, in the
/// shorter spans (raw rows after the last): the part inside, or the whole bucket less the
/// parts outside. A side costs the time before `now` that it covers: time after `now`
/// holds no rows (only a sender's clock ahead of ours would put some there), so the day
/// and the quarter that `now` falls in are each read as their bucket less the empty rest,
/// and reading today costs a day's totals however late it is.
fn cover((start, end): Range, sign: i64, spans: &[i64], now: i64, out: &mut Vec<(Part, i64)>) {
    if start >= end {
        return;
    }
    let Some((&span, shorter)) = spans.split_first() else {
        out.push((Part::Raw((start, end)), sign));
        return;
    };
    let (first, last) = (bucket_ceil(start, span), bucket_floor(end, span));
    if first < last {
        out.push((
            Part::Buckets {
                span,
                range: (first, last),
            },
            sign,
        ));
        cover((start, first), sign, spans, now, out);
        cover((last, end), sign, spans, now, out);
    } else if first == last && start < first && first < end {
        // Across one bucket edge: the two partial buckets each on their own.
        cover((start, first), sign, spans, now, out);
        cover((first, end), sign, spans, now, out);
    } else {
        let bucket = bucket_floor(start, span);
        let outside = [(bucket, start), (end, bucket + span)];
        let cost = |(a, b): Range| b.min(now) - a.min(now);
        if outside.into_iter().map(cost).sum::<i64>() < cost((start, end)) {
            out.push((
                Part::Buckets {
                    span,
                    range: (bucket, bucket + span),
                },
                sign,
            ));
            for part in outside {
                cover(part, -sign, shorter, now, out);
            }
        } else {
            cover((start, end), sign, shorter, now, out);
        }
    }
}

/// `sql` with its parameters `$1`, `$2`, … renumbered from `$(offset + 1)`.
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// Every figure's parts, joined by `UNION ALL` into one statement: each row is tagged with
/// its [`Figure`], its window's index and the sign it is to be added up with, and the
/// query's seven columns follow (texts from [`TEXTS`], integers from [`INTEGERS`]). The
/// dashboard so costs one round trip to the database, however its windows fall on the
/// buckets.
#[derive(Debug, Default)]
struct Statement {
    selects: Vec<String>,
    values: Vec<i64>,
}

/// Where a row's texts and integers start.
const TEXTS: usize = 3;
const INTEGERS: usize = TEXTS + 3;

impl Statement {
    /// Adds `sql` with its parameters `$1`, `$2`, … bound to `values`.
    fn part(&mut self, figure: Figure, window: usize, sign: i64, sql: &str, values: &[i64]) {
        self.selects.push(format!(
            "SELECT CAST({} AS BIGINT), CAST({window} AS BIGINT), CAST({sign} AS BIGINT), part.*
             FROM ({}) part",
            figure as i64,
            renumber(sql, self.values.len())
        ));
        self.values.extend_from_slice(values);
    }

    /// Adds `figure` over each of `windows`: `raw_sql` (parameters: start, end) and
    /// `bucket_sql` (start, end, span) over the window's [`parts`].
    fn windows(
        &mut self,
        figure: Figure,
        source: Source,
        windows: &[Window],
        raw_sql: &str,
        bucket_sql: &str,
    ) {
        for (index, &window) in windows.iter().enumerate() {
            for (part, sign) in parts(source, window) {
                match part {
                    Part::Buckets { span, range } => {
                        self.part(figure, index, sign, bucket_sql, &[range.0, range.1, span])
                    }
                    Part::Raw(range) => {
                        self.part(figure, index, sign, raw_sql, &[range.0, range.1])
                    }
                }
            }
        }
    }

    /// Adds `figure` over every one of `windows` in at most two parts however many there
    /// are, tagged with each window's index: the pieces of all windows to be read from the
    /// totals as one `VALUES` list joined to them (`bucket_sql`), and the raw ones as
    /// another (`raw_sql`). A chart's hundreds of bars so cost two parts of the statement,
    /// not hundreds.
    fn bars(
        &mut self,
        figure: Figure,
        source: Source,
        windows: &[Window],
        raw_sql: &str,
        bucket_sql: &str,
    ) {
        let mut from_totals = Vec::new();
        let mut from_rows = Vec::new();
        for (index, &window) in windows.iter().enumerate() {
            for (part, sign) in parts(source, window) {
                match part {
                    Part::Buckets { span, range } => {
                        from_totals.push([range.0, range.1, span, index as i64, sign])
                    }
                    Part::Raw(range) => from_rows.push([range.0, range.1, 0, index as i64, sign]),
                }
            }
        }
        for (sql, pieces) in [(bucket_sql, from_totals), (raw_sql, from_rows)] {
            if pieces.is_empty() {
                continue;
            }
            let first = self.values.len();
            let list: Vec<String> = (0..pieces.len())
                .map(|i| {
                    let at = first + 5 * i;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        at + 1,
                        at + 2,
                        at + 3,
                        at + 4,
                        at + 5
                    )
                })
                .collect();
            self.selects.push(
                sql.replace("{figure}", &(figure as i64).to_string())
                    .replace("{pieces}", &list.join(", ")),
            );
            self.values.extend(pieces.into_iter().flatten());
        }
    }

    async fn fetch(self, conn: &mut sqlx::AnyConnection) -> Result<Vec<AnyRow>, sqlx::Error> {
        let sql = self.selects.join(" UNION ALL ");
        let mut query = sqlx::query(&sql);
        for value in self.values {
            query = query.bind(value);
        }
        query.fetch_all(conn).await
    }
}

/// Bucket ranges of the same span and sign that meet, as one: an edge's quarter joins the
/// whole quarters next to it, so reading it from the totals costs no extra statement.
fn merge_adjacent(mut buckets: Vec<(i64, Range, i64)>) -> Vec<(i64, Range, i64)> {
    buckets.sort_by_key(|&(span, (start, _), sign)| (span, sign, start));
    let mut merged: Vec<(i64, Range, i64)> = Vec::with_capacity(buckets.len());
    for (span, (start, end), sign) in buckets {
        match merged.last_mut() {
            Some((s, (_, last_end), g)) if *s == span && *g == sign && *last_end == start => {
                *last_end = end;
            }
            _ => merged.push((span, (start, end), sign)),
        }
    }
    merged
}

/// Counts and cost from a row's four integers.
fn read_totals(row: &AnyRow) -> Result<GenerationTotals, sqlx::Error> {
    Ok(GenerationTotals {
        generations: row.try_get(INTEGERS)?,
        succeeded: row.try_get(INTEGERS + 1)?,
        failed: row.try_get(INTEGERS + 2)?,
        cost: Money::from_micros(row.try_get(INTEGERS + 3)?),
    })
}

impl GenerationTotals {
    fn by_status(&self) -> TrendCounts {
        TrendCounts {
            succeeded: self.succeeded,
            failed: self.failed,
            pending: self.generations - self.succeeded - self.failed,
            cost: self.cost,
        }
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) `other`.
    fn add(&mut self, other: &GenerationTotals, sign: i64) -> Result<(), sqlx::Error> {
        self.generations = summed(self.generations, other.generations, sign)?;
        self.succeeded = summed(self.succeeded, other.succeeded, sign)?;
        self.failed = summed(self.failed, other.failed, sign)?;
        let cost = summed(self.cost.micros(), other.cost.micros(), sign)?;
        self.cost = Money::from_micros(cost);
        Ok(())
    }
}

/// `total` plus `sign` times `part`, checked. The store keeps every sum of amounts within
/// `i64` (`crate::store::totals::grand`); a total out of range is a database that broke that.
fn summed(total: i64, part: i64, sign: i64) -> Result<i64, sqlx::Error> {
    part.checked_mul(sign)
        .and_then(|part| total.checked_add(part))
        .ok_or_else(|| sqlx::Error::Decode("a sum of the stored totals is out of range".into()))
}

pub(crate) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

pub(crate) fn in_zone(instant: DateTime<Utc>, zone: Tz) -> DateTime<FixedOffset> {
    instant.with_timezone(&zone).fixed_offset()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod parts_tests {
    use super::*;
    use crate::store::totals::{DAY, QUARTER as Q};

    const MINUTE: i64 = 60_000_000;

    fn cover_of(range: Range, spans: &[i64], now: i64) -> Vec<(Part, i64)> {
        let mut out = Vec::new();
        cover(range, 1, spans, now, &mut out);
        out
    }

    fn buckets(span: i64, range: Range, sign: i64) -> (Part, i64) {
        (Part::Buckets { span, range }, sign)
    }

    #[test]
    fn whole_buckets_longest_first_then_partial_edges_from_their_cheaper_side() {
        let later = 10 * DAY;
        assert_eq!(
            cover_of((0, 3 * Q), &SPANS, later),
            vec![buckets(Q, (0, 3 * Q), 1)],
            "aligned quarters"
        );
        assert_eq!(
            cover_of((Q, Q), &SPANS, later),
            vec![],
            "an empty window reads nothing"
        );
        // A rolling week ending at `now`: whole days, the quarters of its first partial day,
        // a raw edge; its last partial day is that day's total less the (empty) time after now.
        let (start, now) = (DAY - 2 * Q - 7, 6 * DAY + 3 * Q + 7);
        assert_eq!(
            cover_of((start, now), &SPANS, now),
            vec![
                buckets(DAY, (DAY, 6 * DAY), 1),
                buckets(Q, (DAY - 2 * Q, DAY), 1),
                (Part::Raw((start, DAY - 2 * Q)), 1),
                buckets(DAY, (6 * DAY, 7 * DAY), 1),
                buckets(Q, (6 * DAY + 4 * Q, 7 * DAY), -1),
                (Part::Raw((now, 6 * DAY + 4 * Q)), -1),
            ]
        );
        // The last 24 hours at 03:00: the first partial day is shorter read as its day
        // less its first three hours.
        let now = DAY + 12 * Q;
        assert_eq!(
            cover_of((12 * Q, now), &SPANS, now),
            vec![
                buckets(DAY, (0, DAY), 1),
                buckets(Q, (0, 12 * Q), -1),
                buckets(DAY, (DAY, 2 * DAY), 1),
                buckets(Q, (now, 2 * DAY), -1),
            ]
        );
    }

    #[test]
    fn a_partial_quarter_is_read_from_its_shorter_side_and_the_one_at_now_from_its_quarter() {
        let quarters = [Q];
        let now = 10 * Q + 4 * MINUTE;
        assert_eq!(
            cover_of((10 * Q, now), &quarters, now),
            vec![
                buckets(Q, (10 * Q, 11 * Q), 1),
                (Part::Raw((now, 11 * Q)), -1)
            ],
            "the minutes before now: the quarter less anything after now"
        );
        assert_eq!(
            cover_of((2 * Q + 4 * MINUTE, 3 * Q), &quarters, now),
            vec![
                buckets(Q, (2 * Q, 3 * Q), 1),
                (Part::Raw((2 * Q, 2 * Q + 4 * MINUTE)), -1)
            ],
            "a rolling window starting 4 minutes into a quarter"
        );
        assert_eq!(
            cover_of((2 * Q + 11 * MINUTE, 3 * Q), &quarters, now),
            vec![(Part::Raw((2 * Q + 11 * MINUTE, 3 * Q)), 1)],
            "starting 11 minutes in: the 4 minutes inside are shorter"
        );
        assert_eq!(
            cover_of((7, Q + 3), &quarters, now),
            vec![
                buckets(Q, (0, Q), 1),
                (Part::Raw((0, 7)), -1),
                (Part::Raw((Q, Q + 3)), 1)
            ],
            "across a quarter's edge: each side on its own"
        );
        assert_eq!(
            cover_of((now - 3, now), &quarters, now),
            vec![(Part::Raw((now - 3, now)), 1)],
            "a window of a moment: its own rows"
        );
    }

    #[test]
    fn parameters_are_renumbered_for_their_place_in_the_union() {
        assert_eq!(
            renumber("span = $3 AND bucket >= $1 AND bucket < $2", 5),
            "span = $8 AND bucket >= $6 AND bucket < $7"
        );
        assert_eq!(
            renumber("a >= $2 AND $2 > $1 AND '$' = x$", 10),
            "a >= $12 AND $12 > $11 AND '$' = x$"
        );
    }

    #[test]
    fn a_windows_parts_are_its_merged_buckets_then_its_raw_edges() {
        let at = |micros: i64| DateTime::from_timestamp_micros(micros).unwrap();
        // A rolling window from 4 minutes into a quarter to 2 minutes into another, days later.
        let window = Window {
            start: at(DAY - Q + 4 * MINUTE),
            end: at(3 * DAY + Q + 2 * MINUTE),
        };
        assert_eq!(
            parts(Source::Totals, window),
            vec![
                buckets(Q, (3 * DAY + 2 * Q, 4 * DAY), -1),
                buckets(Q, (DAY - Q, DAY), 1),
                buckets(DAY, (DAY, 4 * DAY), 1),
                (Part::Raw((DAY - Q, DAY - Q + 4 * MINUTE)), -1),
                (Part::Raw((3 * DAY + Q + 2 * MINUTE, 3 * DAY + 2 * Q)), -1),
            ]
        );
        assert_eq!(
            parts(Source::RawRows, window),
            vec![(Part::Raw(range(window)), 1)]
        );
    }

    #[test]
    fn an_edges_quarter_joins_the_whole_quarters_beside_it() {
        let buckets = vec![
            (DAY, (DAY, 3 * DAY), 1),
            (Q, (3 * DAY, 3 * DAY + 5 * Q), 1),
            (Q, (DAY - Q, DAY), 1),
            (Q, (3 * DAY + 5 * Q, 3 * DAY + 6 * Q), 1),
        ];
        assert_eq!(
            merge_adjacent(buckets),
            vec![
                (Q, (DAY - Q, DAY), 1),
                (Q, (3 * DAY, 3 * DAY + 6 * Q), 1),
                (DAY, (DAY, 3 * DAY), 1),
            ]
        );
    }
}
