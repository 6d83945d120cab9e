//! Rendering the SQL Duro sends to the warehouse, as pure functions: temporary tables with
//! Redshift distribution and sort keys, grants, the swap, dependent views and snapshots. Every
//! identifier is quoted; every name was validated by the scheduler; values are bound by the
//! caller, never pasted in.

use crate::catalog::{CsvDelimiter, TableConfig};
use crate::config::{Dialect, Secret};
pub use crate::identifier::{TableName, quote_identifier};
use crate::warehouse::grantee::Grantee;

/// Suffix of the table a new version is built into.
pub const TEMP_SUFFIX: &str = "_duro_temp";
/// Suffix the live table briefly carries during the swap.
pub const OLD_SUFFIX: &str = "_duro_old";
/// Suffix of the snapshots table.
pub const HISTORY_SUFFIX: &str = "_history";
/// The column snapshots add to the history table.
pub const SNAPSHOT_COLUMN: &str = "snapshot_timestamp";

/// Ends the transaction a failed statement left open (or nothing, outside one).
pub const ROLLBACK: &str = "rollback";

/// The server's version string (`--check-warehouse`).
pub const SERVER_VERSION: &str = "select version()";

/// A one-column table of `--check-warehouse`.
pub fn create_probe_table(table: &TableName) -> String {
    format!("create table {} (probe int)", table.quoted())
}

/// Reading the column of a probe table or view.
pub fn select_probe(relation: &TableName) -> String {
    format!("select probe from {}", relation.quoted())
}

/// Limits each following statement of the session to `milliseconds` (a number Duro computed).
pub fn set_statement_timeout(milliseconds: u64) -> String {
    format!("set statement_timeout = {milliseconds}")
}

/// Counting the rows of a table Duro built.
pub fn count_rows(table: &TableName) -> String {
    format!("select count(*) from {}", table.quoted())
}

/// Asking for the plan of a query before building it (`max_cost`; sent alone: it carries the
/// repository's query). The query sits inside parentheses, as in the `create table … as` that
/// follows, so the text can only be a query: never `explain analyze <statement>`, which would
/// run it.
pub fn explain(query: &str) -> String {
    format!(
        "explain select * from (\n{}\n) as duro_explain",
        query.trim_end().trim_end_matches(';')
    )
}

/// Refreshing the planner's statistics of a table Duro built or loaded (`analyze=`,
/// `after_load.analyze`).
pub fn analyze(table: &TableName) -> String {
    format!("analyze {}", table.quoted())
}

/// Starts the swap's transaction. View definitions are read back fully qualified when no user
/// schema is on the search path.
pub const BEGIN_SWAP: &str = "begin; set local search_path to pg_catalog";

/// The cursor a processor's input is exported through (sent alone: it carries the repository's
/// select).
pub fn declare_export_cursor(select: &str) -> String {
    format!("declare duro_export cursor for {select}")
}

/// The next `rows` rows of the export cursor.
pub fn fetch_export(rows: usize) -> String {
    format!("fetch forward {rows} from duro_export")
}

/// Closing the export cursor.
pub const CLOSE_EXPORT: &str = "close duro_export";

/// `drop table if exists` (a leftover temporary table, before building a new one).
pub fn drop_table_if_exists(table: &TableName) -> String {
    format!("drop table if exists {}", table.quoted())
}

/// `create table … as (query)` for the temporary table (sent alone: it carries the repository's
/// query). Redshift gets `DISTSTYLE`/`DISTKEY`/`SORTKEY` (compound by default); PostgreSQL has no
/// such clauses.
pub fn create_temp_table(
    dialect: Dialect,
    temp: &TableName,
    query: &str,
    config: &TableConfig,
) -> String {
    let attributes = redshift_attributes(dialect, config);
    // The newline before `)` keeps a trailing `-- comment` in the query from swallowing it.
    format!("create table {}{attributes} as (\n{query}\n)", temp.quoted())
}

/// A processor's `create table` (already naming the temporary table) with the `.conf`'s
/// distribution and sort keys appended on Redshift, as the original Duro did.
pub fn processor_create_table(dialect: Dialect, ddl: &str, config: &TableConfig) -> String {
    let ddl = ddl.trim_end().trim_end_matches(';').trim_end();
    format!("{ddl}{}", redshift_attributes(dialect, config))
}

fn redshift_attributes(dialect: Dialect, config: &TableConfig) -> String {
    match dialect {
        Dialect::Redshift => table_attributes(config),
        Dialect::Postgres => String::new(),
    }
}

/// ` diststyle key distkey ("c") sortkey ("a", "b")`, or an empty string.
pub(crate) fn table_attributes(config: &TableConfig) -> String {
    let mut attributes = String::new();
    match (&config.distkey, config.diststyle.as_deref()) {
        (Some(key), _) => {
            attributes.push_str(&format!(" diststyle key distkey ({})", quote_identifier(key)))
        }
        (None, Some(style)) => attributes.push_str(&format!(" diststyle {style}")),
        (None, None) => {}
    }
    if !config.sortkey.is_empty() {
        let columns: Vec<String> = config.sortkey.iter().map(|c| quote_identifier(c)).collect();
        // A sort key is compound by default on Redshift; `sortkey (a, b)` is the compound key.
        attributes.push_str(&format!(" sortkey ({})", columns.join(", ")));
    }
    attributes
}

/// `grant select on … to …` for each grantee, every name quoted.
pub fn grants(table: &TableName, grantees: &[Grantee]) -> Vec<String> {
    let relation = table.quoted();
    grantees.iter().map(|grantee| grantee.grant_select(&relation)).collect()
}

/// Giving a re-created view back to its owner (`alter table` works for views on both dialects).
pub fn alter_owner(relation: &TableName, owner: &str) -> String {
    format!("alter table {} owner to {}", relation.quoted(), quote_identifier(owner))
}

/// One statement of a swap. `alone` when it carries text read from the warehouse (a view
/// definition), so it is sent by itself (see `warehouse::statement`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwapStatement {
    pub sql: String,
    pub alone: bool,
}

impl SwapStatement {
    fn fixed(sql: String) -> Self {
        Self { sql, alone: false }
    }

    fn carrying(sql: String) -> Self {
        Self { sql, alone: true }
    }
}

/// A view bound to the live table, directly or through other views, as the swap rebuilds it.
#[derive(Clone, Debug)]
pub struct ChainView<'a> {
    pub view: &'a TableName,
    /// Its definition, pointed at the temporary table when it reads the live table.
    pub definition: String,
    pub owner: &'a str,
    pub grantees: &'a [Grantee],
    pub reads_live: bool,
}

/// The statements that move the views of `chain` (in dependency order) to the new table before
/// the renames. When the new table has the live one's columns, the views reading the live table
/// are replaced in place (owner and grants stay); otherwise the whole chain is dropped (last view
/// first) and created again in order, each given back to its owner with its grants. No
/// savepoints: Redshift has none.
pub fn repoint_views(chain: &[ChainView], same_columns: bool) -> Vec<SwapStatement> {
    if same_columns {
        return chain
            .iter()
            .filter(|v| v.reads_live)
            .map(|v| SwapStatement::carrying(view_definition(v.view, &v.definition, true)))
            .collect();
    }
    let mut statements: Vec<SwapStatement> =
        chain.iter().rev().map(|v| SwapStatement::fixed(drop_view(v.view))).collect();
    for v in chain {
        statements.push(SwapStatement::carrying(view_definition(v.view, &v.definition, false)));
        statements.push(SwapStatement::fixed(alter_owner(v.view, v.owner)));
        statements.extend(grants(v.view, v.grantees).into_iter().map(SwapStatement::fixed));
    }
    statements
}

/// The renames and drop that replace the live table by the temporary one (run inside one
/// transaction, after dependent views were re-pointed to the temporary table).
pub fn swap(live: &TableName, temp: &TableName, old: &TableName, live_exists: bool) -> Vec<String> {
    let mut statements = Vec::new();
    if live_exists {
        statements.push(format!(
            "alter table {} rename to {}",
            live.quoted(),
            quote_identifier(&old.table)
        ));
    }
    statements.push(format!(
        "alter table {} rename to {}",
        temp.quoted(),
        quote_identifier(&live.table)
    ));
    if live_exists {
        statements.push(format!("drop table {}", old.quoted()));
    }
    statements
}

/// Re-creating a dependent view with a new definition: in place when its columns still fit,
/// otherwise dropped and created again (`replace == false`).
pub fn view_definition(view: &TableName, definition: &str, replace: bool) -> String {
    let definition = definition.trim_end().trim_end_matches(';');
    let verb = if replace { "create or replace view" } else { "create view" };
    format!("{verb} {} as\n{definition}", view.quoted())
}

pub fn drop_view(view: &TableName) -> String {
    format!("drop view {}", view.quoted())
}

pub fn drop_view_if_exists(view: &TableName) -> String {
    format!("drop view if exists {}", view.quoted())
}

/// The time of a snapshot. Redshift runs `current_timestamp` only on the leader node, which
/// fails in a statement that reads a user table; `getdate()` runs on the compute nodes.
fn snapshot_now(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Redshift => "getdate()",
        Dialect::Postgres => "current_timestamp::timestamp",
    }
}

/// Creating the (empty) history table with the live table's columns plus the snapshot time.
pub fn create_history(dialect: Dialect, history: &TableName, live: &TableName) -> String {
    format!(
        "create table {} as select *, {} as {} from {} limit 0",
        history.quoted(),
        snapshot_now(dialect),
        quote_identifier(SNAPSHOT_COLUMN),
        live.quoted()
    )
}

/// Adding a column the live table gained to the history table.
pub fn add_history_column(history: &TableName, column: &str, column_type: &str) -> String {
    format!(
        "alter table {} add column {} {column_type}",
        history.quoted(),
        quote_identifier(column)
    )
}

/// Appending the live rows to the history table. `columns` are the live table's columns.
pub fn insert_snapshot(
    dialect: Dialect,
    history: &TableName,
    live: &TableName,
    columns: &[String],
) -> String {
    let list: Vec<String> = columns.iter().map(|c| quote_identifier(c)).collect();
    let list = list.join(", ");
    format!(
        "insert into {} ({list}, {}) select {list}, {} from {}",
        history.quoted(),
        quote_identifier(SNAPSHOT_COLUMN),
        snapshot_now(dialect),
        live.quoted()
    )
}

/// Deleting snapshots older than `minutes` (bound as `$1`, a whole number of minutes).
pub fn delete_old_snapshots(dialect: Dialect, history: &TableName) -> String {
    let column = quote_identifier(SNAPSHOT_COLUMN);
    let history = history.quoted();
    match dialect {
        Dialect::Redshift => {
            format!("delete from {history} where {column} < dateadd(minute, -$1::int, getdate())")
        }
        Dialect::Postgres => format!(
            "delete from {history} where {column} < current_timestamp::timestamp - ($1::int * interval '1 minute')"
        ),
    }
}

/// The newest snapshot's age in whole minutes (NULL when there is none).
pub fn newest_snapshot_age_minutes(dialect: Dialect, history: &TableName) -> String {
    let column = quote_identifier(SNAPSHOT_COLUMN);
    let history = history.quoted();
    match dialect {
        Dialect::Redshift => {
            format!("select datediff(minute, max({column}), getdate())::bigint from {history}")
        }
        Dialect::Postgres => format!(
            "select (extract(epoch from (current_timestamp::timestamp - max({column}))) / 60)::bigint from {history}"
        ),
    }
}

/// How Redshift's `COPY` authenticates to S3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyCredentials {
    IamRole(String),
    /// Keys, with the session token of temporary ones.
    Keys {
        access_key_id: String,
        secret_access_key: Secret,
        session_token: Option<Secret>,
    },
}

impl CopyCredentials {
    /// How `COPY` reaches S3 with the `s3:` settings: the IAM role, or else the keys; `None`
    /// when neither is configured.
    pub fn from_config(config: &crate::config::S3Config) -> Option<Self> {
        match &config.iam_role {
            Some(role) => Some(CopyCredentials::IamRole(role.clone())),
            None => config.keys().map(|(access_key_id, secret_access_key)| CopyCredentials::Keys {
                access_key_id: access_key_id.to_owned(),
                secret_access_key: secret_access_key.clone(),
                session_token: config.session_token.clone(),
            }),
        }
    }
}

/// A SQL string literal: single quotes doubled.
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// How `COPY` and `UNLOAD` authenticate: `iam_role '…'` or `credentials '…'` with the keys (and
/// session token), the secrets replaced by `<redacted>` unless `exposed`.
pub(crate) fn authorization(credentials: &CopyCredentials, exposed: bool) -> String {
    let secret =
        |value: &Secret| if exposed { value.expose().to_owned() } else { "<redacted>".to_owned() };
    match credentials {
        CopyCredentials::IamRole(role) => format!("iam_role {}", literal(role)),
        CopyCredentials::Keys { access_key_id, secret_access_key, session_token } => {
            let token = session_token
                .as_ref()
                .map(|token| format!(";token={}", secret(token)))
                .unwrap_or_default();
            format!(
                "credentials {}",
                literal(&format!(
                    "aws_access_key_id={access_key_id};aws_secret_access_key={}{token}",
                    secret(secret_access_key)
                ))
            )
        }
    }
}

/// The `delimiter` option of a CSV `COPY` or `UNLOAD` in `dialect`, with a leading space; empty
/// for the default comma.
fn delimiter_option(dialect: Dialect, delimiter: CsvDelimiter) -> String {
    match (delimiter, dialect) {
        (CsvDelimiter::Comma, _) => String::new(),
        (CsvDelimiter::Semicolon, _) => " delimiter ';'".to_owned(),
        (CsvDelimiter::Tab, Dialect::Redshift) => " delimiter '\\t'".to_owned(),
        (CsvDelimiter::Tab, Dialect::Postgres) => " delimiter E'\\t'".to_owned(),
    }
}

/// PostgreSQL `COPY … FROM STDIN` of a CSV file with a header row into `table`.
pub fn copy_from_stdin(table: &TableName, delimiter: CsvDelimiter) -> String {
    let delimiter = match delimiter_option(Dialect::Postgres, delimiter) {
        option if option.is_empty() => option,
        option => format!(",{option}"),
    };
    format!("copy {} from stdin with (format csv, header true{delimiter})", table.quoted())
}

/// Redshift `COPY` of a CSV file with a header row from S3 into `table`; returns the statement
/// and the same statement with the secrets replaced, for logs and error messages. Dates and
/// times are read in any format Redshift recognizes (`'auto'`), so what loads on PostgreSQL
/// loads here too.
pub fn copy_from_s3(
    table: &TableName,
    url: &str,
    credentials: &CopyCredentials,
    region: Option<&str>,
    delimiter: CsvDelimiter,
) -> (String, String) {
    let render = |exposed: bool| {
        let authorization = authorization(credentials, exposed);
        let region = region.map(|r| format!(" region {}", literal(r))).unwrap_or_default();
        format!(
            "copy {} from {} {authorization} format as csv{} ignoreheader 1 emptyasnull dateformat 'auto' timeformat 'auto'{region}",
            table.quoted(),
            literal(url),
            delimiter_option(Dialect::Redshift, delimiter)
        )
    };
    (render(true), render(false))
}

/// The text of a Redshift `UNLOAD` query literal: inside it Redshift reads a backslash as an
/// escape, so backslashes are doubled, and quotes are doubled as in any literal.
fn unload_literal(select: &str) -> String {
    format!("'{}'", select.replace('\\', "\\\\").replace('\'', "''"))
}

/// Redshift `UNLOAD` of `select`'s result as one CSV file with a header row (more files only
/// past 6.2 GB) under `url_prefix` (`s3://bucket/key-prefix`); returns the statement and the same
/// with the secrets replaced. The select is wrapped as a subquery, a newline before its end so
/// a trailing `-- comment` cannot swallow it.
pub fn unload_to_s3(
    select: &str,
    url_prefix: &str,
    credentials: &CopyCredentials,
    region: Option<&str>,
    delimiter: CsvDelimiter,
) -> (String, String) {
    let select = select.trim_end().trim_end_matches(';');
    let query = unload_literal(&format!("select * from (\n{select}\n) as duro_export"));
    let render = |exposed: bool| {
        format!(
            "unload ({query}) to {} {} format as csv{} header parallel off allowoverwrite{}",
            literal(url_prefix),
            authorization(credentials, exposed),
            delimiter_option(Dialect::Redshift, delimiter),
            region.map(|r| format!(" region {}", literal(r))).unwrap_or_default()
        )
    };
    (render(true), render(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> TableName {
        TableName::parse(name).unwrap()
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_identifier("cities"), "\"cities\"");
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(table("first.cities").quoted(), "\"first\".\"cities\"");
    }

    #[test]
    fn long_names() {
        let long = table(&format!("s.{}", "x".repeat(60)));
        assert!(long.with_suffix(TEMP_SUFFIX, Dialect::Redshift).is_ok());
        let error = long.with_suffix(TEMP_SUFFIX, Dialect::Postgres).unwrap_err();
        assert!(error.contains("PostgreSQL's 63-byte limit"), "{error}");
        let longest = table(&format!("s.{}", "x".repeat(117)));
        assert!(longest.with_suffix(TEMP_SUFFIX, Dialect::Redshift).is_ok());
        let too_long = table(&format!("s.{}", "x".repeat(118)));
        let error = too_long.with_suffix(TEMP_SUFFIX, Dialect::Redshift).unwrap_err();
        assert!(error.contains("Redshift's 127-byte limit"), "{error}");
        assert_eq!(
            table("s.t").with_suffix(TEMP_SUFFIX, Dialect::Postgres).unwrap(),
            table("s.t_duro_temp")
        );
    }

    #[test]
    fn postgres_omits_redshift_attributes() {
        let config = TableConfig {
            distkey: Some("city".into()),
            sortkey: vec!["city".into()],
            ..TableConfig::default()
        };
        let statement = create_temp_table(
            Dialect::Postgres,
            &table("s.t_duro_temp"),
            "select 1 as city",
            &config,
        );
        assert_eq!(statement, "create table \"s\".\"t_duro_temp\" as (\nselect 1 as city\n)");
        assert_eq!(
            processor_create_table(Dialect::Postgres, "create table s.t (city text);\n", &config),
            "create table s.t (city text)"
        );
    }

    #[test]
    fn grants_quote_every_name() {
        let rendered = grants(
            &table("s.t"),
            &[
                Grantee::from_config("jane"),
                Grantee::from_config("group analysts"),
                Grantee::from_config("data-team"),
            ],
        );
        assert_eq!(
            rendered,
            [
                "grant select on \"s\".\"t\" to \"jane\"",
                "grant select on \"s\".\"t\" to group \"analysts\"",
                "grant select on \"s\".\"t\" to \"data-team\"",
            ]
        );
    }
}
