//! Running a table's data tests against its temporary table. Each `;`-separated query must
//! return at least one row, and every value of every row must be true.

use crate::sql::{rename_table, split_statements};
use crate::warehouse::render::TableRef;
use crate::warehouse::{FailureClass, WarehouseError};
use postgres::{Client, SimpleQueryMessage};

/// Runs the tests in `tests` (which name the live table) against `temp`.
pub fn run(
    client: &mut Client,
    tests: &str,
    live: &TableRef,
    temp: &TableRef,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<(), WarehouseError> {
    let invalid = |message: String| WarehouseError::new(FailureClass::TestFailed, message);
    let rewritten = rename_table(tests, &live.schema, &live.table, &temp.table).map_err(invalid)?;
    let mut failures = Vec::new();
    for (index, query) in split_statements(&rewritten)
        .map_err(invalid)?
        .iter()
        .enumerate()
    {
        let number = index + 1;
        let messages = client.simple_query(query).map_err(|e| {
            let error = WarehouseError::from_postgres(&e, is_cancelled());
            match error.class {
                FailureClass::SqlError => {
                    invalid(format!("test {number} failed to run: {}", error.message))
                }
                _ => error,
            }
        })?;
        let rows: Vec<_> = messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(row),
                _ => None,
            })
            .collect();
        if rows.is_empty() {
            failures.push(format!("test {number} returned no rows"));
            continue;
        }
        let mut false_columns: Vec<String> = Vec::new();
        for row in rows {
            for (position, column) in row.columns().iter().enumerate() {
                let is_true = matches!(row.get(position), Some("t" | "true" | "TRUE" | "True"));
                if !is_true && !false_columns.iter().any(|c| c == column.name()) {
                    false_columns.push(column.name().to_owned());
                }
            }
        }
        if !false_columns.is_empty() {
            let columns: Vec<String> = false_columns.iter().map(|c| format!("`{c}`")).collect();
            failures.push(format!(
                "test {number} is not true in {}",
                columns.join(", ")
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "tests failed for `{}`: {}",
            live.name(),
            failures.join("; ")
        )))
    }
}
