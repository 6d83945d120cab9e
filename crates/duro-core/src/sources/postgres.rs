//! A PostgreSQL source: connected like the warehouse (TLS, keepalives, a named session), read
//! through `pg_catalog` and a cursor in a read-only transaction whose bounds are bound values.

use super::select::{self, SqlStyle};
use super::{
    DELETE_QUEUE, DELETE_TRIGGER, ExportRequest, NULL_MARKER, RecordCounter, Source, SourceColumn,
    TriggerState, write_row,
};
use crate::build::FailureClass;
use crate::config::{Dialect, SourceConnection, WarehouseConfig};
use crate::identifier::{TableName, quote_identifier};
use crate::warehouse::WarehouseError;
use crate::warehouse::connection;
use postgres::fallible_iterator::FallibleIterator;
use std::io::Write;

/// A table's columns in order (`$1` is the quoted `schema.table`).
const COLUMNS: &str = "select a.attname::text, format_type(a.atttypid, a.atttypmod)
    from pg_attribute a
    where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped
    order by a.attnum";

/// Whether a column is the first column of an index of the table.
const INDEXED: &str = "select exists (
        select 1 from pg_index i
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where i.indrelid = to_regclass($1) and a.attname = $2
    )";

/// An open PostgreSQL source.
pub struct PostgresSource {
    client: postgres::Client,
    /// The connection's name in `duro.yaml`, for messages.
    name: String,
}

impl PostgresSource {
    /// Connects to the source `name` of `duro.yaml`'s `connections`, as the session
    /// `application_name`.
    pub fn connect(
        name: &str,
        connection: &SourceConnection,
        application_name: &str,
    ) -> Result<Self, WarehouseError> {
        let config = WarehouseConfig {
            dialect: Dialect::Postgres,
            url: connection.url.clone(),
            password: connection.password.clone(),
            tls: connection.tls,
            tls_roots: connection.tls_roots.clone(),
            ..WarehouseConfig::default()
        };
        let client = connection::connect_named(&config, application_name).map_err(|error| {
            WarehouseError { message: format!("source `{name}`: {}", error.message), ..error }
        })?;
        Ok(Self { client, name: name.to_owned() })
    }

    /// Classifies a driver error, naming the source.
    fn sql_error(&self) -> impl Fn(postgres::Error) -> WarehouseError + use<> {
        let name = self.name.clone();
        move |error| named_error(&name, &error)
    }
}

/// A driver error classified, naming the source.
fn named_error(name: &str, error: &postgres::Error) -> WarehouseError {
    let error = WarehouseError::from_postgres(error, false);
    WarehouseError { message: format!("source `{name}`: {}", error.message), ..error }
}

impl Source for PostgresSource {
    fn columns(&mut self, table: &TableName) -> Result<Vec<SourceColumn>, WarehouseError> {
        let rows = self.client.query(COLUMNS, &[&table.quoted()]).map_err(self.sql_error())?;
        if rows.is_empty() {
            return Err(WarehouseError::new(
                FailureClass::Configuration,
                format!("source `{}` has no table `{table}`", self.name),
            ));
        }
        Ok(rows
            .iter()
            .map(|row| SourceColumn { name: row.get(0), type_name: row.get(1) })
            .collect())
    }

    fn is_indexed(&mut self, table: &TableName, field: &str) -> Result<bool, WarehouseError> {
        let row =
            self.client.query_one(INDEXED, &[&table.quoted(), &field]).map_err(self.sql_error())?;
        Ok(row.get(0))
    }

    fn count_nulls(&mut self, table: &TableName, field: &str) -> Result<u64, WarehouseError> {
        let sql = format!(
            "select count(*) from {} where {} is null",
            table.quoted(),
            quote_identifier(field)
        );
        let row = self.client.query_one(&sql, &[]).map_err(self.sql_error())?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn max_value(
        &mut self,
        table: &TableName,
        field: &str,
    ) -> Result<Option<String>, WarehouseError> {
        let sql = format!("select max({})::text from {}", quote_identifier(field), table.quoted());
        let row = self.client.query_one(&sql, &[]).map_err(self.sql_error())?;
        Ok(row.get(0))
    }

    /// `COPY (select …) TO STDOUT`, streamed: the bounds are bound into transaction-local
    /// settings first, as `COPY` takes no parameters.
    fn export(
        &mut self,
        request: &ExportRequest,
        out: &mut dyn Write,
        timeout_ms: u64,
    ) -> Result<u64, WarehouseError> {
        let (select, bounds) = export_select(request);
        self.copy_out(&select, &bounds, out, timeout_ms)
    }

    fn apply(&mut self, statements: &[String]) -> Result<(), WarehouseError> {
        let sql_error = self.sql_error();
        let mut transaction = self.client.transaction().map_err(&sql_error)?;
        for statement in statements {
            transaction.execute(statement.as_str(), &[]).map_err(&sql_error)?;
        }
        transaction.commit().map_err(sql_error)
    }

    fn delete_trigger(
        &mut self,
        table: &TableName,
        key: &[String],
    ) -> Result<TriggerState, WarehouseError> {
        let row =
            self.client.query_opt(TRIGGER_KEY, &[&table.quoted()]).map_err(self.sql_error())?;
        Ok(match row {
            None => TriggerState::Missing,
            Some(row) => {
                // The trigger's arguments: the key columns, each ended by a NUL byte.
                let arguments: Vec<u8> = row.get(0);
                let recorded: Vec<String> = arguments
                    .split(|byte| *byte == 0)
                    .filter(|argument| !argument.is_empty())
                    .map(|argument| String::from_utf8_lossy(argument).into_owned())
                    .collect();
                if recorded == key { TriggerState::Installed } else { TriggerState::OtherKey }
            }
        })
    }

    fn delete_sequence(&mut self, table: &TableName) -> Result<Option<i64>, WarehouseError> {
        let sql = format!("select max(seq) from {} where source_table = $1", queue(table));
        let row = self.client.query_one(&sql, &[&table.to_string()]).map_err(self.sql_error())?;
        Ok(row.get(0))
    }

    fn export_deleted_keys(
        &mut self,
        table: &TableName,
        key: &[String],
        through: i64,
        out: &mut dyn Write,
        timeout_ms: u64,
    ) -> Result<Vec<i64>, WarehouseError> {
        let columns: Vec<String> =
            key.iter().map(|k| format!("key ->> '{}'", k.replace('\'', "''"))).collect();
        let select = format!(
            "select seq, {} from {} where source_table = $1 and seq <= $2 order by seq",
            columns.join(", "),
            queue(table)
        );
        let sql_error = self.sql_error();
        let mut transaction = self.read_only(timeout_ms)?;
        let name = table.to_string();
        let parameters: [&(dyn postgres::types::ToSql + Sync); 2] = [&name, &through];
        let mut rows = transaction.query_raw(select.as_str(), parameters).map_err(&sql_error)?;
        let mut sequences = Vec::new();
        while let Some(row) = rows.next().map_err(&sql_error)? {
            sequences.push(row.get::<_, i64>(0));
            let fields: Vec<Option<&str>> = (1..row.len()).map(|i| row.get(i)).collect();
            write_row(out, &fields)?;
        }
        drop(rows);
        transaction.commit().map_err(&sql_error)?;
        Ok(sequences)
    }

    fn end_sessions_named(&mut self, application_name: &str) -> Result<usize, WarehouseError> {
        crate::warehouse::sessions::end_sessions_named(
            &mut self.client,
            Dialect::Postgres,
            application_name,
        )
        .map_err(|error| WarehouseError {
            message: format!("source `{}`: {}", self.name, error.message),
            ..error
        })
    }

    fn purge_deleted(
        &mut self,
        table: &TableName,
        sequences: &[i64],
    ) -> Result<u64, WarehouseError> {
        let sql = format!("delete from {} where source_table = $1 and seq = any($2)", queue(table));
        let mut purged = 0;
        for batch in sequences.chunks(super::PURGE_BATCH) {
            purged += self
                .client
                .execute(&sql, &[&table.to_string(), &batch.to_vec()])
                .map_err(self.sql_error())?;
        }
        Ok(purged)
    }
}

impl PostgresSource {
    /// A read-only transaction whose statements are limited to `timeout_ms`.
    fn read_only(&mut self, timeout_ms: u64) -> Result<postgres::Transaction<'_>, WarehouseError> {
        let sql_error = self.sql_error();
        let mut transaction =
            self.client.build_transaction().read_only(true).start().map_err(&sql_error)?;
        transaction
            .batch_execute(&format!("set local statement_timeout = {timeout_ms}"))
            .map_err(&sql_error)?;
        Ok(transaction)
    }

    /// `COPY (select …) TO STDOUT` of `select`, streamed into `out` in a read-only transaction
    /// limited to `timeout_ms`, after binding `bounds` into the settings `select` reads.
    fn copy_out(
        &mut self,
        select: &str,
        bounds: &[String],
        out: &mut dyn Write,
        timeout_ms: u64,
    ) -> Result<u64, WarehouseError> {
        let (sql_error, name) = (self.sql_error(), self.name.clone());
        let mut transaction = self.read_only(timeout_ms)?;
        for (index, bound) in bounds.iter().enumerate() {
            transaction
                .execute(SET_BOUND, &[&bound_setting(index + 1), bound])
                .map_err(&sql_error)?;
        }
        let copy = format!("copy ({select}) to stdout with (format csv, null '{NULL_MARKER}')");
        let mut reader = transaction.copy_out(&copy).map_err(&sql_error)?;
        let mut counter = RecordCounter::new(out);
        let copied = std::io::copy(&mut reader, &mut counter);
        drop(reader);
        if let Err(error) = copied {
            // The driver reports a failed COPY as a read error carrying the server's message.
            return Err(match error.get_ref().and_then(|e| e.downcast_ref::<postgres::Error>()) {
                Some(sql) => named_error(&name, sql),
                None => WarehouseError::new(
                    FailureClass::Internal,
                    format!("source `{name}`: the export stopped: {error}"),
                ),
            });
        }
        let records = counter.records;
        transaction.commit().map_err(&sql_error)?;
        Ok(records)
    }
}

/// The queue table, its function and the trigger on `table` (see [`super::SourceKind::delete_tracking_ddl`]).
pub fn delete_tracking_ddl(table: &TableName, key: &[String]) -> Vec<String> {
    let queue = queue(table);
    let function = TableName { schema: table.schema.clone(), table: DELETE_TRIGGER.to_owned() };
    let index = quote_identifier(&format!("{DELETE_QUEUE}_by_table"));
    let arguments: Vec<String> =
        key.iter().map(|k| format!("'{}'", k.replace('\'', "''"))).collect();
    vec![
        format!(
            "create table if not exists {queue} (\n    seq bigserial primary key,\n    source_table text not null,\n    key jsonb not null,\n    deleted_at timestamptz not null default now()\n)"
        ),
        format!("create index if not exists {index} on {queue} (source_table, seq)"),
        format!(
            "create or replace function {}() returns trigger language plpgsql as $duro$\nbegin\n    insert into {queue} (source_table, key)\n        select tg_table_schema || '.' || tg_table_name, jsonb_object_agg(k, to_jsonb(old) -> k)\n        from unnest(tg_argv) as k;\n    return old;\nend\n$duro$",
            function.quoted()
        ),
        format!("drop trigger if exists {DELETE_TRIGGER} on {}", table.quoted()),
        format!(
            "create trigger {DELETE_TRIGGER} after delete on {} for each row execute procedure {}({})",
            table.quoted(),
            function.quoted(),
            arguments.join(", ")
        ),
    ]
}

/// The queue table of `table`'s schema, quoted.
fn queue(table: &TableName) -> String {
    TableName { schema: table.schema.clone(), table: DELETE_QUEUE.to_owned() }.quoted()
}

/// The arguments of the delete trigger on a table (`$1` the quoted table): the key columns.
const TRIGGER_KEY: &str = "select tgargs from pg_trigger
    where tgrelid = to_regclass($1) and tgname = 'duro_track_delete' and not tgisinternal";

/// Sets a transaction-local setting to a bound value.
const SET_BOUND: &str = "select set_config($1, $2, true)";

/// The setting holding the export's `n`th bound.
fn bound_setting(n: usize) -> String {
    format!("duro.bound_{n}")
}

/// PostgreSQL's names and bounds: each bound read from its setting and cast to the field's type
/// (the type from the source's own catalog).
const STYLE: SqlStyle = SqlStyle {
    quote: |name| quote_identifier(name),
    bound: |n, type_name| format!("cast(current_setting('{}') as {type_name})", bound_setting(n)),
    minus_seconds: |time, seconds| format!("{time} - interval '{seconds} seconds'"),
};

fn export_select(request: &ExportRequest) -> (String, Vec<String>) {
    select::export_select(request, &request.table.quoted(), &STYLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::replication::Nulls;
    use crate::sources::{ExportColumn, FieldRange};

    #[test]
    fn export_selects() {
        let request = |range| ExportRequest {
            table: TableName::parse("public.users").unwrap(),
            columns: vec![
                ExportColumn { name: "id".into(), expression: None },
                ExportColumn { name: "email".into(), expression: Some("lower(email)".into()) },
            ],
            range,
        };
        let range = |lo: Option<&str>, lookback_seconds, type_name: &str, nulls| FieldRange {
            field: "updated_at".into(),
            type_name: type_name.into(),
            lo: lo.map(str::to_owned),
            lookback_seconds,
            hi: "2026-12-01 10:00:00".into(),
            nulls,
        };
        let select = "select \"id\", (\nlower(email)\n) as \"email\" from \"public\".\"users\"";
        let bound = |n: usize, type_name: &str| {
            format!("cast(current_setting('duro.bound_{n}') as {type_name})")
        };
        let ts = "timestamp without time zone";
        let cases = [
            (request(None), select.to_owned(), 0),
            (
                request(Some(range(Some("2026-12-01 09:00:00"), 0, ts, Nulls::Skip))),
                format!(
                    "{select} where \"updated_at\" > {} and \"updated_at\" <= {}",
                    bound(1, ts),
                    bound(2, ts)
                ),
                2,
            ),
            (
                request(Some(range(Some("2026-12-01 09:00:00"), 5, ts, Nulls::Skip))),
                format!(
                    "{select} where \"updated_at\" > {} - interval '5 seconds' and \"updated_at\" <= {}",
                    bound(1, ts),
                    bound(2, ts)
                ),
                2,
            ),
            (
                request(Some(range(Some("7"), 5, "bigint", Nulls::Skip))),
                format!(
                    "{select} where \"updated_at\" > {} and \"updated_at\" <= {}",
                    bound(1, "bigint"),
                    bound(2, "bigint")
                ),
                2,
            ),
            (
                request(Some(range(None, 0, ts, Nulls::Include))),
                format!(
                    "{select} where (\"updated_at\" <= {}) or \"updated_at\" is null",
                    bound(1, ts)
                ),
                1,
            ),
        ];
        for (request, expected, bound_count) in cases {
            let (select, bounds) = export_select(&request);
            assert_eq!(select, expected);
            assert_eq!(bounds.len(), bound_count);
        }
    }
}
