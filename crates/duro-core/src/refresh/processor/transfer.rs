//! Moving a processor's data (CSV with the table's delimiter): the select's rows out to a CSV
//! file through a cursor (never the whole result in memory) or Redshift's `UNLOAD`, the output into the temporary table with `COPY … FROM STDIN`, and
//! the S3 key a staged file gets.

use super::super::Session;
use super::{Staging, failed};
use crate::catalog::CsvDelimiter;
use crate::csv::write_record;
use crate::warehouse::export::{ExportError, select_to_csv};
use crate::warehouse::render::{self, TableName};
use crate::warehouse::{WarehouseError, statement};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A key no other run uses: `<prefix><schema.table>/<ms>-<process>-<sequence>.csv`.
pub(super) fn staging_key(prefix: &str, live: &TableName) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let millis = crate::clock::now_ms();
    let sequence = SEQUENCE.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}{}/{millis}-{}-{sequence}.csv", live.name(), std::process::id())
}

/// Redshift `UNLOAD` of the select's result into the staging bucket (one CSV file with a header
/// row, more parts only past 6.2 GB), downloaded into `path` (the header of later parts left
/// out) and then deleted unless `s3.keep_files`.
pub(in crate::refresh) fn unload(
    session: &mut Session<'_>,
    staging: &Staging,
    select: &str,
    live: &TableName,
    path: &Path,
    delimiter: CsvDelimiter,
) -> Result<(), WarehouseError> {
    let credentials = staging.credentials("UNLOAD")?;
    let key = staging_key(&staging.prefix, live);
    let prefix = format!("{}-input-", key.trim_end_matches(".csv"));
    let (statement, redacted) = render::unload_to_s3(
        select,
        &staging.store.url(&prefix),
        credentials,
        staging.region.as_deref(),
        delimiter,
    );
    tracing::debug!("{redacted}");
    // The select is the repository's text: sent alone.
    statement::execute_alone(session.client, &statement).map_err(session.sql_error())?;
    let parts = staging.store.list(&prefix).map_err(WarehouseError::from_object_store)?;
    if parts.is_empty() {
        return Err(failed(format!("UNLOAD wrote no file under {}", staging.store.url(&prefix))));
    }
    let io_error = |e: std::io::Error| failed(format!("cannot write the input CSV: {e}"));
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(io_error)?);
    let mut result = Ok(());
    for (index, part) in parts.iter().enumerate() {
        let downloaded = if index == 0 {
            staging.store.download(part, &mut out)
        } else {
            staging.store.download(part, &mut SkipFirstLine::new(&mut out))
        };
        if let Err(error) = downloaded {
            result = Err(WarehouseError::from_object_store(error));
            break;
        }
    }
    if !staging.keep_files {
        for part in &parts {
            if let Err(error) = staging.store.delete(part) {
                tracing::warn!("could not delete the unloaded file: {error}");
            }
        }
    }
    result?;
    out.flush().map_err(io_error)
}

/// A writer that drops everything up to and including the first newline (the header row of a
/// later UNLOAD part).
struct SkipFirstLine<W> {
    inner: W,
    skipping: bool,
}

impl<W: Write> SkipFirstLine<W> {
    fn new(inner: W) -> Self {
        Self { inner, skipping: true }
    }
}

impl<W: Write> Write for SkipFirstLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.skipping {
            return self.inner.write(buf);
        }
        match buf.iter().position(|b| *b == b'\n') {
            None => Ok(buf.len()),
            Some(end) => {
                self.skipping = false;
                self.inner.write_all(&buf[end + 1..])?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `COPY … FROM STDIN` into `temp`, with `fill` writing the CSV; returns the rows loaded.
pub(super) fn copy_in(
    session: &mut Session<'_>,
    temp: &TableName,
    delimiter: CsvDelimiter,
    fill: impl FnOnce(&mut postgres::CopyInWriter<'_>) -> Result<(), String>,
) -> Result<i64, WarehouseError> {
    let sql_error = session.sql_error();
    let mut writer =
        session.client.copy_in(&render::copy_from_stdin(temp, delimiter)).map_err(&sql_error)?;
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
    delimiter: CsvDelimiter,
) -> Result<(), WarehouseError> {
    let sql_error = session.sql_error();
    let io_error = |e: std::io::Error| failed(format!("cannot write the input CSV: {e}"));
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(io_error)?);
    let mut transaction = session.client.transaction().map_err(&sql_error)?;
    // The select is the repository's text: sent alone.
    let fetched = select_to_csv(&mut transaction, select, &[], &mut out, delimiter.byte())
        .map_err(|error| match error {
            ExportError::Sql(error) => sql_error(error),
            ExportError::Io(error) => io_error(error),
        })?;
    transaction.commit().map_err(&sql_error)?;
    if !fetched.header_written {
        // An empty result without a row description: still give the script a header row with
        // the column names. Described after the transaction: on Redshift, describing a column
        // of a type the driver does not know looks it up in a way that fails on the first try,
        // which would abort a transaction.
        let described = session.client.prepare(select).map_err(sql_error)?;
        let names: Vec<Option<&str>> = described.columns().iter().map(|c| Some(c.name())).collect();
        write_record(&mut out, &names, delimiter.byte()).map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_parts_lose_their_header() {
        let mut out = Vec::new();
        {
            let mut writer = SkipFirstLine::new(&mut out);
            for chunk in ["a,", "b\n1,", "2\n", "3,4\n"] {
                writer.write_all(chunk.as_bytes()).unwrap();
            }
        }
        assert_eq!(String::from_utf8(out).unwrap(), "1,2\n3,4\n");
        let mut untouched = Vec::new();
        SkipFirstLine::new(&mut untouched).write_all(b"only a header").unwrap();
        assert!(untouched.is_empty());
    }
}
