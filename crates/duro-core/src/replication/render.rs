//! The SQL a replication run sends to the warehouse, the same text on both dialects where they
//! agree: the temporary stage, loading it (`COPY … FROM STDIN` on PostgreSQL, `COPY … FROM
//! 's3://…'` with its options on Redshift), the merge
//! (`DELETE … USING` then `INSERT … SELECT`), deleted keys, the identity range delete with bound values, the
//! reload's delete, and the statistics and `VACUUM` after a load. Every name is quoted; values
//! are bound.

use crate::catalog::replication::{CopyOptions, FileFormat, Vacuum};
use crate::identifier::{TableName, quote_identifier};
use crate::sources::NULL_MARKER;
use crate::warehouse::render::{CopyCredentials, authorization, literal};

/// The run's temporary stage (session-local, so never seen by another session).
pub const STAGE: &str = "duro_stage";

/// A list of quoted column names.
fn column_list(columns: &[String]) -> String {
    columns.iter().map(|c| quote_identifier(c)).collect::<Vec<_>>().join(", ")
}

/// Drops a stage a failed run of this session left.
pub fn drop_stage() -> String {
    format!("drop table if exists {STAGE}")
}

/// A temporary stage shaped like the target.
pub fn create_stage(target: &TableName) -> String {
    format!("create temp table {STAGE} (like {} including defaults)", target.quoted())
}

/// A new table shaped like the target (a full copy swapped in).
pub fn create_like(table: &TableName, target: &TableName) -> String {
    format!("create table {} (like {} including defaults)", table.quoted(), target.quoted())
}

/// PostgreSQL: loading the replication's CSV into `into` (the stage or a table).
pub fn copy_from_stdin(into: &str, columns: &[String]) -> String {
    format!(
        "copy {into} ({}) from stdin with (format csv, null '{NULL_MARKER}')",
        column_list(columns)
    )
}

/// Target rows whose key is in `from` (the stage, or the deleted keys) go: the merge's first
/// half, and delete tracking.
pub fn delete_matching(target: &TableName, key: &[String], from: &str) -> String {
    let target = target.quoted();
    let matches: Vec<String> = key
        .iter()
        .map(|column| {
            let column = quote_identifier(column);
            format!("{target}.{column} = {from}.{column}")
        })
        .collect();
    format!("delete from {target} using {from} where {}", matches.join(" and "))
}

/// The keys of rows deleted on the source, typed as the target's key columns.
pub const DELETED_KEYS: &str = "duro_deleted_keys";

/// An empty temporary table with the target's key columns, for the deleted keys.
pub fn create_deleted_keys(target: &TableName, key: &[String]) -> String {
    format!(
        "create temp table {DELETED_KEYS} as select {} from {} where false",
        column_list(key),
        target.quoted()
    )
}

/// Drops the deleted keys' table.
pub fn drop_deleted_keys() -> String {
    format!("drop table if exists {DELETED_KEYS}")
}

/// The merge's second half: every staged row goes in.
pub fn insert_staged(target: &TableName, columns: &[String]) -> String {
    let columns = column_list(columns);
    format!("insert into {} ({columns}) select {columns} from {STAGE}", target.quoted())
}

/// Identity: the rows of `(lo, hi]` (`$1`, `$2` as text, cast to the target column's type) go
/// before they are appended, so a repeated import never duplicates them.
pub fn delete_range(target: &TableName, field: &str, type_name: &str) -> String {
    let field = quote_identifier(field);
    format!(
        "delete from {} where {field} > cast($1::text as {type_name}) and {field} <= cast($2::text as {type_name})",
        target.quoted()
    )
}

/// Whether the target holds any row (a timed node's first run loads an empty one directly).
pub fn has_rows(target: &TableName) -> String {
    format!("select exists (select 1 from {})", target.quoted())
}

/// A reload's (and an identity node's first run's) first step, inside the transaction
/// (`TRUNCATE` would commit on Redshift).
pub fn delete_all(target: &TableName) -> String {
    format!("delete from {}", target.quoted())
}

/// Redshift: loading every file under the run's prefix (`url`, `s3://bucket/…/`) into `into`;
/// returns the statement and the same with the secrets replaced, for logs. The files are the
/// replication's CSV (NULL as `\N`, written `'\\N'` because Redshift reads a backslash in a
/// literal as an escape); dates and times in any format Redshift recognizes.
pub fn copy_from_s3(
    into: &str,
    columns: &[String],
    url: &str,
    credentials: &CopyCredentials,
    region: Option<&str>,
    format: FileFormat,
    options: &CopyOptions,
) -> (String, String) {
    let mut clauses = vec![
        "format as csv".to_owned(),
        "null as '\\\\N'".to_owned(),
        "dateformat 'auto'".to_owned(),
        "timeformat 'auto'".to_owned(),
        format!("statupdate {}", if options.stat_update { "on" } else { "off" }),
    ];
    let flags = [
        (format == FileFormat::CsvGz, "gzip"),
        (options.truncate_columns, "truncatecolumns"),
        (options.accept_inv_chars, "acceptinvchars"),
        (options.empty_as_null, "emptyasnull"),
    ];
    clauses.extend(flags.iter().filter(|(on, _)| *on).map(|(_, flag)| (*flag).to_owned()));
    // Redshift's own default is 0: no row may be refused.
    if options.max_errors > 0 {
        clauses.push(format!("maxerror {}", options.max_errors));
    }
    if let Some(region) = region {
        clauses.push(format!("region {}", literal(region)));
    }
    let render = |exposed: bool| {
        format!(
            "copy {into} ({}) from {} {} {}",
            column_list(columns),
            literal(url),
            authorization(credentials, exposed),
            clauses.join(" ")
        )
    };
    (render(true), render(false))
}

/// Redshift: the table's first sort key as `svv_table_info` shows it (`INTERLEAVED` for an
/// interleaved key, null without one); `$1` schema, `$2` table.
pub const SORT_KEY: &str =
    "select sortkey1::text from svv_table_info where \"schema\" = $1 and \"table\" = $2";

/// Redshift: the `VACUUM` that `after_load.vacuum` asks for (`auto` chooses by the sort key:
/// `REINDEX` for an interleaved one, `FULL` otherwise), run outside any transaction; `None` for
/// no vacuum.
pub fn redshift_vacuum(
    target: &TableName,
    vacuum: Vacuum,
    sort_key: Option<&str>,
) -> Option<String> {
    let kind = match vacuum {
        Vacuum::None => return None,
        Vacuum::Auto if sort_key.is_some_and(|key| key.eq_ignore_ascii_case("interleaved")) => {
            "reindex"
        }
        Vacuum::Auto | Vacuum::Full => "full",
        Vacuum::Reindex => "reindex",
        Vacuum::DeleteOnly => "delete only",
        Vacuum::SortOnly => "sort only",
    };
    Some(format!("vacuum {kind} {}", target.quoted()))
}

/// PostgreSQL: its one `VACUUM` (Redshift's variants have no equivalent).
pub fn postgres_vacuum(target: &TableName) -> String {
    format!("vacuum {}", target.quoted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements() {
        let users = TableName::parse("analytics.users").unwrap();
        let columns = vec!["id".to_owned(), "email".to_owned()];
        let cases = [
            (drop_stage(), "drop table if exists duro_stage"),
            (
                create_stage(&users),
                "create temp table duro_stage (like \"analytics\".\"users\" including defaults)",
            ),
            (
                copy_from_stdin(STAGE, &columns),
                "copy duro_stage (\"id\", \"email\") from stdin with (format csv, null '\\N')",
            ),
            (
                create_deleted_keys(&users, &["id".to_owned()]),
                "create temp table duro_deleted_keys as select \"id\" from \"analytics\".\"users\" where false",
            ),
            (
                delete_matching(&users, &["tenant".to_owned(), "id".to_owned()], STAGE),
                "delete from \"analytics\".\"users\" using duro_stage where \"analytics\".\"users\".\"tenant\" = duro_stage.\"tenant\" and \"analytics\".\"users\".\"id\" = duro_stage.\"id\"",
            ),
            (
                insert_staged(&users, &columns),
                "insert into \"analytics\".\"users\" (\"id\", \"email\") select \"id\", \"email\" from duro_stage",
            ),
            (
                delete_range(&users, "id", "bigint"),
                "delete from \"analytics\".\"users\" where \"id\" > cast($1::text as bigint) and \"id\" <= cast($2::text as bigint)",
            ),
            (delete_all(&users), "delete from \"analytics\".\"users\""),
        ];
        for (rendered, expected) in cases {
            assert_eq!(rendered, expected);
        }
    }
}
