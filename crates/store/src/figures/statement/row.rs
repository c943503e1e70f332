//! A row of the statement as its figure reads it: its window and sign, which query it is
//! from, and its columns by the handles of that query's declaration.

use super::columns::{Columns, Handle, Int, Text, FIGURE, QUERY, SIGN, WINDOW};
use sqlx::any::AnyRow;
use sqlx::Row as _;

pub(in crate::figures) struct Row {
    row: AnyRow,
    /// The declaration of the query it is from.
    columns: Columns,
}

impl Row {
    /// `row`, from the query its tag names among `queries`.
    pub(super) fn new(row: AnyRow, queries: &[Columns]) -> Result<Row, sqlx::Error> {
        let columns = *queries
            .get(index(row.try_get(QUERY)?)?)
            .ok_or_else(|| sqlx::Error::Decode("a row of no query".into()))?;
        Ok(Row { row, columns })
    }

    /// Whether the row is from a query that declares `columns`.
    pub fn is(&self, columns: Columns) -> bool {
        self.columns == columns
    }

    /// The index of the row's window among the windows its figure asked for.
    pub fn window(&self) -> Result<usize, sqlx::Error> {
        index(self.row.try_get(WINDOW)?)
    }

    /// 1 to add the row up, -1 to take it away.
    pub fn sign(&self) -> Result<i64, sqlx::Error> {
        self.row.try_get(SIGN)
    }

    pub fn text<T>(&self, column: Text) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.row.try_get(self.slot(column.0)?)
    }

    pub fn int(&self, column: Int) -> Result<i64, sqlx::Error> {
        self.row.try_get(self.slot(column.0)?)
    }

    pub fn int_or_null(&self, column: Int) -> Result<Option<i64>, sqlx::Error> {
        self.row.try_get(self.slot(column.0)?)
    }

    pub(super) fn figure(&self) -> Result<usize, sqlx::Error> {
        index(self.row.try_get(FIGURE)?)
    }

    /// The slot of `handle`, if it is a column of the row's own query: a handle of another
    /// query's would read whatever that one put in the same slot.
    fn slot(&self, handle: Handle) -> Result<usize, sqlx::Error> {
        if handle.of != self.columns {
            let message = format!("`{}` read from a row of another query", handle.name);
            return Err(sqlx::Error::Decode(message.into()));
        }
        Ok(handle.slot)
    }
}

fn index(tag: i64) -> Result<usize, sqlx::Error> {
    usize::try_from(tag).map_err(|_| sqlx::Error::Decode("a negative tag".into()))
}
