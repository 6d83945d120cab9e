//! An SQLite source (`sqlite:///path/app.db`): the file opened read-only, every read a single
//! prepared statement with bound values, the export one read transaction (a consistent
//! snapshot) stopped when it outlives the node's timeout. Tables are `main.<table>` (or an
//! attached database's). Values leave as text: integers and reals as SQLite prints them, blobs
//! as PostgreSQL's `\x…` hex.

use super::select::{self, SqlStyle};
use super::{ExportRequest, Source, SourceColumn, TriggerState, write_row};
use crate::build::FailureClass;
use crate::config::SourceConnection;
use crate::identifier::{TableName, quote_identifier};
use crate::warehouse::WarehouseError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// An open SQLite source.
pub struct SqliteSource {
    connection: Connection,
    /// The connection's name in `duro.yaml`, for messages.
    name: String,
}

impl SqliteSource {
    /// Opens the file of `sqlite:///path` read-only.
    pub fn connect(name: &str, connection: &SourceConnection) -> Result<Self, WarehouseError> {
        let url = connection.url.as_ref().map(|url| url.expose().to_owned()).unwrap_or_default();
        let path = url.strip_prefix("sqlite://").unwrap_or_default();
        if !path.starts_with('/') {
            return Err(WarehouseError::new(
                FailureClass::Configuration,
                format!("source `{name}`: write an absolute path, like `sqlite:///srv/app/app.db`"),
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(|error| {
            WarehouseError::new(
                FailureClass::Connection,
                format!("source `{name}`: cannot open `{path}`: {error}"),
            )
        })?;
        connection.busy_timeout(Duration::from_secs(10)).map_err(|e| sql_error(name, &e))?;
        Ok(Self { connection, name: name.to_owned() })
    }

    fn error(&self) -> impl Fn(rusqlite::Error) -> WarehouseError + '_ {
        |error| sql_error(&self.name, &error)
    }

    fn unsupported(&self) -> WarehouseError {
        WarehouseError::new(
            FailureClass::Configuration,
            format!(
                "source `{}`: delete tracking is for PostgreSQL and MySQL sources, not SQLite",
                self.name
            ),
        )
    }
}

fn sql_error(name: &str, error: &rusqlite::Error) -> WarehouseError {
    let class = match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OperationInterrupted) => FailureClass::Timeout,
        _ => FailureClass::SqlError,
    };
    WarehouseError::new(class, format!("source `{name}`: {error}"))
}

/// `"schema"."table"` as SQLite reads it.
fn relation(table: &TableName) -> String {
    format!("{}.{}", quote_identifier(&table.schema), quote_identifier(&table.table))
}

impl Source for SqliteSource {
    fn columns(&mut self, table: &TableName) -> Result<Vec<SourceColumn>, WarehouseError> {
        let mut statement = self
            .connection
            .prepare("select name, type from pragma_table_info(?1, ?2) order by cid")
            .map_err(self.error())?;
        let columns: Vec<SourceColumn> = statement
            .query_map([&table.table, &table.schema], |row| {
                Ok(SourceColumn { name: row.get(0)?, type_name: row.get(1)? })
            })
            .and_then(Iterator::collect)
            .map_err(|e| sql_error(&self.name, &e))?;
        if columns.is_empty() {
            return Err(WarehouseError::new(
                FailureClass::Configuration,
                format!(
                    "source `{}` has no table `{table}` (SQLite tables are `main.<table>`)",
                    self.name
                ),
            ));
        }
        Ok(columns)
    }

    fn is_indexed(&mut self, table: &TableName, field: &str) -> Result<bool, WarehouseError> {
        self.connection
            .query_row(
                "select exists (
                    select 1 from pragma_index_list(?1, ?2) as l
                    join pragma_index_info(l.name, ?2) as i on i.seqno = 0
                    where i.name = ?3)",
                [&table.table, &table.schema, field],
                |row| row.get(0),
            )
            .map_err(self.error())
    }

    fn count_nulls(&mut self, table: &TableName, field: &str) -> Result<u64, WarehouseError> {
        let sql = format!(
            "select count(*) from {} where {} is null",
            relation(table),
            quote_identifier(field)
        );
        let count: i64 =
            self.connection.query_row(&sql, [], |row| row.get(0)).map_err(self.error())?;
        Ok(count as u64)
    }

    fn max_value(
        &mut self,
        table: &TableName,
        field: &str,
    ) -> Result<Option<String>, WarehouseError> {
        let sql = format!(
            "select cast(max({}) as text) from {}",
            quote_identifier(field),
            relation(table)
        );
        self.connection.query_row(&sql, [], |row| row.get(0)).map_err(self.error())
    }

    fn export(
        &mut self,
        request: &ExportRequest,
        out: &mut dyn Write,
        timeout_ms: u64,
    ) -> Result<u64, WarehouseError> {
        let (select, bounds) = export_select(request);
        // A watchdog interrupts the statement once it runs past the node's timeout.
        let interrupt = self.connection.get_interrupt_handle();
        let (finished, watched) = mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) =
                watched.recv_timeout(Duration::from_millis(timeout_ms))
            {
                interrupt.interrupt();
            }
        });
        let result = (|| {
            let transaction = self.connection.unchecked_transaction().map_err(self.error())?;
            let mut statement = transaction.prepare(&select).map_err(self.error())?;
            let columns = statement.column_count();
            let mut rows =
                statement.query(rusqlite::params_from_iter(&bounds)).map_err(self.error())?;
            let mut count = 0;
            let mut texts: Vec<Option<String>> = Vec::with_capacity(columns);
            while let Some(row) = rows.next().map_err(|e| sql_error(&self.name, &e))? {
                texts.clear();
                for index in 0..columns {
                    texts.push(text_of(row.get_ref(index).map_err(|e| sql_error(&self.name, &e))?));
                }
                write_row(out, &texts)?;
                count += 1;
            }
            Ok(count)
        })();
        drop(finished);
        let _ = watchdog.join();
        result
    }

    fn apply(&mut self, _statements: &[String]) -> Result<(), WarehouseError> {
        Err(self.unsupported())
    }

    fn delete_trigger(
        &mut self,
        _table: &TableName,
        _key: &[String],
    ) -> Result<TriggerState, WarehouseError> {
        Err(self.unsupported())
    }

    fn delete_sequence(&mut self, _table: &TableName) -> Result<Option<i64>, WarehouseError> {
        Err(self.unsupported())
    }

    fn export_deleted_keys(
        &mut self,
        _table: &TableName,
        _key: &[String],
        _through: i64,
        _out: &mut dyn Write,
        _timeout_ms: u64,
    ) -> Result<Vec<i64>, WarehouseError> {
        Err(self.unsupported())
    }

    fn purge_deleted(
        &mut self,
        _table: &TableName,
        _sequences: &[i64],
    ) -> Result<u64, WarehouseError> {
        Err(self.unsupported())
    }

    /// A file has no sessions to end.
    fn end_sessions_named(&mut self, _application_name: &str) -> Result<usize, WarehouseError> {
        Ok(0)
    }
}

/// A value as text: what PostgreSQL's `COPY` reads back for the target column.
fn text_of(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(number) => Some(number.to_string()),
        ValueRef::Real(number) => Some(number.to_string()),
        ValueRef::Text(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => {
            Some(format!("\\x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
        }
    }
}

/// SQLite's names and bounds: numbered placeholders, times moved back with `datetime`.
const STYLE: SqlStyle = SqlStyle {
    quote: |name| quote_identifier(name),
    bound: |n, _| format!("?{n}"),
    minus_seconds: |time, seconds| format!("datetime({time}, '-{seconds} seconds')"),
};

fn export_select(request: &ExportRequest) -> (String, Vec<String>) {
    select::export_select(request, &relation(&request.table), &STYLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::replication::Nulls;
    use crate::sources::{ExportColumn, FieldRange};

    #[test]
    fn values_as_text() {
        let cases = [
            (ValueRef::Null, None),
            (ValueRef::Integer(-7), Some("-7")),
            (ValueRef::Real(1.5), Some("1.5")),
            (ValueRef::Text(b"caf\xc3\xa9"), Some("café")),
            (ValueRef::Blob(&[0, 255]), Some("\\x00ff")),
        ];
        for (value, expected) in cases {
            assert_eq!(text_of(value).as_deref(), expected);
        }
    }

    #[test]
    fn export_selects() {
        let request = ExportRequest {
            table: TableName::parse("main.users").unwrap(),
            columns: vec![ExportColumn { name: "id".into(), expression: None }],
            range: Some(FieldRange {
                field: "updated_at".into(),
                type_name: "DATETIME".into(),
                lo: Some("2026-12-01 10:00:00".into()),
                lookback_seconds: 5,
                hi: "2026-12-01 11:00:00".into(),
                nulls: Nulls::Skip,
            }),
        };
        let (select, bounds) = export_select(&request);
        assert_eq!(
            select,
            "select \"id\" from \"main\".\"users\" where \"updated_at\" > datetime(?1, '-5 seconds') and \"updated_at\" <= ?2"
        );
        assert_eq!(bounds, ["2026-12-01 10:00:00", "2026-12-01 11:00:00"]);
    }
}
