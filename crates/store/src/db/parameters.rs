//! Values as numbered parameters (`$1`, `$2`, …) rather than written into the SQL: a
//! statement's text then stays the same from one window to the next, so that each
//! connection parses and plans it once, not on every request.

use super::bulk::Query;
use std::convert::Infallible;

/// `$n` for `value`, the `n`th of a statement's `values`.
pub fn parameter(values: &mut Vec<i64>, value: i64) -> String {
    values.push(value);
    format!("${}", values.len())
}

/// `query` with `values` bound in order.
pub fn bind_all<'q>(mut query: Query<'q>, values: &[i64]) -> Query<'q> {
    for &value in values {
        query = query.bind(value);
    }
    query
}

/// `sql` with each numbered parameter (`$n`) replaced by what `with` makes of `n`. A `$`
/// not followed by digits stays as it is.
fn replace_each<E>(
    sql: &str,
    mut with: impl FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match digits {
            0 => out.push('$'),
            _ => out.push_str(&with(&rest[..digits])?),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `sql` with its parameters `$1`, `$2`, … renumbered from `$(offset + 1)`, for its place
/// after `offset` parameters of a larger statement.
pub fn renumber(sql: &str, offset: usize) -> String {
    let renumbered: Result<String, Infallible> = replace_each(sql, |n| {
        // Only a number too large for `usize` fails to parse: it is left as it is.
        Ok(match n.parse::<usize>() {
            Ok(n) => format!("${}", n + offset),
            Err(_) => format!("${n}"),
        })
    });
    renumbered.unwrap_or_else(|never| match never {})
}

/// `sql` with each numbered parameter (`$n`) written as an anonymous one (`?`), and the
/// values they take in the order they appear: for SQLite, which looks a numbered parameter
/// up by name along all of them, when it parses the statement and when each is bound, so
/// that a statement of thousands (a chart's pieces) would cost their number squared.
pub fn anonymous(sql: &str, values: &[i64]) -> Result<(String, Vec<i64>), sqlx::Error> {
    let mut in_order = Vec::with_capacity(values.len());
    let sql = replace_each(sql, |n| {
        let value = n
            .parse::<usize>()
            .ok()
            .and_then(|n| values.get(n.checked_sub(1)?))
            .ok_or_else(|| sqlx::Error::Protocol(format!("${n} has no value")))?;
        in_order.push(*value);
        Ok::<_, sqlx::Error>("?".to_owned())
    })?;
    Ok((sql, in_order))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_anonymous_in_the_order_they_appear() {
        let (sql, values) =
            anonymous("a = $2 AND b < $1 AND c > $2 AND '$' = d$", &[10, 20]).unwrap();
        assert_eq!(sql, "a = ? AND b < ? AND c > ? AND '$' = d$");
        assert_eq!(values, vec![20, 10, 20]);
        assert!(anonymous("a = $3", &[1, 2]).is_err());
        assert!(anonymous("a = $0", &[1]).is_err());
    }
}
