//! A MySQL or MariaDB source (`mysql://user@host:port/database`): every statement that reads
//! rows is prepared and run with the binary protocol and bound values (the text protocol only
//! carries Duro's own fixed statements and the delete-tracking DDL built from checked names),
//! the export one read-only transaction limited to the node's timeout, streamed row by row.
//! Tables are `<database>.<table>`; names are quoted with backticks.

use super::select::{self, SqlStyle};
use super::{
    DELETE_QUEUE, DELETE_TRIGGER, ExportRequest, Source, SourceColumn, TriggerState, write_row,
};
use crate::build::FailureClass;
use crate::config::{SourceConnection, TlsMode};
use crate::identifier::TableName;
use crate::warehouse::WarehouseError;
use mysql::prelude::Queryable;
use mysql::{AccessMode, Conn, Opts, OptsBuilder, SslOpts, TxOpts, Value};
use std::io::Write;

/// An open MySQL or MariaDB source.
pub struct MysqlSource {
    conn: Conn,
    /// The connection's name in `duro.yaml`, for messages.
    name: String,
    /// MariaDB (`max_statement_time`, seconds) or MySQL (`max_execution_time`, milliseconds).
    mariadb: bool,
    /// The session's name, also a comment leading each export, so the process list shows
    /// whose it is.
    application_name: String,
}

/// A name between backticks (names are checked identifiers: no backtick in them).
fn quote(name: &str) -> String {
    format!("`{name}`")
}

fn relation(table: &TableName) -> String {
    format!("{}.{}", quote(&table.schema), quote(&table.table))
}

fn queue(table: &TableName) -> String {
    format!("{}.{}", quote(&table.schema), quote(DELETE_QUEUE))
}

/// The trigger's name: triggers are named per database, so the table's name is in it.
fn trigger(table: &TableName) -> String {
    format!("{DELETE_TRIGGER}_{}", table.table)
}

impl MysqlSource {
    /// Connects to the source `name`, its session named by the `program_name` attribute.
    pub fn connect(
        name: &str,
        connection: &SourceConnection,
        application_name: &str,
    ) -> Result<Self, WarehouseError> {
        let url = connection.url.as_ref().map(|url| url.expose().to_owned()).unwrap_or_default();
        let url = url.replacen("mariadb://", "mysql://", 1);
        let opts = Opts::from_url(&url).map_err(|error| {
            WarehouseError::new(
                FailureClass::Configuration,
                format!("source `{name}`: its URL is not valid: {error}"),
            )
        })?;
        let where_to = format!(
            "{}@{}:{}/{}",
            opts.get_user().unwrap_or_default(),
            opts.get_ip_or_hostname(),
            opts.get_tcp_port(),
            opts.get_db_name().unwrap_or_default()
        );
        let mut builder = OptsBuilder::from_opts(opts)
            .prefer_socket(false)
            .tcp_keepalive_time_ms(Some(60_000))
            .connect_attrs(Some(std::collections::HashMap::from([(
                "program_name",
                application_name,
            )])));
        if let Some(password) = &connection.password {
            builder = builder.pass(Some(password.expose()));
        }
        builder = match connection.tls.unwrap_or(TlsMode::Prefer) {
            TlsMode::Disable | TlsMode::Prefer => builder,
            TlsMode::Require => builder.ssl_opts(SslOpts::default()),
            TlsMode::VerifyCa => builder.ssl_opts(
                match &connection.tls_root_cert {
                    Some(path) => SslOpts::default().with_root_cert_path(Some(path.clone())),
                    None => SslOpts::default(),
                }
                .with_danger_skip_domain_validation(true),
            ),
        };
        let mut conn = Conn::new(builder).map_err(|error| {
            WarehouseError::new(
                FailureClass::Connection,
                format!("source `{name}`: cannot connect to {where_to}: {error}"),
            )
        })?;
        let version: String = conn
            .query_first("select version()")
            .map_err(|e| sql_error(name, &e))?
            .unwrap_or_default();
        Ok(Self {
            conn,
            name: name.to_owned(),
            mariadb: version.contains("MariaDB"),
            application_name: application_name.to_owned(),
        })
    }

    fn error(&self) -> impl Fn(mysql::Error) -> WarehouseError + '_ {
        |error| sql_error(&self.name, &error)
    }
}

fn sql_error(name: &str, error: &mysql::Error) -> WarehouseError {
    let class = match error {
        mysql::Error::IoError(_) | mysql::Error::DriverError(_) => FailureClass::Connection,
        // ER_STATEMENT_TIMEOUT (MariaDB), ER_QUERY_TIMEOUT (MySQL).
        mysql::Error::MySqlError(e) if e.code == 1969 || e.code == 3024 => FailureClass::Timeout,
        _ => FailureClass::SqlError,
    };
    WarehouseError::new(class, format!("source `{name}`: {error}"))
}

impl Source for MysqlSource {
    fn columns(&mut self, table: &TableName) -> Result<Vec<SourceColumn>, WarehouseError> {
        let rows: Vec<(String, String)> = self
            .conn
            .exec(
                "select column_name, column_type from information_schema.columns
                 where table_schema = ? and table_name = ? order by ordinal_position",
                (&table.schema, &table.table),
            )
            .map_err(|e| sql_error(&self.name, &e))?;
        if rows.is_empty() {
            return Err(WarehouseError::new(
                FailureClass::Configuration,
                format!("source `{}` has no table `{table}`", self.name),
            ));
        }
        Ok(rows.into_iter().map(|(name, type_name)| SourceColumn { name, type_name }).collect())
    }

    fn is_indexed(&mut self, table: &TableName, field: &str) -> Result<bool, WarehouseError> {
        let found: Option<i64> = self
            .conn
            .exec_first(
                "select count(*) from information_schema.statistics
                 where table_schema = ? and table_name = ? and column_name = ? and seq_in_index = 1",
                (&table.schema, &table.table, field),
            )
            .map_err(|e| sql_error(&self.name, &e))?;
        Ok(found.unwrap_or(0) > 0)
    }

    fn count_nulls(&mut self, table: &TableName, field: &str) -> Result<u64, WarehouseError> {
        let sql =
            format!("select count(*) from {} where {} is null", relation(table), quote(field));
        let count: Option<i64> =
            self.conn.exec_first(sql, ()).map_err(|e| sql_error(&self.name, &e))?;
        Ok(count.unwrap_or(0) as u64)
    }

    fn max_value(
        &mut self,
        table: &TableName,
        field: &str,
    ) -> Result<Option<String>, WarehouseError> {
        let sql = format!("select cast(max({}) as char) from {}", quote(field), relation(table));
        let value: Option<Option<String>> =
            self.conn.exec_first(sql, ()).map_err(|e| sql_error(&self.name, &e))?;
        Ok(value.flatten())
    }

    fn export(
        &mut self,
        request: &ExportRequest,
        out: &mut dyn Write,
        timeout_ms: u64,
    ) -> Result<u64, WarehouseError> {
        let (select, bounds) = export_select(request);
        // Names are letters, digits and dashes: nothing that could end the comment.
        let select = format!("/* {} */ {select}", self.application_name);
        let name = self.name.clone();
        let limit = if self.mariadb {
            format!("set session max_statement_time = {}", timeout_ms as f64 / 1000.0)
        } else {
            format!("set session max_execution_time = {timeout_ms}")
        };
        self.conn.query_drop(limit).map_err(self.error())?;
        let options = TxOpts::default().set_access_mode(Some(AccessMode::ReadOnly));
        let mut transaction =
            self.conn.start_transaction(options).map_err(|e| sql_error(&name, &e))?;
        let mut count = 0;
        {
            let rows = transaction
                .exec_iter(
                    select.as_str(),
                    mysql::Params::Positional(bounds.into_iter().map(Value::from).collect()),
                )
                .map_err(|e| sql_error(&name, &e))?;
            let binary: Vec<bool> = rows.columns().as_ref().iter().map(is_binary).collect();
            let mut texts: Vec<Option<String>> = Vec::new();
            for row in rows {
                let row = row.map_err(|e| sql_error(&name, &e))?;
                texts.clear();
                for (index, value) in row.unwrap().into_iter().enumerate() {
                    texts.push(text_of(value, binary.get(index).copied().unwrap_or(false)));
                }
                write_row(out, &texts)?;
                count += 1;
            }
        }
        transaction.commit().map_err(|e| sql_error(&name, &e))?;
        Ok(count)
    }

    fn apply(&mut self, statements: &[String]) -> Result<(), WarehouseError> {
        // DDL commits on its own in MySQL: each statement is idempotent instead.
        for statement in statements {
            self.conn.query_drop(statement).map_err(|e| sql_error(&self.name, &e))?;
        }
        Ok(())
    }

    fn delete_trigger(
        &mut self,
        table: &TableName,
        key: &[String],
    ) -> Result<TriggerState, WarehouseError> {
        let body: Option<String> = self
            .conn
            .exec_first(
                "select action_statement from information_schema.triggers
                 where event_object_schema = ? and event_object_table = ? and trigger_name = ?",
                (&table.schema, &table.table, trigger(table)),
            )
            .map_err(|e| sql_error(&self.name, &e))?;
        Ok(match body {
            None => TriggerState::Missing,
            Some(body) if body.contains(&key_object(key)) => TriggerState::Installed,
            Some(_) => TriggerState::OtherKey,
        })
    }

    fn delete_sequence(&mut self, table: &TableName) -> Result<Option<i64>, WarehouseError> {
        let sql = format!("select max(seq) from {} where source_table = ?", queue(table));
        let value: Option<Option<i64>> = self
            .conn
            .exec_first(sql, (table.to_string(),))
            .map_err(|e| sql_error(&self.name, &e))?;
        Ok(value.flatten())
    }

    fn export_deleted_keys(
        &mut self,
        table: &TableName,
        key: &[String],
        through: i64,
        out: &mut dyn Write,
        _timeout_ms: u64,
    ) -> Result<Vec<i64>, WarehouseError> {
        let columns: Vec<String> =
            key.iter().map(|k| format!("json_unquote(json_extract(key_json, '$.{k}'))")).collect();
        let sql = format!(
            "select seq, {} from {} where source_table = ? and seq <= ? order by seq",
            columns.join(", "),
            queue(table)
        );
        let name = self.name.clone();
        let rows = self
            .conn
            .exec_iter(sql, (table.to_string(), through))
            .map_err(|e| sql_error(&name, &e))?;
        let mut sequences = Vec::new();
        for row in rows {
            let mut values = row.map_err(|e| sql_error(&name, &e))?.unwrap().into_iter();
            let sequence = match values.next() {
                Some(Value::Int(n)) => n,
                Some(Value::UInt(n)) => n as i64,
                other => {
                    return Err(WarehouseError::new(
                        FailureClass::Internal,
                        format!("source `{name}`: a queue row without its sequence ({other:?})"),
                    ));
                }
            };
            sequences.push(sequence);
            let texts: Vec<Option<String>> = values.map(|v| text_of(v, false)).collect();
            write_row(out, &texts)?;
        }
        Ok(sequences)
    }

    fn purge_deleted(
        &mut self,
        table: &TableName,
        sequences: &[i64],
    ) -> Result<u64, WarehouseError> {
        let mut purged = 0;
        for batch in sequences.chunks(super::PURGE_BATCH) {
            let sql = format!(
                "delete from {} where source_table = ? and seq in ({})",
                queue(table),
                vec!["?"; batch.len()].join(", ")
            );
            let mut values = vec![Value::from(table.to_string())];
            values.extend(batch.iter().map(|n| Value::from(*n)));
            self.conn.exec_drop(sql, mysql::Params::Positional(values)).map_err(self.error())?;
            purged += self.conn.affected_rows();
        }
        Ok(purged)
    }

    /// The sessions running an export whose leading comment names `application_name`.
    fn end_sessions_named(&mut self, application_name: &str) -> Result<usize, WarehouseError> {
        let ids: Vec<u64> = self
            .conn
            .exec(
                "select id from information_schema.processlist
                 where info like concat('/* ', ?, ' */%') and id <> connection_id()",
                (application_name,),
            )
            .map_err(|e| sql_error(&self.name, &e))?;
        for id in &ids {
            self.conn.query_drop(format!("kill {id}")).map_err(|e| sql_error(&self.name, &e))?;
        }
        Ok(ids.len())
    }
}

/// The queue table, and the trigger that fills it with the `key` columns of each deleted row of
/// `table` as a JSON object (MySQL has no trigger arguments: one trigger per table).
pub fn delete_tracking_ddl(table: &TableName, key: &[String]) -> Vec<String> {
    vec![
        format!(
            "create table if not exists {} (\n    seq bigint not null auto_increment primary key,\n    source_table varchar(200) not null,\n    key_json longtext not null,\n    deleted_at timestamp not null default current_timestamp,\n    key by_table (source_table, seq)\n)",
            queue(table)
        ),
        format!("drop trigger if exists {}.{}", quote(&table.schema), quote(&trigger(table))),
        format!(
            "create trigger {}.{} after delete on {} for each row insert into {} (source_table, key_json) values ('{table}', {})",
            quote(&table.schema),
            quote(&trigger(table)),
            relation(table),
            queue(table),
            key_object(key)
        ),
    ]
}

/// The JSON object of a deleted row's key, as the trigger builds it.
fn key_object(key: &[String]) -> String {
    let pairs: Vec<String> = key.iter().map(|k| format!("'{k}', old.{}", quote(k))).collect();
    format!("json_object({})", pairs.join(", "))
}

/// Whether a column holds bytes (a blob or a binary string): the binary character set on a
/// string or blob type (DECIMAL, BIT and JSON columns carry that character set too, as text).
fn is_binary(column: &mysql::Column) -> bool {
    use mysql::consts::ColumnType::*;
    column.character_set() == 63
        && matches!(
            column.column_type(),
            MYSQL_TYPE_TINY_BLOB
                | MYSQL_TYPE_MEDIUM_BLOB
                | MYSQL_TYPE_LONG_BLOB
                | MYSQL_TYPE_BLOB
                | MYSQL_TYPE_VAR_STRING
                | MYSQL_TYPE_STRING
                | MYSQL_TYPE_VARCHAR
        )
}

/// A value as text: what PostgreSQL's `COPY` reads back for the target column.
fn text_of(value: Value, binary: bool) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(bytes) if binary => {
            Some(format!("\\x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
        }
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::Int(number) => Some(number.to_string()),
        Value::UInt(number) => Some(number.to_string()),
        Value::Float(number) => Some(number.to_string()),
        Value::Double(number) => Some(number.to_string()),
        Value::Date(year, month, day, hour, minute, second, micros) => Some(format!(
            "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}{}",
            if micros > 0 { format!(".{micros:06}") } else { String::new() }
        )),
        Value::Time(negative, days, hours, minutes, seconds, micros) => Some(format!(
            "{}{:02}:{minutes:02}:{seconds:02}{}",
            if negative { "-" } else { "" },
            u32::from(hours) + days * 24,
            if micros > 0 { format!(".{micros:06}") } else { String::new() }
        )),
    }
}

/// MySQL's names and bounds: backticks, `?` placeholders, times moved back with `date_sub`.
const STYLE: SqlStyle = SqlStyle {
    quote,
    bound: |_, type_name| typed_placeholder(type_name),
    minus_seconds: |time, seconds| format!("date_sub({time}, interval {seconds} second)"),
};

fn export_select(request: &ExportRequest) -> (String, Vec<String>) {
    select::export_select(request, &relation(&request.table), &STYLE)
}

/// A bound value cast to the field's kind of number, so MySQL compares numbers as numbers (a
/// string against an integer compares as doubles, which lose precision past 2^53).
fn typed_placeholder(type_name: &str) -> String {
    let type_name = type_name.to_lowercase();
    if type_name.contains("int") {
        if type_name.contains("unsigned") {
            "cast(? as unsigned)".to_owned()
        } else {
            "cast(? as signed)".to_owned()
        }
    } else if type_name.starts_with("decimal") || type_name.starts_with("numeric") {
        "cast(? as decimal(65, 30))".to_owned()
    } else {
        "?".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_selects() {
        use crate::catalog::replication::Nulls;
        use crate::sources::{ExportColumn, FieldRange};
        let request = ExportRequest {
            table: TableName::parse("app.users").unwrap(),
            columns: vec![
                ExportColumn { name: "id".into(), expression: None },
                ExportColumn { name: "email".into(), expression: Some("lower(email)".into()) },
            ],
            range: Some(FieldRange {
                field: "updated_at".into(),
                type_name: "datetime(6)".into(),
                lo: Some("2026-12-01 10:00:00".into()),
                lookback_seconds: 5,
                hi: "2026-12-01 11:00:00".into(),
                nulls: Nulls::Include,
            }),
        };
        let (select, bounds) = export_select(&request);
        assert_eq!(
            select,
            "select `id`, (\nlower(email)\n) as `email` from `app`.`users` where (`updated_at` > date_sub(?, interval 5 second) and `updated_at` <= ?) or `updated_at` is null"
        );
        assert_eq!(typed_placeholder("bigint(20) unsigned"), "cast(? as unsigned)");
        assert_eq!(typed_placeholder("int(11)"), "cast(? as signed)");
        assert_eq!(typed_placeholder("decimal(12,2)"), "cast(? as decimal(65, 30))");
        assert_eq!(bounds, ["2026-12-01 10:00:00", "2026-12-01 11:00:00"]);
    }

    #[test]
    fn values_as_text() {
        let cases = [
            (Value::NULL, false, None),
            (Value::Bytes(b"caf\xc3\xa9".to_vec()), false, Some("café")),
            (Value::Bytes(vec![0, 255]), true, Some("\\x00ff")),
            (Value::Int(-7), false, Some("-7")),
            (Value::Double(1.5), false, Some("1.5")),
            (Value::Date(2026, 12, 1, 9, 5, 3, 0), false, Some("2026-12-01 09:05:03")),
            (Value::Date(2026, 12, 1, 0, 0, 0, 250), false, Some("2026-12-01 00:00:00.000250")),
            (Value::Time(true, 1, 2, 3, 4, 0), false, Some("-26:03:04")),
        ];
        for (value, binary, expected) in cases {
            assert_eq!(text_of(value, binary).as_deref(), expected);
        }
    }
}
