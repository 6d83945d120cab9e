//! The original loader's per-file config (`config_<file>.yml` beside the data, `schema:
//! sidecar`): a map from table name to `{dest, meta: {schema, datadatecolumn}, columns: [{dest,
//! type, defaultval, notnull, primarykey, distkey, sortord}]}`. It is data from the bucket, so
//! its types and defaults pass the same closed checks as the repository's.

use crate::catalog::s3_load::{self, ColumnType, DefaultValue, LoadColumn};
use crate::identifier::TableName;
use crate::views::replication_file::column_name;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Entry {
    dest: Option<String>,
    meta: Meta,
    columns: Vec<Column>,
}

#[derive(Deserialize)]
struct Meta {
    schema: String,
    datadatecolumn: Option<String>,
}

#[derive(Deserialize)]
struct Column {
    dest: String,
    #[serde(rename = "type")]
    column_type: String,
    defaultval: Option<serde_yaml::Value>,
    #[serde(default)]
    notnull: bool,
    #[serde(default)]
    primarykey: bool,
    #[serde(default)]
    distkey: bool,
    sortord: Option<u32>,
}

/// The columns and data date column `text` gives `table`; `data_date_column` is the node's own,
/// which the sidecar's must agree with.
pub fn parse(
    text: &str,
    table: &TableName,
    data_date_column: Option<&str>,
) -> Result<(Vec<LoadColumn>, String), String> {
    let entries: BTreeMap<String, Entry> =
        serde_yaml::from_str(text).map_err(|e| format!("not the original loader's config: {e}"))?;
    let entry = entries
        .iter()
        .find(|(name, entry)| {
            entry.dest.as_deref().unwrap_or(name.as_str()).to_lowercase() == table.table
        })
        .map(|(_, entry)| entry)
        .ok_or_else(|| format!("no entry for table `{}`", table.table))?;
    if entry.meta.schema.to_lowercase() != table.schema {
        return Err(format!(
            "mismatched schema: `{}`, but the node's table is `{table}`",
            entry.meta.schema
        ));
    }
    let date_column = match (&entry.meta.datadatecolumn, data_date_column) {
        (None, None) => {
            return Err(
                "`meta.datadatecolumn` is missing: the data date column must be set".to_owned()
            );
        }
        (Some(found), Some(own)) if column_name(found)? != own => {
            return Err(format!(
                "`meta.datadatecolumn` is `{found}`, but the node's `data_date_column` is `{own}`"
            ));
        }
        (Some(found), _) => column_name(found)?,
        (None, Some(own)) => own.to_owned(),
    };
    let columns = entry
        .columns
        .iter()
        .map(|column| {
            let name = column_name(&column.dest)?;
            let column_type = ColumnType::parse(&column.column_type)
                .map_err(|message| format!("column `{name}`: {message}"))?;
            let default = match &column.defaultval {
                None => None,
                Some(value) => {
                    let text = match value {
                        serde_yaml::Value::String(text) => text.clone(),
                        serde_yaml::Value::Number(number) => number.to_string(),
                        serde_yaml::Value::Bool(flag) => flag.to_string(),
                        other => {
                            return Err(format!(
                                "column `{name}`: {other:?} is not a default value"
                            ));
                        }
                    };
                    Some(
                        DefaultValue::new(&text, column_type)
                            .map_err(|m| format!("column `{name}`: {m}"))?,
                    )
                }
            };
            Ok(LoadColumn {
                name,
                column_type,
                default,
                not_null: column.notnull,
                primary_key: column.primarykey,
                distkey: column.distkey,
                sortkey: column.sortord,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    s3_load::check_columns(&columns, Some(&date_column))?;
    Ok((columns, date_column))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "pages:\n  dest: pages\n  meta:\n    schema: api_hits\n    datadatecolumn: hit_time\n  columns:\n    - dest: page_id\n      type: text\n      notnull: true\n      distkey: true\n    - dest: hit_time\n      type: timestamp\n      sortord: 1\n    - dest: hits\n      type: int\n      defaultval: \"0\"\n    - dest: ratio\n      type: float\n";

    fn table() -> TableName {
        TableName::parse("api_hits.pages").unwrap()
    }

    #[test]
    fn the_seed_example() {
        let (columns, date) = parse(SEED, &table(), None).unwrap();
        assert_eq!(date, "hit_time");
        let found: Vec<(&str, String)> =
            columns.iter().map(|c| (c.name.as_str(), c.definition())).collect();
        assert_eq!(
            found,
            [
                ("page_id", "\"page_id\" character varying(256) not null".to_owned()),
                ("hit_time", "\"hit_time\" timestamp without time zone".to_owned()),
                ("hits", "\"hits\" integer default '0'::integer".to_owned()),
                ("ratio", "\"ratio\" double precision".to_owned()),
            ]
        );
        assert_eq!((columns[0].distkey, columns[1].sortkey), (true, Some(1)));
    }

    /// S17: the wrong schema and a missing data date column are errors.
    #[test]
    fn problems() {
        let cases = [
            (SEED.replace("schema: api_hits", "schema: other"), "mismatched schema: `other`"),
            (
                SEED.replace("    datadatecolumn: hit_time\n", ""),
                "the data date column must be set",
            ),
            (
                SEED.replace("pages:\n  dest: pages", "users:\n  dest: users"),
                "no entry for table `pages`",
            ),
            (SEED.replace("type: float", "type: 'float; drop table x'"), "is not a column type"),
            (
                SEED.replace("defaultval: \"0\"", "defaultval: 'now()'"),
                "default `now()` is not a integer",
            ),
            ("[1, 2]".to_owned(), "not the original loader's config"),
        ];
        for (text, expected) in cases {
            let found = parse(&text, &table(), None).unwrap_err();
            assert!(found.contains(expected), "{found}");
        }
        assert!(
            parse(SEED, &table(), Some("other"))
                .unwrap_err()
                .contains("node's `data_date_column` is `other`")
        );
    }
}
