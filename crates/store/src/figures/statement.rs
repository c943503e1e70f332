//! Every figure's parts, joined by `UNION ALL` into one statement: the dashboard costs one
//! round trip to the database however its windows fall on the buckets, and one statement
//! sees one snapshot, so every figure agrees with every other.
//!
//! Each query declares the columns it gives by name and type ([`Columns`]) and selects
//! just those; [`ask`] puts them in the union's shared slots and tags each row with the
//! figure that asked for it, the query it is from, the index of its window among those
//! the figure asked for, and the sign it is to be added up with. Each row goes back to
//! that figure's [`Figure::fold`], which reads it by the query's handles ([`Row`]).

mod ask;
mod columns;
mod row;

pub(super) use crate::db::parameters::renumber;
pub(super) use ask::{Ask, Bars, Query};
pub(super) use columns::{Column, Columns, Int, Text};
pub(super) use row::Row;

use super::Figure;
use crate::db::bulk::is_postgres;
use crate::db::parameters::{anonymous, bind_all};
use crate::db::Db;
use crate::parts::Source;
use sqlx::any::AnyRow;

/// The statement being built: its parts, the values of their parameters in order, and the
/// declaration of each query its parts select, by the tag their rows come back with.
#[derive(Debug, Default)]
struct Statement {
    selects: Vec<String>,
    values: Vec<i64>,
    queries: Vec<Columns>,
}

/// Asks every figure for its parts, runs them as one statement over `source` and hands
/// each row to the figure that asked for it.
pub(super) async fn run(
    db: &Db,
    source: Source,
    figures: &mut [Box<dyn Figure>],
) -> Result<(), sqlx::Error> {
    let mut statement = Statement::default();
    for (figure, asking) in figures.iter().enumerate() {
        asking.ask(&mut Ask {
            statement: &mut statement,
            figure,
            source,
        });
    }
    for row in statement.fetch(db, source).await? {
        let row = Row::new(row, &statement.queries)?;
        let figure = figures
            .get_mut(row.figure()?)
            .ok_or_else(|| sqlx::Error::Decode("a row of no figure".into()))?;
        figure.fold(&row)?;
    }
    Ok(())
}

impl Statement {
    /// The tag of the rows of a query that selects `columns`.
    fn query_tag(&mut self, columns: Columns) -> usize {
        match self.queries.iter().position(|query| *query == columns) {
            Some(tag) => tag,
            None => {
                self.queries.push(columns);
                self.queries.len() - 1
            }
        }
    }

    async fn fetch(&self, db: &Db, source: Source) -> Result<Vec<AnyRow>, sqlx::Error> {
        if db.is_sqlite() || source == Source::RawRows {
            return self.fetch_on(&mut *db.pool.acquire().await?).await;
        }
        // PostgreSQL would plan the statement's many small parts as a parallel append, and
        // starting its workers takes longer than reading the few thousand rows. Planning
        // the parts for each call's values took longer than running them, so the plan is
        // made once per connection, without the values: every part reads a range of an
        // index whatever its bounds. Such a plan's cost, guessed without the values, passes
        // `jit_above_cost`, and compiling it is slow. The trend's pieces, joined to the
        // totals by ranges whose values the plan does not know, would be hashed against a
        // scan of every total instead of read a piece at a time through the index: the
        // statement's only joins are those, so hash and merge joins are off for it.
        // Sent with BEGIN in one message: no round trip of its own.
        let mut tx = db
            .pool
            .begin_with(
                "BEGIN READ ONLY; SET LOCAL max_parallel_workers_per_gather = 0;
                 SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL jit = off;
                 SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off",
            )
            .await?;
        let rows = self.fetch_on(&mut tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn fetch_on(&self, conn: &mut sqlx::AnyConnection) -> Result<Vec<AnyRow>, sqlx::Error> {
        let sql = self.selects.join(" UNION ALL ");
        if is_postgres(conn) {
            return bind_all(sqlx::query(&sql), &self.values)
                .fetch_all(conn)
                .await;
        }
        let (sql, values) = anonymous(&sql, &self.values)?;
        bind_all(sqlx::query(&sql), &values).fetch_all(conn).await
    }
}

#[cfg(test)]
mod tests;
