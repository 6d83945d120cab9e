//! Running a table's data tests against its temporary table. Each `;`-separated query must
//! return at least one row, and every value of every row must pass: as in the original Duro, a
//! value fails when it is NULL, false, a numeric zero or an empty string, and passes otherwise
//! (so `select count(*) from s.t` passes on a non-empty table). The tests run inside a read-only
//! transaction, each query sent alone (see `warehouse::statement`): a test can read, never
//! write.

use super::Session;
use crate::build::FailureClass;
use crate::sql::{rename_table, split_statements};
use crate::warehouse::render::{self, TableName};
use crate::warehouse::{WarehouseError, statement};
use postgres::types::{FromSql, Type};

/// The transaction the tests run in (both dialects accept it); it is always rolled back.
pub const BEGIN_READ_ONLY: &str = "begin read only";

/// Whether one value of a test's row passes: anything but NULL, false, a numeric zero or an
/// empty string (or byte string). Values of types Duro does not decode (dates, enums, Redshift's
/// own types) pass when they are not NULL.
struct Passes(bool);

/// Whether a value in PostgreSQL's binary form is falsy.
fn is_falsy(ty: &Type, raw: &[u8]) -> bool {
    let all_zero = raw.iter().all(|byte| *byte == 0);
    match *ty {
        Type::BOOL | Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => all_zero,
        Type::FLOAT4 => raw.try_into().map(f32::from_be_bytes).is_ok_and(|v| v == 0.0),
        Type::FLOAT8 => raw.try_into().map(f64::from_be_bytes).is_ok_and(|v| v == 0.0),
        // ndigits (2 bytes), weight, sign, scale, digits: zero has no digits and a positive sign
        // (NaN has no digits either, and passes, as in Python).
        Type::NUMERIC => raw.len() >= 8 && raw[0..2] == [0, 0] && raw[4..6] == [0, 0],
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::BYTEA => {
            raw.is_empty()
        }
        _ => false,
    }
}

impl<'a> FromSql<'a> for Passes {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Passes(!is_falsy(ty, raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Passes(false))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Runs the tests in `tests` (which name the live table) against `temp`.
pub(crate) fn run(
    session: &mut Session<'_>,
    tests: &str,
    live: &TableName,
    temp: &TableName,
) -> Result<(), WarehouseError> {
    let queries = queries_for(tests, live, temp)?;
    let sql_error = session.sql_error();
    session.client.batch_execute(BEGIN_READ_ONLY).map_err(&sql_error)?;
    let result = run_queries(session, &queries);
    // Nothing to keep: a read-only transaction is always rolled back.
    let ended = session.client.batch_execute(render::ROLLBACK).map_err(sql_error);
    let failures = result?;
    ended?;
    verdict(live, failures)
}

/// Runs the tests of `table` inside the caller's open transaction, which holds the new rows (a
/// replication's import): the caller rolls back when they fail.
pub(crate) fn run_within(
    session: &mut Session<'_>,
    tests: &str,
    table: &TableName,
) -> Result<(), WarehouseError> {
    let queries = queries_for(tests, table, table)?;
    let failures = run_queries(session, &queries)?;
    verdict(table, failures)
}

/// The test queries, each pointed from `live` at `temp`.
fn queries_for(
    tests: &str,
    live: &TableName,
    temp: &TableName,
) -> Result<Vec<String>, WarehouseError> {
    let invalid = |message: String| WarehouseError::new(FailureClass::TestFailed, message);
    let rewritten = rename_table(tests, &live.schema, &live.table, &temp.table).map_err(invalid)?;
    split_statements(&rewritten).map_err(invalid)
}

fn verdict(live: &TableName, failures: Vec<String>) -> Result<(), WarehouseError> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(WarehouseError::new(
            FailureClass::TestFailed,
            format!("tests failed for `{}`: {}", live.name(), failures.join("; ")),
        ))
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
            failures.push(format!(
                "test {number} fails in {} (NULL, false, zero or empty)",
                columns.join(", ")
            ));
        }
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in the binary form PostgreSQL and Redshift send, and whether each fails.
    #[test]
    fn falsy_values() {
        let numeric = |ndigits: i16, sign: u16| -> Vec<u8> {
            let mut raw = Vec::new();
            raw.extend(ndigits.to_be_bytes());
            raw.extend(0i16.to_be_bytes());
            raw.extend(sign.to_be_bytes());
            raw.extend(0u16.to_be_bytes());
            raw.extend(std::iter::repeat_n(0u8, 2 * ndigits as usize));
            raw
        };
        let cases: Vec<(Type, Vec<u8>, bool)> = vec![
            (Type::BOOL, vec![1], false),
            (Type::BOOL, vec![0], true),
            (Type::INT4, 7i32.to_be_bytes().to_vec(), false),
            (Type::INT4, 0i32.to_be_bytes().to_vec(), true),
            (Type::INT8, (-1i64).to_be_bytes().to_vec(), false),
            (Type::INT8, 0i64.to_be_bytes().to_vec(), true),
            (Type::INT2, 0i16.to_be_bytes().to_vec(), true),
            (Type::FLOAT8, 0.5f64.to_be_bytes().to_vec(), false),
            (Type::FLOAT8, (-0.0f64).to_be_bytes().to_vec(), true),
            (Type::FLOAT4, 0.0f32.to_be_bytes().to_vec(), true),
            (Type::NUMERIC, numeric(0, 0), true),
            (Type::NUMERIC, numeric(1, 0), false),
            (Type::NUMERIC, numeric(0, 0xC000), false),
            (Type::TEXT, b"".to_vec(), true),
            (Type::TEXT, b"f".to_vec(), false),
            (Type::VARCHAR, b"0".to_vec(), false),
            (Type::BYTEA, Vec::new(), true),
            (Type::DATE, 0i32.to_be_bytes().to_vec(), false),
        ];
        for (ty, raw, falsy) in cases {
            assert_eq!(is_falsy(&ty, &raw), falsy, "{ty} {raw:?}");
        }
    }
}
