//! Computes [`DashboardStats`] with SQL aggregates on the database host: only totals and
//! the ten newest failures travel back, never the rows themselves.
//!
//! The dashboard reads the running totals (`crate::totals`): a window's whole 15-minute
//! buckets from the totals tables, its partial quarters at the edges (the start of a
//! rolling window, the minutes before `now`) from the raw rows of the shorter side: the
//! part inside the window, or the quarter's total minus the part outside (at `now`, the
//! rows after it: none). A figure so costs a few thousand bucket rows and at most seven
//! and a half minutes of raw rows per edge, however many generations there are. The same figures straight
//! from the raw rows ([`Source::RawRows`]) are the reference that tests and the benchmark
//! compare against.

use super::windows::{Window, Windows};
use super::*;
use crate::db::Db;
use crate::totals::{bucket_ceil, bucket_floor, QUARTER, SPANS};
use chrono::{DateTime, SubsecRound, Utc};
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
/// one in the window.
const NEWER_BUT_ACTIVE_IN: &str = "
    SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           COUNT(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM users u
    WHERE u.last_generation_at >= $2
      AND EXISTS (SELECT 1 FROM generations g
                  WHERE g.user_id = u.id AND g.created_at >= $1 AND g.created_at < $2)";

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

const BUCKET_CONSUMED_BY_TIER: &str = "
    SELECT tier, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
           CAST(SUM(consumed) AS BIGINT),
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM generation_totals
    WHERE span = $3 AND bucket >= $1 AND bucket < $2
    GROUP BY tier";

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
}

impl Figure {
    const ALL: [Figure; 7] = [
        Figure::Generations,
        Figure::Refunds,
        Figure::ActiveUsers,
        Figure::Providers,
        Figure::Balances,
        Figure::Consumed,
        Figure::Failures,
    ];
}

/// The dashboard's figures as of `now`, from the running totals.
pub async fn load(
    db: &Db,
    settings: &ReportSettings,
    now: DateTime<Utc>,
) -> Result<DashboardStats, sqlx::Error> {
    load_from(db, Source::Totals, settings, now).await
}

/// The dashboard's figures as of `now`, computed from `source`.
pub async fn load_from(
    db: &Db,
    source: Source,
    settings: &ReportSettings,
    now: DateTime<Utc>,
) -> Result<DashboardStats, sqlx::Error> {
    // Times are stored to the microsecond; `now` need not be finer.
    let now = now.trunc_subsecs(6);
    let windows = Windows::at(now, settings.time_zone);
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
    let totals = |raw: &'static str, buckets: &'static str| match source {
        Source::Totals => buckets,
        Source::RawRows => raw,
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
    statement.part(
        Figure::Balances,
        0,
        1,
        totals(BALANCES_BY_TIER, BUCKET_BALANCES_BY_TIER),
        &[],
    );
    statement.windows(
        Figure::Consumed,
        source,
        &[windows.this_month],
        CONSUMED_BY_TIER,
        BUCKET_CONSUMED_BY_TIER,
    );
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
        // rows. Sent with BEGIN in one message: no round trip of its own.
        let mut tx = db
            .pool
            .begin_with("BEGIN READ ONLY; SET LOCAL max_parallel_workers_per_gather = 0")
            .await?;
        let rows = statement.fetch(&mut tx).await?;
        tx.commit().await?;
        rows
    };

    let mut generations: [GenerationTotals; 4] = Default::default();
    let mut refunds = [0; 2];
    let mut active_users = 0;
    let mut by_provider: BTreeMap<String, GenerationTotals> = BTreeMap::new();
    let mut user_stats = UserStats::default();
    let mut failures: Vec<(i64, String, String, Option<String>)> = Vec::new();
    for row in rows {
        let Some(&figure) = Figure::ALL.get(row.try_get::<i64, _>(0)? as usize) else {
            continue;
        };
        let window = row.try_get::<i64, _>(1)? as usize;
        let sign: i64 = row.try_get(2)?;
        let int = |i: usize| row.try_get::<i64, _>(INTEGERS + i);
        match figure {
            Figure::Generations => generations[window].add(&read_totals(&row)?, sign),
            Figure::Refunds => refunds[window] += sign * int(0)?,
            Figure::ActiveUsers => active_users += sign * int(0)?,
            Figure::Providers => by_provider
                .entry(row.try_get(TEXTS)?)
                .or_default()
                .add(&read_totals(&row)?, sign),
            Figure::Balances => {
                let Some(tier) = Tier::parse(&row.try_get::<String, _>(TEXTS)?) else {
                    continue;
                };
                let (count, credits, with_credits) = (int(0)?, int(1)?, int(2)?);
                let entry = user_stats.credits_by_tier.get_mut(tier);
                entry.count = count;
                entry.total_credits = credits;
                user_stats.users_with_credits += with_credits;
                user_stats.total_credits_in_circulation += credits;
            }
            Figure::Consumed => {
                if let Some(tier) = Tier::parse(&row.try_get::<String, _>(TEXTS)?) {
                    user_stats.credits_by_tier.get_mut(tier).total_consumed += sign * int(0)?;
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
        .map(|(name, t)| ProviderUsage {
            name,
            total_calls: t.generations,
            successful: t.succeeded,
            failed: t.failed,
            success_rate: success_rate(t.succeeded, t.failed),
            total_cost: t.cost,
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

    Ok(DashboardStats {
        generated_at: in_zone(now, zone),
        time_zone: zone.name().to_owned(),
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
        system_health: SystemHealth {
            status: health_status(day.succeeded, day.failed, settings.health),
            tasks_last_24h: day.generations,
            failure_last_24h: day.failed,
            failure_rate: percent_of(day.failed, day.succeeded),
        },
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

/// A window cut into whole buckets, longest first, (span and range) and the partial
/// quarters at its edges (ranges for the raw rows).
#[derive(Debug, Default, PartialEq, Eq)]
struct Split {
    buckets: Vec<(i64, Range)>,
    edges: Vec<Range>,
}

fn split((start, end): Range, spans: &[i64]) -> Split {
    let Some((&span, shorter)) = spans.split_first() else {
        return Split {
            buckets: Vec::new(),
            edges: vec![(start, end)],
        };
    };
    let (first, last) = (bucket_ceil(start, span), bucket_floor(end, span));
    if first >= last {
        return split((start, end), shorter);
    }
    let mut whole = Split {
        buckets: vec![(span, (first, last))],
        edges: Vec::new(),
    };
    for part in [(start, first), (last, end)] {
        if part.0 < part.1 {
            let Split { buckets, edges } = split(part, shorter);
            whole.buckets.extend(buckets);
            whole.edges.extend(edges);
        }
    }
    whole
}

/// Where a partial quarter at a window's edge is read: from its raw rows, or as the
/// quarter's total minus the raw rows of the quarter outside the window.
#[derive(Debug, PartialEq, Eq)]
enum Edge {
    Raw(Range),
    QuarterLess { quarter: Range, outside: Vec<Range> },
}

/// The cheaper way to read `(start, end)`, by the time whose raw rows must be read; time
/// after `now` holds no rows (only a sender's clock ahead of ours would put some there).
/// The edge at `now` is so always its quarter's total, however busy the last minutes were.
fn edge((start, end): Range, now: i64) -> Edge {
    let first = bucket_floor(start, QUARTER);
    let last = first + QUARTER;
    if end > last {
        return Edge::Raw((start, end));
    }
    let read = |(a, b): Range| b.min(now) - a.min(now);
    let outside: Vec<Range> = [(first, start), (end, last)]
        .into_iter()
        .filter(|(a, b)| a < b)
        .collect();
    if outside.iter().copied().map(read).sum::<i64>() < read((start, end)) {
        Edge::QuarterLess {
            quarter: (first, last),
            outside,
        }
    } else {
        Edge::Raw((start, end))
    }
}

/// What a window query reads: whole buckets of one span from the totals, or raw rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Buckets { span: i64, range: Range },
    Raw(Range),
}

/// The parts of `window` and the sign each is to be added up with: the whole window's raw
/// rows, or its whole buckets and its edges as [`edge`] reads them.
fn parts(source: Source, window: Window) -> Vec<(Part, i64)> {
    if source == Source::RawRows {
        return vec![(Part::Raw(range(window)), 1)];
    }
    let Split { buckets, edges } = split(range(window), &SPANS);
    let now = window.end.timestamp_micros();
    let mut buckets: Vec<(i64, Range, i64)> = buckets
        .into_iter()
        .map(|(span, range)| (span, range, 1))
        .collect();
    let mut raw: Vec<(Part, i64)> = Vec::new();
    for part in edges {
        match edge(part, now) {
            Edge::QuarterLess { quarter, outside } => {
                buckets.push((QUARTER, quarter, 1));
                raw.extend(outside.into_iter().map(|range| (Part::Raw(range), -1)));
            }
            Edge::Raw(range) => raw.push((Part::Raw(range), 1)),
        }
    }
    merge_adjacent(buckets)
        .into_iter()
        .map(|(span, range, sign)| (Part::Buckets { span, range }, sign))
        .chain(raw)
        .collect()
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
    /// Adds (`sign` 1) or takes away (`sign` -1) `other`.
    fn add(&mut self, other: &GenerationTotals, sign: i64) {
        self.generations += sign * other.generations;
        self.succeeded += sign * other.succeeded;
        self.failed += sign * other.failed;
        self.cost = Money::from_micros(self.cost.micros() + sign * other.cost.micros());
    }
}

fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn in_zone(instant: DateTime<Utc>, zone: Tz) -> DateTime<FixedOffset> {
    instant.with_timezone(&zone).fixed_offset()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod split_tests {
    use super::*;
    use crate::totals::{DAY, QUARTER as Q};

    fn split(range: Range) -> Split {
        super::split(range, &SPANS)
    }

    #[test]
    fn windows_split_into_days_quarters_and_partial_edges() {
        assert_eq!(
            split((0, 3 * Q)),
            Split {
                buckets: vec![(Q, (0, 3 * Q))],
                edges: vec![]
            },
            "aligned quarters"
        );
        assert_eq!(
            split((0, 3 * Q + 5)),
            Split {
                buckets: vec![(Q, (0, 3 * Q))],
                edges: vec![(3 * Q, 3 * Q + 5)]
            },
            "today: from midnight to a moment after the last edge"
        );
        assert_eq!(
            split((7, Q + 3)),
            Split {
                buckets: vec![],
                edges: vec![(7, Q + 3)]
            },
            "no whole quarter"
        );
        assert_eq!(
            split((Q, Q)),
            Split {
                buckets: vec![],
                edges: vec![(Q, Q)]
            }
        );
        // A rolling week: five whole UTC days, the quarters around them, the raw edges.
        let (start, end) = (DAY - 2 * Q - 7, 6 * DAY + 3 * Q + 7);
        assert_eq!(
            split((start, end)),
            Split {
                buckets: vec![
                    (DAY, (DAY, 6 * DAY)),
                    (Q, (DAY - 2 * Q, DAY)),
                    (Q, (6 * DAY, 6 * DAY + 3 * Q)),
                ],
                edges: vec![(start, DAY - 2 * Q), (6 * DAY + 3 * Q, end)],
            }
        );
    }

    #[test]
    fn an_edge_is_read_from_its_shorter_side_and_the_edge_at_now_from_its_quarter() {
        let now = 10 * Q + 4 * 60_000_000;
        assert_eq!(
            edge((10 * Q, now), now),
            Edge::QuarterLess {
                quarter: (10 * Q, 11 * Q),
                outside: vec![(now, 11 * Q)]
            },
            "the minutes before now: the quarter less anything after now"
        );
        let minute = 60_000_000;
        assert_eq!(
            edge((2 * Q + 4 * minute, 3 * Q), now),
            Edge::QuarterLess {
                quarter: (2 * Q, 3 * Q),
                outside: vec![(2 * Q, 2 * Q + 4 * minute)]
            },
            "a rolling window starting 4 minutes into a quarter"
        );
        assert_eq!(
            edge((2 * Q + 11 * minute, 3 * Q), now),
            Edge::Raw((2 * Q + 11 * minute, 3 * Q)),
            "starting 11 minutes in: the 4 minutes inside are shorter"
        );
        assert_eq!(
            edge((7, Q + 3), now),
            Edge::Raw((7, Q + 3)),
            "over two quarters"
        );
        assert_eq!(
            edge((now - 3, now), now),
            Edge::Raw((now - 3, now)),
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
    fn a_windows_parts_are_its_buckets_then_its_raw_edges() {
        let at = |micros: i64| DateTime::from_timestamp_micros(micros).unwrap();
        let minute = 60_000_000;
        // A rolling window from 4 minutes into a quarter to 2 minutes into another, days later.
        let window = Window {
            start: at(DAY - Q + 4 * minute),
            end: at(3 * DAY + Q + 2 * minute),
        };
        assert_eq!(
            parts(Source::Totals, window),
            vec![
                (
                    Part::Buckets {
                        span: Q,
                        range: (DAY - Q, DAY)
                    },
                    1
                ),
                (
                    Part::Buckets {
                        span: Q,
                        range: (3 * DAY, 3 * DAY + 2 * Q)
                    },
                    1
                ),
                (
                    Part::Buckets {
                        span: DAY,
                        range: (DAY, 3 * DAY)
                    },
                    1
                ),
                (Part::Raw((DAY - Q, DAY - Q + 4 * minute)), -1),
                (Part::Raw((3 * DAY + Q + 2 * minute, 3 * DAY + 2 * Q)), -1),
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
