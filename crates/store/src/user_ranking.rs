//! Users ranked by their cost over a window, from the per-user totals
//! (`crate::totals::users`): the costliest few, and those over a limit.
//!
//! A user's cost over a window is at most their cost over the buckets that cover it. The
//! users of each covering bucket are read costliest first from the index, a page at a
//! time, and only the users read so far are summed exactly (whole buckets inside the
//! window, raw rows at its edges). Once the `n`th exact cost is above the sum of the costs
//! where the pages stopped, no user unread can rank: with a long tail of users, a few pages
//! decide it, however many users and generations there are.

use crate::buckets::{bucket_floor, DAY};
use crate::db::bulk::id_lists_after;
use crate::db::parameters::{bind_all, parameter};
use crate::parts::{parts_in, Part, Range};
use crate::totals::users::USER_SPANS;
use sqlx::{AnyConnection, Row};
use std::collections::HashSet;

/// Users read from each covering bucket at first; each page after is twice as long, up to
/// [`LONGEST_PAGE`], so that users who cost much the same (where the bound decides late)
/// take a few rounds, not one per page.
const FIRST_PAGE: i64 = 32;
const LONGEST_PAGE: i64 = 4096;

/// A user's generations, cost and credits consumed (charged minus refunded) in a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSum {
    pub user_id: String,
    pub generations: i64,
    pub cost_micros: i64,
    pub consumed: i64,
}

/// Costliest first, ties by id.
fn rank(sums: &mut [UserSum]) {
    sums.sort_by(|a, b| {
        (b.cost_micros.cmp(&a.cost_micros)).then_with(|| a.user_id.cmp(&b.user_id))
    });
}

/// Covering buckets of a day read at most: a week's window. Past it, 32-day buckets.
const MOST_DAYS: usize = 8;

/// The span whose buckets bound a user's cost over `window` tightly and few at a time:
/// days for a window of up to a week (the first days of a month, the last 7 days), else
/// 32 days, whose bound is loose for a short window.
fn bounding_span(window: Range) -> i64 {
    if covering(window, DAY).len() <= MOST_DAYS {
        DAY
    } else {
        USER_SPANS[0]
    }
}

/// The buckets of `span` that `window` touches.
fn covering((start, end): Range, span: i64) -> Vec<i64> {
    let first = bucket_floor(start, span);
    (0..)
        .map(|i| first + i * span)
        .take_while(|&bucket| bucket < end)
        .collect()
}

/// One covering bucket's users, read costliest first.
struct Bucket {
    span: i64,
    bucket: i64,
    /// The cost and id where the last page stopped.
    last: Option<(i64, String)>,
    /// The next page's length.
    page: i64,
    done: bool,
}

impl Bucket {
    /// The next page's ids; marks the bucket done when it has no more.
    async fn next_page(&mut self, conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
        let after = match self.last {
            Some(_) => "AND (cost_micros < $3 OR (cost_micros = $3 AND user_id < $4))",
            None => "",
        };
        let sql = format!(
            "SELECT user_id, cost_micros FROM user_totals
             WHERE span = $1 AND bucket = $2 {after}
             ORDER BY cost_micros DESC, user_id DESC LIMIT {}",
            self.page
        );
        let mut query = sqlx::query(&sql).bind(self.span).bind(self.bucket);
        if let Some((cost, id)) = &self.last {
            query = query.bind(*cost).bind(id.clone());
        }
        let rows = query.fetch_all(&mut *conn).await?;
        self.done = rows.len() < self.page as usize;
        self.page = (2 * self.page).min(LONGEST_PAGE);
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("user_id")?;
            self.last = Some((row.try_get("cost_micros")?, id.clone()));
            ids.push(id);
        }
        Ok(ids)
    }

    /// The most an unread user of this bucket can have cost in it.
    fn bound(&self) -> i64 {
        match (&self.last, self.done) {
            (_, true) => 0,
            (Some((cost, _)), false) => *cost,
            (None, false) => i64::MAX,
        }
    }
}

/// The `n` users who cost most over `window` (with at least one generation in it),
/// costliest first, ties by id. `conn` should be in a snapshot
/// ([`crate::db::Db::begin_snapshot`]).
pub async fn costliest(
    conn: &mut AnyConnection,
    window: Range,
    n: usize,
) -> Result<Vec<UserSum>, sqlx::Error> {
    let span = bounding_span(window);
    let mut buckets: Vec<Bucket> = covering(window, span)
        .into_iter()
        .map(|bucket| Bucket {
            span,
            bucket,
            last: None,
            page: FIRST_PAGE,
            done: false,
        })
        .collect();
    let mut seen = HashSet::new();
    let mut best: Vec<UserSum> = Vec::new();
    while n > 0 && buckets.iter().any(|b| !b.done) {
        let mut unseen = Vec::new();
        for bucket in buckets.iter_mut().filter(|b| !b.done) {
            for id in bucket.next_page(conn).await? {
                if seen.insert(id.clone()) {
                    unseen.push(id);
                }
            }
        }
        best.extend(sums(conn, &unseen, window).await?);
        rank(&mut best);
        best.truncate(n);
        let bound = buckets
            .iter()
            .fold(0i64, |sum, b| sum.saturating_add(b.bound()));
        if best.len() == n && best[n - 1].cost_micros > bound {
            break;
        }
    }
    Ok(best)
}

/// The users whose cost over `window` is above `limit_micros`, costliest first, at most
/// `max`.
pub async fn over(
    conn: &mut AnyConnection,
    window: Range,
    limit_micros: i64,
    max: usize,
) -> Result<Vec<UserSum>, sqlx::Error> {
    let mut values = vec![limit_micros];
    let over = over_limit_sql(window, "$1", &mut values);
    let sql = format!(
        "SELECT * FROM ({over}) s ORDER BY cost_micros DESC, user_id LIMIT {}",
        parameter(&mut values, max as i64)
    );
    let rows = bind_all(sqlx::query(&sql), &values)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(read_sum).collect()
}

/// The sums (as [`sums_sql`]) of the users whose cost over `window` is above `limit` (an
/// SQL expression), in no order. The window's parameters follow `values`.
pub fn over_limit_sql(window: Range, limit: &str, values: &mut Vec<i64>) -> String {
    let chosen = over_candidates(window, limit, values);
    let sums = sums_sql(window, values);
    format!("{chosen} SELECT * FROM ({sums}) sums WHERE cost_micros > {limit}")
}

/// `WITH chosen AS (…)`: the users who may be over `limit` (an SQL expression) in
/// `window`. A user over it is over `limit / k` in one of the `k` buckets covering the
/// window, read from the index of each bucket's users by cost. The buckets are listed one
/// by one: over a range of buckets, the index would be read for every user of each.
fn over_candidates(window: Range, limit: &str, values: &mut Vec<i64>) -> String {
    let span = bounding_span(window);
    let buckets = covering(window, span);
    let k = parameter(values, buckets.len().max(1) as i64);
    let span = parameter(values, span);
    let listed: Vec<String> = buckets
        .into_iter()
        .map(|bucket| parameter(values, bucket))
        .collect();
    let listed = if listed.is_empty() {
        "NULL".to_owned()
    } else {
        listed.join(", ")
    };
    format!(
        "WITH chosen AS (
             SELECT DISTINCT user_id AS id FROM user_totals
             WHERE span = {span} AND bucket IN ({listed}) AND cost_micros > {limit} / {k})"
    )
}

/// Each of `ids`' sums over `window` that has a generation in it.
pub async fn sums(
    conn: &mut AnyConnection,
    ids: &[String],
    window: Range,
) -> Result<Vec<UserSum>, sqlx::Error> {
    let mut sums = Vec::with_capacity(ids.len());
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut values = Vec::new();
    let sums_of_chosen = sums_sql(window, &mut values);
    for list in id_lists_after(conn, &ids, values.len()) {
        let sql = format!(
            "WITH chosen AS (SELECT id FROM users WHERE id IN {}) {sums_of_chosen}",
            list.sql
        );
        let query = bind_all(sqlx::query(&sql), &values);
        for row in list.bind(query).fetch_all(&mut *conn).await? {
            sums.push(read_sum(&row)?);
        }
    }
    Ok(sums)
}

fn read_sum(row: &sqlx::any::AnyRow) -> Result<UserSum, sqlx::Error> {
    Ok(UserSum {
        user_id: row.try_get("user_id")?,
        generations: row.try_get("generations")?,
        cost_micros: row.try_get("cost_micros")?,
        consumed: row.try_get("consumed")?,
    })
}

/// The sums over `window` of the users of `chosen` (a `WITH` the caller puts first) that
/// have a generation in it: whole buckets from the per-user totals, the edges from the raw
/// rows (each with the credits refunded to it, which it carries: no look-up in `refunds`).
/// The parts' instants are parameters, after `values`.
fn sums_sql(window: Range, values: &mut Vec<i64>) -> String {
    let selects: Vec<String> = parts_in(&USER_SPANS, window)
        .into_iter()
        .map(|(part, sign)| match part {
            Part::Buckets { span, range: (a, b) } => {
                let [span, a, b] = [span, a, b].map(|value| parameter(values, value));
                format!(
                "SELECT user_id, {sign} * generations AS generations,
                        {sign} * cost_micros AS cost_micros, {sign} * (credits - refunded) AS consumed
                 FROM user_totals
                 WHERE user_id IN (SELECT id FROM chosen) AND span = {span}
                   AND bucket >= {a} AND bucket < {b}"
                )
            }
            Part::Raw((a, b)) => {
                let [a, b] = [a, b].map(|value| parameter(values, value));
                format!(
                "SELECT user_id, {sign}, {sign} * cost_micros,
                        {sign} * (credits - COALESCE(refunded_credits, 0))
                 FROM generations
                 WHERE user_id IN (SELECT id FROM chosen)
                   AND created_at >= {a} AND created_at < {b}"
                )
            }
        })
        .collect();
    let parts = if selects.is_empty() {
        "SELECT id AS user_id, 0 AS generations, 0 AS cost_micros, 0 AS consumed
         FROM chosen WHERE 1 = 0"
            .to_owned()
    } else {
        selects.join(" UNION ALL ")
    };
    format!(
        "SELECT user_id, CAST(SUM(generations) AS BIGINT) AS generations,
                CAST(SUM(cost_micros) AS BIGINT) AS cost_micros,
                CAST(SUM(consumed) AS BIGINT) AS consumed
         FROM ({parts}) part
         GROUP BY user_id
         HAVING SUM(generations) > 0"
    )
}

#[cfg(test)]
mod tests;
