//! Source databases of replication nodes: the few operations a replication run needs from one
//! (its table's columns, the highest value of the replication field, whether that field is
//! indexed, the rows between two watermarks streamed out as CSV, the keys of deleted rows),
//! behind the [`Source`] trait, each adapter in its own module, the only place its driver is
//! named (`postgres`, `mysql` for MySQL and MariaDB, `sqlite`). Everything runs as single statements with bound values, and
//! reads run in read-only transactions.
//!
//! Exports write the replication's CSV: RFC 4180, comma-delimited, no header row, NULL as an
//! unquoted `\N` and a value equal to `\N` quoted, so NULL stays distinct from the empty string
//! on both warehouses (Redshift loads an empty unquoted text field as `''`).

pub mod mysql;
pub mod postgres;
mod select;
pub mod sqlite;

use crate::build::FailureClass;
use crate::catalog::replication::Nulls;
use crate::config::SourceConnection;
use crate::identifier::TableName;
use crate::warehouse::WarehouseError;
use std::io::{self, Write};

/// The NULL marker of the replication's CSV.
pub const NULL_MARKER: &str = "\\N";

/// One column of a source table: its name and its type as the source names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceColumn {
    pub name: String,
    pub type_name: String,
}

/// A column of the export: the target column's name and what fills it (the source column of
/// that name, or an expression checked at schedule time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportColumn {
    pub name: String,
    pub expression: Option<String>,
}

/// Which rows to export: all of them, or those whose `field` is past `lo` (exclusive, when
/// known) up to `hi` (inclusive); values as the source's text form of the field's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRequest {
    pub table: TableName,
    pub columns: Vec<ExportColumn>,
    pub range: Option<FieldRange>,
}

/// The bounds of an incremental export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRange {
    pub field: String,
    /// The field's type on the source (from [`SourceColumn::type_name`]).
    pub type_name: String,
    pub lo: Option<String>,
    /// Read again this many seconds before `lo` (a timed node's `lookback`).
    pub lookback_seconds: u64,
    pub hi: String,
    /// Whether rows whose field is NULL are exported too.
    pub nulls: Nulls,
}

/// What a replication run needs from a source database (read on a thread of its own while the
/// warehouse is written).
pub trait Source: Send {
    /// The table's columns in order; a `configuration` error when the table does not exist.
    fn columns(&mut self, table: &TableName) -> Result<Vec<SourceColumn>, WarehouseError>;

    /// Whether `field` leads an index of the table (an incremental export scans it otherwise).
    fn is_indexed(&mut self, table: &TableName, field: &str) -> Result<bool, WarehouseError>;

    /// How many rows have a NULL `field` (they are not copied with `nulls: skip`).
    fn count_nulls(&mut self, table: &TableName, field: &str) -> Result<u64, WarehouseError>;

    /// The highest value of `field` in its text form, `None` for an empty table.
    fn max_value(
        &mut self,
        table: &TableName,
        field: &str,
    ) -> Result<Option<String>, WarehouseError>;

    /// Streams the requested rows to `out` as the replication's CSV, in a read-only
    /// transaction whose statements are limited to `timeout_ms`; returns how many rows.
    fn export(
        &mut self,
        request: &ExportRequest,
        out: &mut dyn Write,
        timeout_ms: u64,
    ) -> Result<u64, WarehouseError>;

    /// Runs statements an operator asked for (`duro-create --triggers … --apply`).
    fn apply(&mut self, statements: &[String]) -> Result<(), WarehouseError>;

    /// Whether the delete-tracking trigger is installed on `table`, recording `key`.
    fn delete_trigger(
        &mut self,
        table: &TableName,
        key: &[String],
    ) -> Result<TriggerState, WarehouseError>;

    /// The highest sequence number in the delete queue for `table`, `None` when it is empty.
    fn delete_sequence(&mut self, table: &TableName) -> Result<Option<i64>, WarehouseError>;

    /// Streams the `key` columns of the rows of `table` deleted up to sequence `through`, as the
    /// replication's CSV; returns the sequence numbers written (a deletion whose transaction
    /// commits later may hold a lower number: it is not among them, and stays queued).
    fn export_deleted_keys(
        &mut self,
        table: &TableName,
        key: &[String],
        through: i64,
        out: &mut dyn Write,
        timeout_ms: u64,
    ) -> Result<Vec<i64>, WarehouseError>;

    /// Removes exactly these rows of `table`'s queue (once the target has them).
    fn purge_deleted(
        &mut self,
        table: &TableName,
        sequences: &[i64],
    ) -> Result<u64, WarehouseError>;

    /// Ends the sessions named `application_name` (a stopped creator's); returns how many.
    fn end_sessions_named(&mut self, application_name: &str) -> Result<usize, WarehouseError>;
}

/// What a source table has of delete tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerState {
    Missing,
    /// Installed for another key (`key:` changed since).
    OtherKey,
    Installed,
}

/// The queue of deleted rows' keys, in the schema of the table it tracks.
pub const DELETE_QUEUE: &str = "duro_deleted_rows";

/// The trigger (and its function) that fill the queue.
pub const DELETE_TRIGGER: &str = "duro_track_delete";

/// Queue rows purged per statement.
pub const PURGE_BATCH: usize = 1_000;

/// The kinds of source database, by their URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Postgres,
    MySql,
    Sqlite,
}

impl SourceKind {
    /// The kind of the source `name`, from its URL (validated when the config was loaded).
    pub fn of(name: &str, connection: &SourceConnection) -> Result<Self, WarehouseError> {
        let scheme = connection
            .url
            .as_ref()
            .and_then(|url| url.expose().split_once("://").map(|(scheme, _)| scheme.to_owned()))
            .unwrap_or_default();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(SourceKind::Postgres),
            "mysql" | "mariadb" => Ok(SourceKind::MySql),
            "sqlite" => Ok(SourceKind::Sqlite),
            _ => Err(WarehouseError::new(
                FailureClass::Configuration,
                format!("source `{name}` has no `postgres://`, `mysql://` or `sqlite://` URL"),
            )),
        }
    }

    /// The statements that install delete tracking for `table` on a source of this kind: the
    /// queue table and the trigger that fills it with the `key` columns of each deleted row.
    pub fn delete_tracking_ddl(
        self,
        table: &TableName,
        key: &[String],
    ) -> Result<Vec<String>, String> {
        match self {
            SourceKind::Postgres => Ok(postgres::delete_tracking_ddl(table, key)),
            SourceKind::MySql => Ok(mysql::delete_tracking_ddl(table, key)),
            SourceKind::Sqlite => {
                Err("delete tracking is supported for PostgreSQL and MySQL sources".to_owned())
            }
        }
    }
}

/// Connects to the source `name` of `duro.yaml`'s `connections`, as the session
/// `application_name`, by its URL's scheme.
pub fn connect(
    name: &str,
    connection: &SourceConnection,
    application_name: &str,
) -> Result<Box<dyn Source>, WarehouseError> {
    match SourceKind::of(name, connection)? {
        SourceKind::Postgres => {
            Ok(Box::new(postgres::PostgresSource::connect(name, connection, application_name)?))
        }
        SourceKind::Sqlite => Ok(Box::new(sqlite::SqliteSource::connect(name, connection)?)),
        SourceKind::MySql => {
            Ok(Box::new(mysql::MysqlSource::connect(name, connection, application_name)?))
        }
    }
}

/// Writes one record of the replication's CSV (`None` is NULL) to the export's output.
pub(crate) fn write_row<S: AsRef<str>>(
    out: &mut dyn Write,
    fields: &[Option<S>],
) -> Result<(), WarehouseError> {
    let fields: Vec<Option<&str>> = fields.iter().map(|f| f.as_ref().map(AsRef::as_ref)).collect();
    crate::csv::write_record_with_null(out, &fields, b',', NULL_MARKER).map_err(|error| {
        WarehouseError::new(FailureClass::Internal, format!("cannot pass rows on: {error}"))
    })
}

/// A writer that counts the CSV records passing through it (line ends outside quotes).
pub struct RecordCounter<W> {
    inner: W,
    in_quotes: bool,
    pub records: u64,
}

impl<W: Write> RecordCounter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, in_quotes: false, records: 0 }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for RecordCounter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        for at in memchr::memchr2_iter(b'"', b'\n', &buf[..written]) {
            match buf[at] {
                b'"' => self.in_quotes = !self.in_quotes,
                _ if !self.in_quotes => self.records += 1,
                _ => {}
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_outside_quotes() {
        let cases: &[(&str, u64)] = &[
            ("", 0),
            ("1,a\n2,b\n", 2),
            ("1,\"two\nlines\"\n2,\"say \"\"hi\"\"\"\n", 2),
            ("1,\\N\r\n2,\"\\N\"\r\n", 2),
        ];
        for (csv, expected) in cases {
            let mut counter = RecordCounter::new(Vec::new());
            // Byte by byte, as a stream may arrive.
            for byte in csv.as_bytes() {
                counter.write_all(&[*byte]).unwrap();
            }
            assert_eq!(counter.records, *expected, "{csv:?}");
            assert_eq!(counter.into_inner(), csv.as_bytes());
        }
    }
}
