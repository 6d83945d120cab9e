//! Running a table's data tests against its temporary table. Each `;`-separated query must
//! return at least one row, and every value of every row must be true. The tests run inside a
//! read-only transaction, each query sent alone (see `warehouse::statement`): a test can read,
//! never write.

use super::Session;
use crate::build::FailureClass;
use crate::sql::{rename_table, split_statements};
use crate::warehouse::render::{self, TableName};
use crate::warehouse::{WarehouseError, statement};
use postgres::types::{FromSql, Type};

/// The transaction the tests run in (both dialects accept it); it is always rolled back.
pub const BEGIN_READ_ONLY: &str = "begin read only";

/// Whether one value of a test's row counts as passing: boolean true, or a text that spells it
/// (`t`, `true`); NULL and everything else fail.
struct Passes(bool);

impl<'a> FromSql<'a> for Passes {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let passes = match *ty {
            Type::BOOL => raw.first().is_some_and(|byte| *byte != 0),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                matches!(
                    std::str::from_utf8(raw).map(str::trim_end),
                    Ok("t" | "true" | "TRUE" | "True")
                )
            }
            _ => false,
        };
        Ok(Passes(passes))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Passes(false))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Runs the tests in `tests` (which name the live table) against `temp`.
pub(super) fn run(
    session: &mut Session<'_>,
    tests: &str,
    live: &TableName,
    temp: &TableName,
) -> Result<(), WarehouseError> {
    let invalid = |message: String| WarehouseError::new(FailureClass::TestFailed, message);
    let rewritten = rename_table(tests, &live.schema, &live.table, &temp.table).map_err(invalid)?;
    let queries = split_statements(&rewritten).map_err(invalid)?;
    let sql_error = session.sql_error();
    session.client.batch_execute(BEGIN_READ_ONLY).map_err(&sql_error)?;
    let result = run_queries(session, &queries);
    // Nothing to keep: a read-only transaction is always rolled back.
    let ended = session.client.batch_execute(render::ROLLBACK).map_err(sql_error);
    let failures = result?;
    ended?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!("tests failed for `{}`: {}", live.name(), failures.join("; "))))
    }
}

/// Runs each query; returns the failed tests' descriptions.
fn run_queries(
    session: &mut Session<'_>,
    queries: &[String],
) -> Result<Vec<String>, WarehouseError> {
    let sql_error = session.sql_error();
    let mut failures = Vec::new();
    for (index, query) in queries.iter().enumerate() {
        let number = index + 1;
        let rows = statement::query_alone(session.client, query).map_err(|e| {
            let error = sql_error(e);
            match error.class {
                FailureClass::SqlError => WarehouseError::new(
                    FailureClass::TestFailed,
                    format!("test {number} failed to run: {}", error.message),
                ),
                _ => error,
            }
        })?;
        if rows.is_empty() {
            failures.push(format!("test {number} returned no rows"));
            continue;
        }
        let mut false_columns: Vec<&str> = Vec::new();
        for row in &rows {
            for (position, column) in row.columns().iter().enumerate() {
                let passes = row.try_get::<_, Passes>(position).is_ok_and(|value| value.0);
                if !passes && !false_columns.contains(&column.name()) {
                    false_columns.push(column.name());
                }
            }
        }
        if !false_columns.is_empty() {
            let columns: Vec<String> = false_columns.iter().map(|c| format!("`{c}`")).collect();
            failures.push(format!("test {number} is not true in {}", columns.join(", ")));
        }
    }
    Ok(failures)
}
