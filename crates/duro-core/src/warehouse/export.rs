//! A select read through a cursor in batches into CSV with a header row: what leaves a database
//! as a file (a processor's input from the warehouse, a replicated table's rows from a
//! PostgreSQL source), never the whole result in memory. Values arrive in PostgreSQL's text form.

use super::render;
use crate::csv::write_record;
use postgres::types::{ToSql, Type};
use postgres::{SimpleQueryMessage, Transaction};
use std::io::Write;

/// Rows fetched from the cursor at a time.
const FETCH_ROWS: usize = 1_000;

/// What the fetching wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub rows: u64,
    /// Whether the header row was written (not when the result was empty and the server
    /// described no row).
    pub header_written: bool,
}

/// Why fetching stopped.
#[derive(Debug)]
pub(crate) enum ExportError {
    Sql(postgres::Error),
    Io(std::io::Error),
}

/// Declares the export cursor over `select` in `transaction` (sent alone, its `$n` bound to
/// `values` as text), writes every row into `out` as CSV with `delimiter`, the header row first,
/// and closes the cursor.
pub(crate) fn select_to_csv<W: Write>(
    transaction: &mut Transaction<'_>,
    select: &str,
    values: &[String],
    out: &mut W,
    delimiter: u8,
) -> Result<Fetched, ExportError> {
    let parameters: Vec<(&(dyn ToSql + Sync), Type)> =
        values.iter().map(|value| (value as &(dyn ToSql + Sync), Type::TEXT)).collect();
    transaction
        .execute_typed(&render::declare_export_cursor(select), &parameters)
        .map_err(ExportError::Sql)?;
    let fetched = cursor_to_csv(transaction, out, delimiter)?;
    transaction.batch_execute(render::CLOSE_EXPORT).map_err(ExportError::Sql)?;
    Ok(fetched)
}

/// Fetches every row of the open export cursor into `out`.
fn cursor_to_csv<W: Write>(
    transaction: &mut Transaction<'_>,
    out: &mut W,
    delimiter: u8,
) -> Result<Fetched, ExportError> {
    let fetch = render::fetch_export(FETCH_ROWS);
    let mut fetched = Fetched { rows: 0, header_written: false };
    loop {
        let messages = transaction.simple_query(&fetch).map_err(ExportError::Sql)?;
        let mut batch = 0;
        for message in &messages {
            let names: Option<Vec<Option<&str>>> = match message {
                SimpleQueryMessage::RowDescription(columns) if !fetched.header_written => {
                    Some(columns.iter().map(|c| Some(c.name())).collect())
                }
                SimpleQueryMessage::Row(row) if !fetched.header_written => {
                    Some(row.columns().iter().map(|c| Some(c.name())).collect())
                }
                _ => None,
            };
            if let Some(names) = names {
                write_record(out, &names, delimiter).map_err(ExportError::Io)?;
                fetched.header_written = true;
            }
            if let SimpleQueryMessage::Row(row) = message {
                let fields: Vec<Option<&str>> = (0..row.len()).map(|i| row.get(i)).collect();
                write_record(out, &fields, delimiter).map_err(ExportError::Io)?;
                batch += 1;
            }
        }
        fetched.rows += batch as u64;
        if batch < FETCH_ROWS {
            return Ok(fetched);
        }
    }
}
