//! Moving a processor's data: the select's rows out to a CSV file through a cursor (never the
//! whole result in memory), the output into the temporary table with `COPY … FROM STDIN`, and
//! the S3 key a staged file gets.

use super::super::Session;
use super::super::csv::write_record;
use super::failed;
use crate::build::FailureClass;
use crate::objectstore::ObjectStoreError;
use crate::warehouse::render::{self, TableName};
use crate::warehouse::{WarehouseError, statement};
use postgres::SimpleQueryMessage;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows fetched from the cursor at a time while exporting.
const FETCH_ROWS: usize = 1_000;

/// S3 could not be reached (worth a retry), or refused what the settings ask (keys, bucket):
/// a setting to fix.
pub(super) fn s3_error(error: ObjectStoreError) -> WarehouseError {
    WarehouseError {
        class: if error.transient { FailureClass::Connection } else { FailureClass::Configuration },
        transient: error.transient,
        message: error.message,
    }
}

/// A key no other run uses: `<prefix><schema.table>/<ms>-<process>-<sequence>.csv`.
pub(super) fn staging_key(prefix: &str, live: &TableName) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let millis = crate::clock::now_ms();
    let sequence = SEQUENCE.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}{}/{millis}-{}-{sequence}.csv", live.name(), std::process::id())
}

/// `COPY … FROM STDIN` into `temp`, with `fill` writing the CSV; returns the rows loaded.
pub(super) fn copy_in(
    session: &mut Session<'_>,
    temp: &TableName,
    fill: impl FnOnce(&mut postgres::CopyInWriter<'_>) -> Result<(), String>,
) -> Result<i64, WarehouseError> {
    let sql_error = session.sql_error();
    let mut writer = session
        .client
        .copy_in(&format!("copy {} from stdin with (format csv, header true)", temp.quoted()))
        .map_err(&sql_error)?;
    fill(&mut writer).map_err(|message| failed(format!("cannot load the output: {message}")))?;
    let rows = writer.finish().map_err(|e| {
        let error = sql_error(e);
        failed(format!("the output does not fit the table's DDL: {}", error.message))
    })?;
    Ok(rows as i64)
}

/// Streams the select's rows to a CSV file with a header, through a cursor.
pub(super) fn export(
    session: &mut Session<'_>,
    select: &str,
    path: &Path,
) -> Result<(), WarehouseError> {
    let sql_error = session.sql_error();
    let io_error = |e: std::io::Error| failed(format!("cannot write the input CSV: {e}"));
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(io_error)?);
    let mut transaction = session.client.transaction().map_err(&sql_error)?;
    // The select is the repository's text: sent alone.
    statement::execute_alone(&mut transaction, &render::declare_export_cursor(select))
        .map_err(sql_error)?;
    let mut header_written = false;
    loop {
        let messages =
            transaction.simple_query(&render::fetch_export(FETCH_ROWS)).map_err(sql_error)?;
        let mut fetched = 0;
        for message in &messages {
            match message {
                SimpleQueryMessage::RowDescription(columns) if !header_written => {
                    let names: Vec<Option<&str>> = columns.iter().map(|c| Some(c.name())).collect();
                    write_record(&mut out, &names).map_err(io_error)?;
                    header_written = true;
                }
                SimpleQueryMessage::Row(row) => {
                    if !header_written {
                        let names: Vec<Option<&str>> =
                            row.columns().iter().map(|c| Some(c.name())).collect();
                        write_record(&mut out, &names).map_err(io_error)?;
                        header_written = true;
                    }
                    let fields: Vec<Option<&str>> = (0..row.len()).map(|i| row.get(i)).collect();
                    write_record(&mut out, &fields).map_err(io_error)?;
                    fetched += 1;
                }
                _ => {}
            }
        }
        if fetched < FETCH_ROWS {
            break;
        }
    }
    if !header_written {
        // An empty result: still give the script a header row with the column names.
        let described = transaction.prepare(select).map_err(sql_error)?;
        let names: Vec<Option<&str>> = described.columns().iter().map(|c| Some(c.name())).collect();
        write_record(&mut out, &names).map_err(io_error)?;
    }
    transaction.batch_execute("close duro_export").map_err(sql_error)?;
    transaction.commit().map_err(sql_error)?;
    out.flush().map_err(io_error)
}
