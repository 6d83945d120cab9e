//! The SQL of an S3 load: the table created from its declared columns (Redshift's keys from the
//! columns or the `.conf`), a column added, the newest data date, the rows deleted before a load
//! (all of them, or the file's period, its bounds bound as values), and Redshift's `COPY` of one
//! object (`JSON 'auto'`, a JSONPaths file, or CSV in the file's dialect; `GZIP` by extension),
//! through a manifest when another object's key starts with the file's (`COPY` reads a prefix).

use crate::catalog::TableConfig;
use crate::catalog::s3_load::{ColumnType, CsvFormat, LoadColumn, LoadCopyOptions};
use crate::config::Dialect;
use crate::identifier::{TableName, quote_identifier};
use crate::warehouse::render::{CopyCredentials, authorization, literal, table_attributes};

/// `create table` with the declared columns; on Redshift the columns' distribution key and
/// sort key (compound, in the order of their `sortkey` places), or else the `.conf`'s.
pub fn create_table(
    dialect: Dialect,
    table: &TableName,
    columns: &[LoadColumn],
    config: &TableConfig,
) -> String {
    let definitions: Vec<String> = columns.iter().map(LoadColumn::definition).collect();
    let attributes = match dialect {
        Dialect::Postgres => String::new(),
        Dialect::Redshift => {
            let mut sorted: Vec<&LoadColumn> =
                columns.iter().filter(|c| c.sortkey.is_some()).collect();
            sorted.sort_by_key(|c| c.sortkey);
            let distkey = columns.iter().find(|c| c.distkey);
            if sorted.is_empty() && distkey.is_none() {
                table_attributes(config)
            } else {
                let keys = TableConfig {
                    distkey: distkey.map(|c| c.name.clone()),
                    sortkey: sorted.iter().map(|c| c.name.clone()).collect(),
                    ..TableConfig::default()
                };
                table_attributes(&keys)
            }
        }
    };
    format!("create table {} (\n    {}\n){attributes}", table.quoted(), definitions.join(",\n    "))
}

/// Adding a declared column the table lacks (nullable and without keys: the one change a load
/// makes).
pub fn add_column(table: &TableName, column: &LoadColumn) -> String {
    format!("alter table {} add column {}", table.quoted(), column.definition())
}

/// Whether the table has a data date, and its newest as text: `YYYY-MM-DD` for a date column,
/// `YYYY-MM-DDTHH:MI:SS` in UTC otherwise (NULLs ignored; NULL when none can be shown).
pub fn newest_date(table: &TableName, column: &str, column_type: ColumnType) -> String {
    let column = quote_identifier(column);
    let text = match column_type {
        ColumnType::Date => format!("to_char(max({column}), 'YYYY-MM-DD')"),
        ColumnType::Timestamptz => {
            format!("to_char(max({column}) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')")
        }
        _ => format!("to_char(max({column})::timestamp, 'YYYY-MM-DD\"T\"HH24:MI:SS')"),
    };
    format!("select max({column}) is not null, {text} from {}", table.quoted())
}

/// Deleting the rows of one period: `$1` its start, `$2` its end (local days for a date column,
/// RFC 3339 text in UTC otherwise).
pub fn delete_period(table: &TableName, column: &str, column_type: ColumnType) -> String {
    let column = quote_identifier(column);
    let cast = match column_type {
        ColumnType::Date => "date",
        ColumnType::Timestamptz => "timestamptz",
        _ => "timestamp",
    };
    format!(
        "delete from {} where {column} >= cast($1::text as {cast}) and {column} < cast($2::text as {cast})",
        table.quoted()
    )
}

/// How Redshift reads one file.
pub enum RedshiftFormat<'a> {
    JsonAuto,
    /// The JSONPaths file's URL.
    JsonPaths(&'a str),
    Csv(CsvFormat),
}

/// Redshift: `COPY` of the object at `url` (or the objects a manifest at `url` lists) into
/// `table`; returns the statement and the same with the secrets replaced, for logs.
#[allow(clippy::too_many_arguments)]
pub fn copy_from_s3(
    table: &TableName,
    columns: &[LoadColumn],
    url: &str,
    manifest: bool,
    format: &RedshiftFormat<'_>,
    gzip: bool,
    credentials: &CopyCredentials,
    region: Option<&str>,
    options: &LoadCopyOptions,
) -> (String, String) {
    let mut clauses = Vec::new();
    match format {
        RedshiftFormat::JsonAuto => clauses.push("format as json 'auto'".to_owned()),
        RedshiftFormat::JsonPaths(paths) => {
            clauses.push(format!("format as json {}", literal(paths)))
        }
        RedshiftFormat::Csv(csv) => {
            clauses.push(format!("format as csv quote as {}", literal(&csv.quote.to_string())));
            // As on PostgreSQL: `\N` is NULL (written `'\\N'`: a backslash escapes in
            // Redshift's literals).
            clauses.push("null as '\\\\N'".to_owned());
            if csv.delimiter != ',' {
                let delimiter = match csv.delimiter {
                    '\t' => "'\\t'".to_owned(),
                    other => literal(&other.to_string()),
                };
                clauses.push(format!("delimiter {delimiter}"));
            }
            if csv.header {
                clauses.push("ignoreheader 1".to_owned());
            }
            if options.empty_as_null {
                clauses.push("emptyasnull".to_owned());
            }
        }
    }
    clauses.extend(["dateformat 'auto'".to_owned(), "timeformat 'auto'".to_owned()]);
    let flags =
        [(gzip, "gzip"), (manifest, "manifest"), (options.truncate_columns, "truncatecolumns")];
    clauses.extend(flags.iter().filter(|(on, _)| *on).map(|(_, flag)| (*flag).to_owned()));
    if options.max_errors > 0 {
        clauses.push(format!("maxerror {}", options.max_errors));
    }
    if let Some(region) = region {
        clauses.push(format!("region {}", literal(region)));
    }
    // Statistics come from `after_load.analyze`, after the commit.
    clauses.push("statupdate off".to_owned());
    let names: Vec<String> = columns.iter().map(|c| quote_identifier(&c.name)).collect();
    let render = |exposed: bool| {
        format!(
            "copy {} ({}) from {} {} {}",
            table.quoted(),
            names.join(", "),
            literal(url),
            authorization(credentials, exposed),
            clauses.join(" ")
        )
    };
    (render(true), render(false))
}

/// A Redshift manifest naming exactly one object.
pub fn manifest(url: &str) -> String {
    serde_json::json!({"entries": [{"url": url, "mandatory": true}]}).to_string()
}
