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

const NAMED: Columns = Columns::new(&[Column::int("value"), Column::text("name")]);
const NAME: Text = NAMED.text("name");
const VALUE: Int = NAMED.int("value");

impl Figure for Named {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.once(NAMED, self.sql, &[7]);
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
            named("first", "SELECT 'first' AS name, $1 AS value"),
            named("second", "SELECT $1 + 1 AS value, 'second' AS name"),
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

/// Two kinds of row from one figure, the second with NULL in a column it declares.
const SPENT: Columns = Columns::new(&[Column::text("label"), Column::int("amount")]);
const LABEL: Text = SPENT.text("label");
const AMOUNT: Int = SPENT.int("amount");
const LIMITS: Columns = Columns::new(&[
    Column::int("daily"),
    Column::int("monthly"),
    Column::text("note"),
]);
const DAILY: Int = LIMITS.int("daily");
const MONTHLY: Int = LIMITS.int("monthly");
const NOTE: Text = LIMITS.text("note");

/// What [`TwoKinds`] read: each row's kind and values, and whether reading a row through
/// the other query's handle was refused.
type Read = Arc<Mutex<Vec<String>>>;

struct TwoKinds(Read);

impl Figure for TwoKinds {
    fn ask(&self, ask: &mut Ask<'_>) {
        ask.once(SPENT, "SELECT 'spent' AS label, 3 AS amount", &[]);
        ask.once(
            LIMITS,
            "SELECT 'limits' AS note, NULL AS monthly, $1 AS daily",
            &[10],
        );
    }

    fn fold(&mut self, row: &Row) -> Result<(), sqlx::Error> {
        let read = if row.is(SPENT) {
            let refused = row.int(DAILY).is_err();
            let label: String = row.text(LABEL)?;
            format!("{label} {} refused {refused}", row.int(AMOUNT)?)
        } else if row.is(LIMITS) {
            let refused = row.int(AMOUNT).is_err();
            let note: String = row.text(NOTE)?;
            let monthly = row.int_or_null(MONTHLY)?;
            format!("{note} {} {monthly:?} refused {refused}", row.int(DAILY)?)
        } else {
            "neither".to_owned()
        };
        self.0.lock().unwrap().push(read);
        Ok(())
    }

    fn finish(self: Box<Self>, _: &mut DashboardStats) {}
}

#[tokio::test]
async fn a_figure_tells_its_queries_rows_apart_and_reads_each_by_its_own_columns() {
    on_each_backend(|db| async move {
        let read = Read::default();
        let mut figures: Vec<Box<dyn Figure>> = vec![Box::new(TwoKinds(read.clone()))];
        run(&db, Source::Totals, &mut figures).await.unwrap();
        let mut rows = read.lock().unwrap().clone();
        rows.sort();
        assert_eq!(
            rows,
            vec!["limits 10 None refused true", "spent 3 refused true"]
        );
    })
    .await;
}

#[test]
#[should_panic(expected = "more text columns than the union has")]
fn a_declaration_of_more_texts_than_the_union_has_is_refused() {
    static TEXTS: [Column; 4] = [
        Column::text("a"),
        Column::text("b"),
        Column::text("c"),
        Column::text("d"),
    ];
    Columns::new(&TEXTS);
}

#[test]
#[should_panic(expected = "more integer columns than the union has")]
fn a_declaration_of_more_integers_than_the_union_has_is_refused() {
    static INTEGERS: [Column; 5] = [
        Column::int("a"),
        Column::int("b"),
        Column::int("c"),
        Column::int("d"),
        Column::int("e"),
    ];
    Columns::new(&INTEGERS);
}

#[test]
#[should_panic(expected = "no column of that name is declared")]
fn a_column_not_declared_has_no_handle() {
    SPENT.int("amounts");
}

#[test]
#[should_panic(expected = "the column is declared with another type")]
fn a_column_has_no_handle_of_the_other_type() {
    SPENT.text("amount");
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
