//! Many rows, or many ids, in few statements, the way each backend takes them fastest.
//!
//! SQLite, in process, binds parameters cheaply: multi-row `VALUES` and `IN (?, ?, …)`
//! lists, as long as its parameter limit allows. PostgreSQL gets one array per column
//! (`unnest`), each bound as its text form because `Any` binds no arrays: the statement's
//! text is then the same for any number of rows, so it is prepared once per connection,
//! where a `VALUES` list of 10,000 parameters is parsed, planned and described anew for
//! every length.

use sqlx::any::AnyArguments;
use sqlx::AnyConnection;
use std::fmt::Write as _;

pub type Query<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>>;

/// Bound parameters per SQLite statement, under its limit of 32,766.
const MAX_PARAMETERS: usize = 10_000;

/// One value of a row to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl From<i64> for Cell<'_> {
    fn from(value: i64) -> Self {
        Cell::Int(Some(value))
    }
}

impl From<Option<i64>> for Cell<'_> {
    fn from(value: Option<i64>) -> Self {
        Cell::Int(value)
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(value: &'a str) -> Self {
        Cell::Text(Some(value))
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Cell::Text(value)
    }
}

/// Whether `conn` is to PostgreSQL (else SQLite).
pub fn is_postgres(conn: &AnyConnection) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// `INSERT INTO table (columns) … tail` for every row, `cells` giving each row's values in
/// the order of `columns`.
pub async fn insert_rows<T, const N: usize>(
    conn: &mut AnyConnection,
    table: &str,
    columns: [&str; N],
    tail: &str,
    rows: &[T],
    cells: impl for<'r> Fn(&'r T) -> [Cell<'r>; N],
) -> Result<(), sqlx::Error> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let head = format!("INSERT INTO {table} ({})", columns.join(", "));
    if is_postgres(conn) {
        // One array per column, each bound as its text form (`Any` binds no arrays).
        let mut arrays: Vec<String> = vec![String::from("{"); N];
        for (i, row) in rows.iter().enumerate() {
            for (array, cell) in arrays.iter_mut().zip(cells(row)) {
                if i > 0 {
                    array.push(',');
                }
                write_array_element(array, cell);
            }
        }
        // `unnest` once per column in the select list, where the arrays are read in step
        // row by row; `FROM unnest(a, b, …)` first copies all the rows into a tuplestore,
        // which spills to a temporary file past `work_mem`.
        let unnest: Vec<String> = cells(first)
            .iter()
            .enumerate()
            .map(|(i, cell)| match cell {
                Cell::Int(_) => format!("unnest(CAST(${} AS BIGINT[]))", i + 1),
                Cell::Text(_) => format!("unnest(CAST(${} AS TEXT[]))", i + 1),
            })
            .collect();
        let sql = format!("{head} SELECT {} {tail}", unnest.join(", "));
        let mut query = sqlx::query(&sql);
        for mut array in arrays {
            array.push('}');
            query = query.bind(array);
        }
        query.execute(&mut *conn).await?;
    } else {
        let row = format!("({})", vec!["?"; N].join(", "));
        for chunk in rows.chunks(MAX_PARAMETERS / N) {
            let sql = format!(
                "{head} VALUES {} {tail}",
                vec![&*row; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                for cell in cells(row) {
                    query = match cell {
                        Cell::Int(value) => query.bind(value),
                        Cell::Text(value) => query.bind(value),
                    };
                }
            }
            query.execute(&mut *conn).await?;
        }
    }
    super::profile::add(|| format!("write {table}"), started);
    Ok(())
}

/// An element of a PostgreSQL array's text form: a number, `NULL`, or a quoted string.
fn write_array_element(array: &mut String, cell: Cell<'_>) {
    match cell {
        Cell::Int(Some(value)) => {
            let _ = write!(array, "{value}");
        }
        Cell::Text(Some(text)) => {
            array.push('"');
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    array.push('\\');
                }
                array.push(c);
            }
            array.push('"');
        }
        Cell::Int(None) | Cell::Text(None) => array.push_str("NULL"),
    }
}

/// A list of ids for `column IN <list>`: [`IdList::sql`] follows `IN`, and [`IdList::bind`]
/// binds the ids, after the parameters numbered before them ([`id_lists_after`]).
pub struct IdList<'a> {
    pub sql: String,
    ids: &'a [&'a str],
    form: ListForm,
}

/// How a list's ids are bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListForm {
    /// One PostgreSQL array, as its text.
    Array,
    /// One JSON array, read by SQLite's `json_each`.
    Json,
    /// One parameter each.
    EachId,
}

impl<'a> IdList<'a> {
    pub fn bind<'q>(&self, mut query: Query<'q>) -> Query<'q>
    where
        'a: 'q,
    {
        match self.form {
            ListForm::Array => {
                let mut array = String::from("{");
                for (i, id) in self.ids.iter().enumerate() {
                    if i > 0 {
                        array.push(',');
                    }
                    write_array_element(&mut array, Cell::Text(Some(id)));
                }
                array.push('}');
                query.bind(array)
            }
            ListForm::Json => query.bind(serde_json::Value::from(self.ids).to_string()),
            ListForm::EachId => {
                for id in self.ids {
                    query = query.bind(*id);
                }
                query
            }
        }
    }
}

/// `ids` as the fewest lists the backend takes: one on PostgreSQL. The lists are the
/// statement's only parameters.
pub fn id_lists<'a>(conn: &AnyConnection, ids: &'a [&'a str]) -> Vec<IdList<'a>> {
    if ids.is_empty() {
        return Vec::new();
    }
    if is_postgres(conn) {
        return id_lists_after(conn, ids, 0);
    }
    ids.chunks(MAX_PARAMETERS)
        .map(|chunk| IdList {
            sql: format!("({})", vec!["?"; chunk.len()].join(", ")),
            ids: chunk,
            form: ListForm::EachId,
        })
        .collect()
}

/// `ids` as one list, in a statement whose numbered parameters `$1` to `$before` come
/// first: one array, so that the statement's text is the same for any number of ids (on
/// SQLite a JSON array, as numbered parameters are looked up by name one after another).
pub fn id_lists_after<'a>(
    conn: &AnyConnection,
    ids: &'a [&'a str],
    before: usize,
) -> Vec<IdList<'a>> {
    if ids.is_empty() {
        return Vec::new();
    }
    let at = before + 1;
    let (sql, form) = if is_postgres(conn) {
        (
            format!("(SELECT unnest(CAST(${at} AS TEXT[])))"),
            ListForm::Array,
        )
    } else {
        (
            format!("(SELECT value FROM json_each(${at}))"),
            ListForm::Json,
        )
    };
    vec![IdList { sql, ids, form }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::on_each_backend;
    use sqlx::Row;

    #[tokio::test]
    async fn every_row_and_id_goes_through_unchanged_on_both_backends() {
        on_each_backend(|db| async move {
            let mut conn = db.writer().acquire().await.unwrap();
            sqlx::query("CREATE TABLE bulk_test (id TEXT PRIMARY KEY, n BIGINT, note TEXT)")
                .execute(&mut *conn)
                .await
                .unwrap();
            // More rows than one SQLite statement takes, and values that need care in JSON.
            let awkward = [
                "it's \"quoted\"",
                "back\\slash",
                "tab\tnew\nline",
                "ünï €🙂",
                "[1,2]",
            ];
            let rows: Vec<(String, Option<i64>, Option<&str>)> = (0..12_345)
                .map(|i| {
                    let n = match i % 4 {
                        0 => Some(i64::MIN),
                        1 => Some(i64::MAX),
                        2 => None,
                        _ => Some(i as i64 - 6_000),
                    };
                    let note = (i % 6 != 5).then(|| awkward[i % 5]);
                    (format!("id-{i}"), n, note)
                })
                .collect();
            insert_rows(
                &mut conn,
                "bulk_test",
                ["id", "n", "note"],
                "",
                &rows,
                |(id, n, note)| [id.as_str().into(), (*n).into(), (*note).into()],
            )
            .await
            .unwrap();
            // An upsert's tail applies to every row.
            insert_rows(
                &mut conn,
                "bulk_test",
                ["id", "n", "note"],
                "ON CONFLICT (id) DO UPDATE SET note = excluded.note",
                &rows[..2],
                |(id, n, _)| [id.as_str().into(), (*n).into(), "changed".into()],
            )
            .await
            .unwrap();

            let ids: Vec<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
            let mut read = Vec::new();
            for list in id_lists(&conn, &ids) {
                let sql = format!("SELECT id, n, note FROM bulk_test WHERE id IN {}", list.sql);
                for row in list
                    .bind(sqlx::query(&sql))
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap()
                {
                    let id: String = row.get(0);
                    let n: Option<i64> = row.get(1);
                    let note: Option<String> = row.get(2);
                    read.push((id, n, note));
                }
            }
            // After a numbered parameter of its own statement, in one list.
            let sql = "SELECT id, n, note FROM bulk_test WHERE $1 = 7 AND id IN ";
            for list in id_lists_after(&conn, &ids, 1) {
                let sql = format!("{sql}{}", list.sql);
                let query = sqlx::query(&sql).bind(7i64);
                for row in list.bind(query).fetch_all(&mut *conn).await.unwrap() {
                    read.push((row.get(0), row.get(1), row.get(2)));
                }
            }
            read.sort();
            let mut expected: Vec<(String, Option<i64>, Option<String>)> = rows
                .iter()
                .map(|(id, n, note)| (id.clone(), *n, note.map(str::to_owned)))
                .collect();
            expected[0].2 = Some("changed".into());
            expected[1].2 = Some("changed".into());
            // Once through each way of listing them.
            let mut expected: Vec<_> = expected
                .into_iter()
                .flat_map(|row| [row.clone(), row])
                .collect();
            expected.sort();
            assert_eq!(read, expected);
            assert!(id_lists(&conn, &[]).is_empty());
        })
        .await;
    }
}
