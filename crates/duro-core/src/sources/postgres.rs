//! A PostgreSQL source: connected like the warehouse (TLS, keepalives, a named session), read
//! through `pg_catalog` and a cursor in a read-only transaction whose bounds are bound values.

use super::{ExportRequest, SourceColumn};
use crate::build::FailureClass;
use crate::config::{Dialect, SourceConnection, WarehouseConfig};
use crate::identifier::{TableName, quote_identifier};
use crate::warehouse::WarehouseError;
use crate::warehouse::connection;
use crate::warehouse::export::{ExportError, Fetched, select_to_csv};
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
        move |error| {
            let error = WarehouseError::from_postgres(&error, false);
            WarehouseError { message: format!("source `{name}`: {}", error.message), ..error }
        }
    }

    /// The table's columns in order; an error when the table does not exist.
    pub fn columns(&mut self, table: &TableName) -> Result<Vec<SourceColumn>, WarehouseError> {
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

    /// Whether `field` leads an index of the table (an incremental export scans it otherwise).
    pub fn is_indexed(&mut self, table: &TableName, field: &str) -> Result<bool, WarehouseError> {
        let row =
            self.client.query_one(INDEXED, &[&table.quoted(), &field]).map_err(self.sql_error())?;
        Ok(row.get(0))
    }

    /// The highest value of `field` in its text form, `None` for an empty table.
    pub fn max_value(
        &mut self,
        table: &TableName,
        field: &str,
    ) -> Result<Option<String>, WarehouseError> {
        let sql = format!("select max({})::text from {}", quote_identifier(field), table.quoted());
        let row = self.client.query_one(&sql, &[]).map_err(self.sql_error())?;
        Ok(row.get(0))
    }

    /// Streams the requested rows to `out` as CSV (header row first), in a read-only
    /// transaction limited to `timeout_ms`.
    pub fn export<W: Write>(
        &mut self,
        request: &ExportRequest,
        out: &mut W,
        timeout_ms: u64,
    ) -> Result<Fetched, WarehouseError> {
        let (select, bounds) = export_select(request);
        let sql_error = self.sql_error();
        let mut transaction =
            self.client.build_transaction().read_only(true).start().map_err(&sql_error)?;
        transaction
            .batch_execute(&format!("set local statement_timeout = {timeout_ms}"))
            .map_err(&sql_error)?;
        let fetched =
            select_to_csv(&mut transaction, &select, &bounds, out, b',').map_err(|error| {
                match error {
                    ExportError::Sql(error) => sql_error(error),
                    ExportError::Io(error) => WarehouseError::new(
                        FailureClass::Internal,
                        format!("cannot write the exported rows: {error}"),
                    ),
                }
            })?;
        transaction.commit().map_err(&sql_error)?;
        Ok(fetched)
    }
}

/// The export's select and the values its `$n` take. Names are quoted; the field's type comes
/// from the source's own catalog; the bounds are bound as text and cast.
fn export_select(request: &ExportRequest) -> (String, Vec<String>) {
    let columns: Vec<String> = request
        .columns
        .iter()
        .map(|column| match &column.expression {
            None => quote_identifier(&column.name),
            // On lines of its own, so a `--` comment in it cannot reach the rest.
            Some(expression) => format!("(\n{expression}\n) as {}", quote_identifier(&column.name)),
        })
        .collect();
    let mut select = format!("select {} from {}", columns.join(", "), request.table.quoted());
    let mut bounds = Vec::new();
    if let Some(range) = &request.range {
        let field = quote_identifier(&range.field);
        let mut conditions = Vec::new();
        if let Some(lo) = &range.lo {
            bounds.push(lo.clone());
            conditions.push(format!(
                "{field} > cast(${}::text as {})",
                bounds.len(),
                range.type_name
            ));
        }
        bounds.push(range.hi.clone());
        conditions.push(format!("{field} <= cast(${}::text as {})", bounds.len(), range.type_name));
        let within = conditions.join(" and ");
        let condition = match range.nulls {
            crate::catalog::replication::Nulls::Skip => within,
            crate::catalog::replication::Nulls::Include => format!("({within}) or {field} is null"),
        };
        select.push_str(&format!(" where {condition}"));
    }
    (select, bounds)
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
        let range = |lo: Option<&str>, nulls| FieldRange {
            field: "updated_at".into(),
            type_name: "timestamp without time zone".into(),
            lo: lo.map(str::to_owned),
            hi: "2026-12-01 10:00:00".into(),
            nulls,
        };
        let cases = [
            (
                request(None),
                "select \"id\", (\nlower(email)\n) as \"email\" from \"public\".\"users\"",
                0,
            ),
            (
                request(Some(range(Some("2026-12-01 09:00:00"), Nulls::Skip))),
                "select \"id\", (\nlower(email)\n) as \"email\" from \"public\".\"users\" where \"updated_at\" > cast($1::text as timestamp without time zone) and \"updated_at\" <= cast($2::text as timestamp without time zone)",
                2,
            ),
            (
                request(Some(range(None, Nulls::Include))),
                "select \"id\", (\nlower(email)\n) as \"email\" from \"public\".\"users\" where (\"updated_at\" <= cast($1::text as timestamp without time zone)) or \"updated_at\" is null",
                1,
            ),
        ];
        for (request, sql, bound) in cases {
            let (select, bounds) = export_select(&request);
            assert_eq!(select, sql);
            assert_eq!(bounds.len(), bound);
        }
    }
}
