//! How named values are stored: the run vocabulary (`crate::build`) and the dependency method,
//! as their names in text columns whose check constraints list them; JSON columns as typed
//! values. Reading a name or document Duro does not know is an error naming it.

use crate::build::{BuildOutcome, FailureClass};
use crate::catalog::KindName;
use crate::sql::DependencyMethod;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! stored_by_name {
    ($type:ty) => {
        impl ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $type {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str()?.parse().map_err(|error| FromSqlError::Other(Box::new(error)))
            }
        }
    };
}

stored_by_name!(BuildOutcome);
stored_by_name!(FailureClass);
stored_by_name!(DependencyMethod);
stored_by_name!(KindName);

/// A column holding JSON, read as `T`; a document that does not fit is an error.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row,
    index: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stored_and_read_back() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for class in FailureClass::ALL {
            let back: FailureClass = db.query_row("select ?1", [class], |row| row.get(0)).unwrap();
            assert_eq!(back, *class);
        }
        let unknown = db.query_row("select 'exploded'", [], |row| row.get::<_, BuildOutcome>(0));
        assert!(
            unknown.unwrap_err().to_string().contains("`exploded` is not a known build outcome")
        );
    }
}
