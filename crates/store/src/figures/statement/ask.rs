//! How a figure adds its parts to the statement. Each part is the figure's SQL wrapped as
//! `SELECT tags, part.column, … FROM (sql) part`: the tags say which figure, query, window
//! and sign the row is for, and each declared column goes to its slot of the union
//! ([`super::columns`]), integers cast to BIGINT (PostgreSQL's `SUM` gives NUMERIC, and
//! each slot of a UNION has one type), the slots it does not declare NULL.

use super::columns::{Columns, Kind};
use super::renumber;
use super::Statement;
use crate::parts::Source;
use crate::parts::{parts, Part};
use model::windows::Window;

/// A figure's SQL over one window, from the raw rows (parameters `$1` start, `$2` end) and
/// from the running totals (`$1` start, `$2` end, `$3` span), each selecting `columns`.
#[derive(Clone, Copy, Debug)]
pub(in crate::figures) struct Query {
    pub columns: Columns,
    pub raw_rows: &'static str,
    pub totals: &'static str,
}

/// A figure's SQL over many windows at once (a chart's bars), each selecting `columns` and
/// `bar`, the window's index, from the table `piece(start_micros, end_micros, span, bar,
/// sign)`: the pieces of every window, each to be added up (sign 1) or taken away (-1).
/// `from_totals` reads the totals of the buckets of `span` from `start_micros` to
/// `end_micros`, `from_raw_rows` the rows created in that time (`span` 0). A row counts
/// with sign 1: the SQL applies the pieces' signs itself.
#[derive(Clone, Copy, Debug)]
pub(in crate::figures) struct Bars {
    pub columns: Columns,
    pub from_totals: &'static str,
    pub from_raw_rows: &'static str,
}

/// What a figure adds its parts to the statement with; its rows come back tagged with it.
pub(in crate::figures) struct Ask<'a> {
    pub(super) statement: &'a mut Statement,
    pub(super) figure: usize,
    pub(super) source: Source,
}

impl Ask<'_> {
    /// Where the figures are computed from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Adds `sql`, selecting `columns`, with its parameters `$1`, `$2`, … bound to
    /// `values`: the figure's only window.
    pub fn once(&mut self, columns: Columns, sql: &str, values: &[i64]) {
        let sql = renumber(sql, self.statement.values.len());
        self.push(columns, "0", 1, &sql, values);
    }

    /// Adds `query` over each of `windows`: the raw rows or the totals of each of the
    /// window's [`parts`].
    pub fn windows(&mut self, windows: &[Window], query: Query) {
        for (index, &window) in windows.iter().enumerate() {
            for (part, sign) in parts(self.source, window) {
                let (sql, values) = match part {
                    Part::Buckets { span, range } => (query.totals, vec![range.0, range.1, span]),
                    Part::Raw(range) => (query.raw_rows, vec![range.0, range.1]),
                };
                let sql = renumber(sql, self.statement.values.len());
                self.push(query.columns, &index.to_string(), sign, &sql, &values);
            }
        }
    }

    /// Adds `bars` over every one of `windows` in at most two parts however many there
    /// are: the pieces of all windows to be read from the totals as one `VALUES` list
    /// joined to them, and the raw ones as another. A chart's hundreds of bars so cost two
    /// parts of the statement, not hundreds.
    pub fn bars(&mut self, windows: &[Window], bars: Bars) {
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
        for (sql, pieces) in [
            (bars.from_totals, from_totals),
            (bars.from_raw_rows, from_rows),
        ] {
            if pieces.is_empty() {
                continue;
            }
            let sql = format!(
                "WITH piece(start_micros, end_micros, span, bar, sign) AS (VALUES {}) {sql}",
                values_list(self.statement.values.len(), pieces.len())
            );
            let values: Vec<i64> = pieces.into_iter().flatten().collect();
            self.push(bars.columns, "part.bar", 1, &sql, &values);
        }
    }

    /// Adds `sql`, selecting `columns`, with its parameters (numbered for their place after
    /// those before it) bound to `values` and its rows tagged with the window (an SQL
    /// expression) and `sign`.
    fn push(&mut self, columns: Columns, window: &str, sign: i64, sql: &str, values: &[i64]) {
        let query = self.statement.query_tag(columns);
        let mut list = vec![
            format!("CAST({} AS BIGINT)", self.figure),
            format!("CAST({query} AS BIGINT)"),
            format!("CAST({window} AS BIGINT)"),
            format!("CAST({sign} AS BIGINT)"),
        ];
        list.extend(columns.slots().map(|slot| match slot {
            (Kind::Text, Some(name)) => format!("part.{name}"),
            (Kind::Int, Some(name)) => format!("CAST(part.{name} AS BIGINT)"),
            (Kind::Text, None) => "CAST(NULL AS TEXT)".to_owned(),
            (Kind::Int, None) => "CAST(NULL AS BIGINT)".to_owned(),
        }));
        let statement = &mut *self.statement;
        statement
            .selects
            .push(format!("SELECT {} FROM ({sql}) part", list.join(", ")));
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
