//! What a query gives, declared by name and type, and the slot of the union each column
//! lands in: the tags the builder adds, then [`TEXTS`] texts, then [`INTEGERS`] integers.
//! A query's texts fill the text slots in the order it declares them, its integers the
//! integer slots; the rest are NULL.
//!
//! A figure reads a column through a handle found by its name ([`Columns::text`],
//! [`Columns::int`]). Both are `const fn`: in a `const`, a name the query does not
//! declare, or declares with the other type, fails to compile, and so does a declaration
//! with more texts or integers than the union has slots ([`Columns::new`]).

/// The tags before every part's own columns.
pub(super) const FIGURE: usize = 0;
/// Which query of the statement's the row is from ([`super::Statement::query_tag`]).
pub(super) const QUERY: usize = 1;
pub(super) const WINDOW: usize = 2;
pub(super) const SIGN: usize = 3;
const FIRST_TEXT: usize = SIGN + 1;
/// How many texts and integers the union has room for.
const TEXTS: usize = 3;
const INTEGERS: usize = 4;
const FIRST_INTEGER: usize = FIRST_TEXT + TEXTS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Int,
}

impl Kind {
    const fn is(self, other: Kind) -> bool {
        self as u8 == other as u8
    }

    const fn first_slot(self) -> usize {
        match self {
            Kind::Text => FIRST_TEXT,
            Kind::Int => FIRST_INTEGER,
        }
    }
}

/// A column a query gives: its SQL selects it `AS` this name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::figures) struct Column {
    name: &'static str,
    kind: Kind,
}

impl Column {
    /// A TEXT column (NULL allowed where read as `Option`).
    pub const fn text(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::Text,
        }
    }

    /// An integer column, read as `i64` (the builder casts it to BIGINT).
    pub const fn int(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::Int,
        }
    }
}

/// The columns a query gives. Its rows are told from another query's by these: two
/// queries with the same declaration give the same kind of row.
#[derive(Clone, Copy, Debug, Eq)]
pub(in crate::figures) struct Columns(&'static [Column]);

impl PartialEq for Columns {
    fn eq(&self, other: &Columns) -> bool {
        // Mostly the same constant: compared on every read of a column.
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Columns {
    /// `columns`, if the union has a slot for each and each name is a distinct lowercase
    /// SQL name (the builder writes `part.name`).
    pub const fn new(columns: &'static [Column]) -> Columns {
        assert!(
            count(columns, Kind::Text) <= TEXTS,
            "more text columns than the union has"
        );
        assert!(
            count(columns, Kind::Int) <= INTEGERS,
            "more integer columns than the union has"
        );
        let mut i = 0;
        while i < columns.len() {
            assert!(
                is_name(columns[i].name),
                "a column name is [a-z_][a-z0-9_]*"
            );
            let mut j = i + 1;
            while j < columns.len() {
                assert!(
                    !same(columns[i].name, columns[j].name),
                    "a name declared twice"
                );
                j += 1;
            }
            i += 1;
        }
        Columns(columns)
    }

    /// The text column `name`.
    pub const fn text(self, name: &'static str) -> Text {
        Text(self.handle(name, Kind::Text))
    }

    /// The integer column `name`.
    pub const fn int(self, name: &'static str) -> Int {
        Int(self.handle(name, Kind::Int))
    }

    const fn handle(self, name: &'static str, kind: Kind) -> Handle {
        let mut before = 0;
        let mut i = 0;
        while i < self.0.len() {
            let column = self.0[i];
            if same(column.name, name) {
                assert!(
                    column.kind.is(kind),
                    "the column is declared with another type"
                );
                return Handle {
                    slot: kind.first_slot() + before,
                    name,
                    of: self,
                };
            }
            if column.kind.is(kind) {
                before += 1;
            }
            i += 1;
        }
        panic!("no column of that name is declared")
    }

    /// Every text slot, then every integer slot, with the name of the column that fills it
    /// (`None`: NULL).
    pub(super) fn slots(self) -> impl Iterator<Item = (Kind, Option<&'static str>)> {
        let of_kind = move |kind: Kind, slots: usize| {
            let mut names = self
                .0
                .iter()
                .filter(move |c| c.kind == kind)
                .map(|c| c.name);
            (0..slots).map(move |_| (kind, names.next()))
        };
        of_kind(Kind::Text, TEXTS).chain(of_kind(Kind::Int, INTEGERS))
    }
}

/// Where a declared column lands, and which declaration it belongs to.
#[derive(Clone, Copy, Debug)]
pub(super) struct Handle {
    pub slot: usize,
    pub name: &'static str,
    pub of: Columns,
}

/// A text column of a query, read with `Row::text`.
#[derive(Clone, Copy, Debug)]
pub(in crate::figures) struct Text(pub(super) Handle);

/// An integer column of a query, read with `Row::int`.
#[derive(Clone, Copy, Debug)]
pub(in crate::figures) struct Int(pub(super) Handle);

const fn count(columns: &[Column], kind: Kind) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < columns.len() {
        if columns[i].kind.is(kind) {
            n += 1;
        }
        i += 1;
    }
    n
}

/// `a == b`, which `str` has no `const` form of.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes[0].is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    true
}
