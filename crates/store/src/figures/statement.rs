//! Every figure's parts, joined by `UNION ALL` into one statement: the dashboard costs one
//! round trip to the database however its windows fall on the buckets, and one statement
//! sees one snapshot, so every figure agrees with every other.
//!
//! A part is a `SELECT` of the same seven columns as every other, three texts then four
//! integers (NULL where it has fewer), read through [`Text`] and [`Int`]. Each row comes
//! back tagged with the figure that asked for it, the index of its window among those the
//! figure asked for, and the sign it is to be added up with, and goes to that figure's
//! [`Figure::fold`].

use super::parts::{parts, Part};
use super::{Figure, Source};
use crate::db::bulk::is_postgres;
pub(super) use crate::db::parameters::renumber;
use crate::db::parameters::{anonymous, bind_all};
use crate::db::Db;
use model::windows::Window;
use sqlx::any::AnyRow;
use sqlx::Row as _;

/// A figure's SQL over one window, from the raw rows (parameters `$1` start, `$2` end) and
/// from the running totals (`$1` start, `$2` end, `$3` span), each giving the seven columns.
#[derive(Clone, Copy, Debug)]
pub(super) struct Query {
    pub raw_rows: &'static str,
    pub totals: &'static str,
}

/// The tag columns that come before a part's own.
const FIGURE: usize = 0;
const WINDOW: usize = 1;
const SIGN: usize = 2;
/// How many texts and integers every part gives, and where they start.
const TEXTS: usize = 3;
const INTEGERS: usize = 4;
const FIRST_TEXT: usize = SIGN + 1;
const FIRST_INTEGER: usize = FIRST_TEXT + TEXTS;

/// One of a part's three text columns (NULL allowed where read as `Option`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Text(usize);

impl Text {
    /// The `n`th text column, from 0; out of range fails to compile in a `const`.
    pub const fn column(n: usize) -> Text {
        assert!(n < TEXTS, "a part has three text columns");
        Text(FIRST_TEXT + n)
    }
}

/// One of a part's four integer columns.
#[derive(Clone, Copy, Debug)]
pub(super) struct Int(usize);

impl Int {
    /// The `n`th integer column, from 0; out of range fails to compile in a `const`.
    pub const fn column(n: usize) -> Int {
        assert!(n < INTEGERS, "a part has four integer columns");
        Int(FIRST_INTEGER + n)
    }
}

/// A row of the statement, handed to the figure that asked for it.
pub(super) struct Row(AnyRow);

impl Row {
    /// The index of the row's window among the windows its figure asked for.
    pub fn window(&self) -> Result<usize, sqlx::Error> {
        index(self.0.try_get(WINDOW)?)
    }

    /// 1 to add the row up, -1 to take it away.
    pub fn sign(&self) -> Result<i64, sqlx::Error> {
        self.0.try_get(SIGN)
    }

    pub fn text<T>(&self, column: Text) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.0.try_get(column.0)
    }

    pub fn int(&self, column: Int) -> Result<i64, sqlx::Error> {
        self.0.try_get(column.0)
    }

    pub fn int_or_null(&self, column: Int) -> Result<Option<i64>, sqlx::Error> {
        self.0.try_get(column.0)
    }

    fn figure(&self) -> Result<usize, sqlx::Error> {
        index(self.0.try_get(FIGURE)?)
    }
}

fn index(tag: i64) -> Result<usize, sqlx::Error> {
    usize::try_from(tag).map_err(|_| sqlx::Error::Decode("a negative tag".into()))
}

/// The statement being built: its parts and the values of their parameters, in order.
#[derive(Debug, Default)]
struct Statement {
    selects: Vec<String>,
    values: Vec<i64>,
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
        let row = Row(row);
        let figure = figures
            .get_mut(row.figure()?)
            .ok_or_else(|| sqlx::Error::Decode("a row of no figure".into()))?;
        figure.fold(&row)?;
    }
    Ok(())
}

/// What a figure adds its parts to the statement with; its rows come back tagged with it.
pub(super) struct Ask<'a> {
    statement: &'a mut Statement,
    figure: usize,
    source: Source,
}

impl Ask<'_> {
    /// Where the figures are computed from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Adds `sql` as it is, with its parameters `$1`, `$2`, … bound to `values`: the
    /// figure's only window.
    pub fn once(&mut self, sql: &str, values: &[i64]) {
        self.part(0, 1, sql, values);
    }

    /// Adds `query` over each of `windows`: the raw rows or the totals of each of the
    /// window's [`parts`].
    pub fn windows(&mut self, windows: &[Window], query: Query) {
        for (index, &window) in windows.iter().enumerate() {
            for (part, sign) in parts(self.source, window) {
                match part {
                    Part::Buckets { span, range } => {
                        self.part(index, sign, query.totals, &[range.0, range.1, span])
                    }
                    Part::Raw(range) => self.part(index, sign, query.raw_rows, &[range.0, range.1]),
                }
            }
        }
    }

    /// Adds `query` over every one of `windows` in at most two parts however many there
    /// are: the pieces of all windows to be read from the totals as one `VALUES` list
    /// joined to them (`query.totals`), and the raw ones as another (`query.raw_rows`).
    /// A chart's hundreds of bars so cost two parts of the statement, not hundreds.
    ///
    /// Here the SQL gives the tag columns itself: `{figure}` is replaced by the figure's tag
    /// and `{pieces}` by the list, whose rows are `(start, end, span, window, sign)`.
    pub fn bars(&mut self, windows: &[Window], query: Query) {
        let mut from_totals = Vec::new();
        let mut from_rows = Vec::new();
        for (index, &window) in windows.iter().enumerate() {
            for (part, sign) in parts(self.source, window) {
                match part {
                    Part::Buckets { span, range } => {
                        from_totals.push([range.0, range.1, span, index as i64, sign])
                    }
                    Part::Raw(range) => from_rows.push([range.0, range.1, 0, index as i64, sign]),
                }
            }
        }
        for (sql, pieces) in [(query.totals, from_totals), (query.raw_rows, from_rows)] {
            if pieces.is_empty() {
                continue;
            }
            let statement = &mut *self.statement;
            let list = values_list(statement.values.len(), pieces.len());
            statement.selects.push(
                sql.replace("{figure}", &self.figure.to_string())
                    .replace("{pieces}", &list),
            );
            statement.values.extend(pieces.into_iter().flatten());
        }
    }

    /// Adds `sql` with its parameters `$1`, `$2`, … bound to `values`, its rows tagged with
    /// the window's `index` and `sign`.
    fn part(&mut self, index: usize, sign: i64, sql: &str, values: &[i64]) {
        let statement = &mut *self.statement;
        statement.selects.push(format!(
            "SELECT CAST({} AS BIGINT), CAST({index} AS BIGINT), CAST({sign} AS BIGINT), part.*
             FROM ({}) part",
            self.figure,
            renumber(sql, statement.values.len())
        ));
        statement.values.extend_from_slice(values);
    }
}

/// `($n, $n+1, … $n+4), …`: `rows` rows of five parameters, from `$(first + 1)`.
fn values_list(first: usize, rows: usize) -> String {
    let list: Vec<String> = (0..rows)
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
    list.join(", ")
}

impl Statement {
    async fn fetch(self, db: &Db, source: Source) -> Result<Vec<AnyRow>, sqlx::Error> {
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

    async fn fetch_on(self, conn: &mut sqlx::AnyConnection) -> Result<Vec<AnyRow>, sqlx::Error> {
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
mod tests {
    use super::*;
    use crate::db::testing::on_each_backend;
    use model::dashboard::DashboardStats;
    use std::sync::{Arc, Mutex};

    /// Each row as (the figure it went to, the name it says, its value).
    type Landed = Arc<Mutex<Vec<(&'static str, String, i64)>>>;

    /// Asks for rows that say which figure they are meant for, and notes where they land.
    struct Named {
        name: &'static str,
        sql: &'static str,
        landed: Landed,
    }

    const NAME: Text = Text::column(0);
    const VALUE: Int = Int::column(3);

    impl Figure for Named {
        fn ask(&self, ask: &mut Ask<'_>) {
            ask.once(self.sql, &[7]);
        }

        fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
            let landed = (self.name, row.text(NAME)?, row.int(VALUE)?);
            self.landed.lock().unwrap().push(landed);
            Ok(())
        }

        fn finish(self: Box<Self>, _: &mut DashboardStats) {}
    }

    #[tokio::test]
    async fn each_row_goes_back_to_the_figure_that_asked_for_it() {
        on_each_backend(|db| async move {
            let landed = Landed::default();
            let named = |name: &'static str, sql: &'static str| -> Box<dyn Figure> {
                Box::new(Named {
                    name,
                    sql,
                    landed: landed.clone(),
                })
            };
            let mut figures = vec![
                named(
                    "first",
                    "SELECT 'first', CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT),
                            CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST($1 AS BIGINT)",
                ),
                named(
                    "second",
                    "SELECT 'second', CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT),
                            CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST($1 + 1 AS BIGINT)",
                ),
            ];
            for source in [Source::Totals, Source::RawRows] {
                landed.lock().unwrap().clear();
                run(&db, source, &mut figures).await.unwrap();
                let mut rows = landed.lock().unwrap().clone();
                rows.sort();
                assert_eq!(
                    rows,
                    vec![("first", "first".into(), 7), ("second", "second".into(), 8)]
                );
            }
        })
        .await;
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
}
