//! Values bound to a statement assembled at run time (a search or a filtered, sorted page): the
//! text is built once with numbered placeholders, and the values are bound in order on either
//! database.

use sqlx::{query::QueryAs, Database, Encode, Type};

/// One bound value.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// Adds `value` to `binds`; returns its placeholder (`$1`, `$2`, …).
pub fn placeholder(binds: &mut Vec<Bind>, value: Bind) -> String {
    binds.push(value);
    format!("${}", binds.len())
}

/// Binds every value of `binds` to `q`, in placeholder order.
pub fn apply<'q, DB, O>(
    mut q: QueryAs<'q, DB, O, <DB as Database>::Arguments<'q>>,
    binds: &'q [Bind],
) -> QueryAs<'q, DB, O, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t.as_str()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}
