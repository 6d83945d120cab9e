//! Parsing one `*.replication.yml` file into a [`ReplicationSpec`]: unknown keys, values of the
//! wrong type and values that break a rule are problems naming the line, found without connecting
//! anywhere. What needs a connection (the target's columns, the source's indexes) is checked by
//! `duro-create` before a run.
//!
//! Defaults follow the strategy: `replication_field` is `updated_at` (timed) or `id` (identity),
//! `lookback` is 1 s for timed. An `interval` key must agree with the file name's.

use crate::catalog::replication::{
    AfterLoad, ColumnSource, Columns, CopyOptions, DeleteTracking, FileFormat, FullMode, Nulls,
    ReplicationSpec, Strategy, Transport, Vacuum,
};
use crate::identifier::{TableName, validate_identifier};
use crate::interval::{format_minutes, parse_duration_seconds, parse_interval_minutes};
use serde::Deserialize;
use serde_yaml::Value;

/// What is wrong, and where (1-based line of the YAML file, when known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    pub line: Option<usize>,
    pub message: String,
}

/// The most files one run may write.
pub const MAX_SLICES: u32 = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    source: Option<String>,
    source_table: Option<String>,
    strategy: Option<Strategy>,
    replication_field: Option<String>,
    key: Option<Vec<String>>,
    lookback: Option<Value>,
    columns: Option<Value>,
    nulls: Option<Nulls>,
    delete_tracking: Option<DeleteTracking>,
    transport: Option<Transport>,
    format: Option<FileFormat>,
    slices: Option<u32>,
    copy: Option<RawCopy>,
    full_mode: Option<FullMode>,
    max_retries: Option<u32>,
    history: Option<u32>,
    keep_files: Option<bool>,
    after_load: Option<RawAfterLoad>,
    interval: Option<Value>,
    depends_on: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCopy {
    max_errors: Option<u32>,
    truncate_columns: Option<bool>,
    accept_inv_chars: Option<bool>,
    empty_as_null: Option<bool>,
    stat_update: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAfterLoad {
    vacuum: Option<Vacuum>,
    analyze: Option<bool>,
}

/// The line of a top-level key, for problems found after deserializing.
pub(crate) fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|index| index + 1)
}

/// Parses the file's `text`; `file_interval` is the interval of its name. Returns the node's
/// definition and its interval, or every problem found.
pub fn parse(
    text: &str,
    file_interval: Option<u32>,
) -> Result<(ReplicationSpec, Option<u32>), Vec<SpecProblem>> {
    let raw: Raw = match serde_yaml::from_str::<Option<Raw>>(text) {
        Ok(Some(raw)) => raw,
        Ok(None) => {
            return Err(vec![SpecProblem {
                line: None,
                message: "the file is empty: a replication node needs at least `source`, `source_table` and `strategy`".to_owned(),
            }]);
        }
        Err(error) => return Err(vec![yaml_problem(&error)]),
    };
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| {
        problems
            .push(SpecProblem { line: key_line(text, key), message: format!("`{key}`: {message}") })
    };
    let source = match raw.source {
        Some(name) if name == name.to_lowercase() && validate_identifier(&name).is_ok() => name,
        Some(name) => {
            problem(
                "source",
                format!("`{name}` is not a connection name (lower case letters, digits and `_`)"),
            );
            String::new()
        }
        None => {
            problem("source", "missing: name a connection of duro.yaml's `connections`".to_owned());
            String::new()
        }
    };
    let source_table =
        match raw.source_table.as_deref().map(|t| TableName::parse(&t.to_lowercase())) {
            Some(Ok(table)) => Some(table),
            Some(Err(message)) => {
                problem("source_table", message);
                None
            }
            None => {
                problem("source_table", "missing: the source's `schema.table`".to_owned());
                None
            }
        };
    let Some(strategy) = raw.strategy else {
        problem("strategy", "missing: `timed`, `identity` or `full`".to_owned());
        return Err(problems);
    };
    let replication_field = match (strategy, raw.replication_field) {
        (Strategy::Full, Some(_)) => {
            problem("replication_field", "a full copy reads every row: remove it".to_owned());
            None
        }
        (Strategy::Full, None) => None,
        (_, Some(field)) => Some(column_name(&field).unwrap_or_else(|message| {
            problem("replication_field", message);
            field
        })),
        (Strategy::Timed, None) => Some("updated_at".to_owned()),
        (Strategy::Identity, None) => Some("id".to_owned()),
    };
    let key = match raw.key {
        Some(key) if key.is_empty() => {
            problem("key", "an empty list: name the columns that identify a row".to_owned());
            Vec::new()
        }
        Some(key) => key
            .iter()
            .filter_map(|column| column_name(column).map_err(|m| problem("key", m)).ok())
            .collect(),
        None => vec!["id".to_owned()],
    };
    let lookback_seconds = match (strategy, raw.lookback) {
        (_, None) => u64::from(strategy == Strategy::Timed),
        (Strategy::Timed, Some(value)) => seconds(&value).unwrap_or_else(|message| {
            problem("lookback", message);
            0
        }),
        (_, Some(_)) => {
            problem(
                "lookback",
                "only timed replication reads again behind its watermark".to_owned(),
            );
            0
        }
    };
    let columns = match raw.columns.map(|value| columns(&value)) {
        None => Columns::FromTarget,
        Some(Ok(columns)) => columns,
        Some(Err(message)) => {
            problem("columns", message);
            Columns::FromTarget
        }
    };
    let nulls = raw.nulls.unwrap_or_default();
    if nulls == Nulls::Include && strategy == Strategy::Identity {
        problem("nulls", "`include` would copy the NULL rows again on every run; identity replication needs `skip`".to_owned());
    }
    let delete_tracking = raw.delete_tracking.unwrap_or_default();
    if delete_tracking == DeleteTracking::Trigger && strategy == Strategy::Full {
        problem(
            "delete_tracking",
            "a full copy replaces the table, deletions included: remove it".to_owned(),
        );
    }
    let slices = raw.slices.unwrap_or(1);
    if !(1..=MAX_SLICES).contains(&slices) {
        problem("slices", format!("{slices} is not between 1 and {MAX_SLICES}"));
    }
    let history = raw.history.unwrap_or(100);
    if history == 0 {
        problem("history", "keep at least 1 run record".to_owned());
    }
    let defaults = CopyOptions::default();
    let copy = raw.copy.map_or(defaults, |copy| CopyOptions {
        max_errors: copy.max_errors.unwrap_or(defaults.max_errors),
        truncate_columns: copy.truncate_columns.unwrap_or(defaults.truncate_columns),
        accept_inv_chars: copy.accept_inv_chars.unwrap_or(defaults.accept_inv_chars),
        empty_as_null: copy.empty_as_null.unwrap_or(defaults.empty_as_null),
        stat_update: copy.stat_update.unwrap_or(defaults.stat_update),
    });
    let after_load = raw.after_load.map_or_else(AfterLoad::default, |after| AfterLoad {
        vacuum: after.vacuum.unwrap_or_default(),
        analyze: after.analyze,
    });
    let interval = node_interval(raw.interval, file_interval, &mut problem);
    let depends_on = depends_on(raw.depends_on, &mut problem);
    let (Some(source_table), true) = (source_table, problems.is_empty()) else {
        return Err(problems);
    };
    let spec = ReplicationSpec {
        source,
        source_table,
        strategy,
        replication_field,
        key,
        lookback_seconds,
        columns,
        nulls,
        delete_tracking,
        transport: raw.transport,
        format: raw.format.unwrap_or_default(),
        slices,
        copy,
        full_mode: raw.full_mode.unwrap_or_default(),
        max_retries: raw.max_retries.unwrap_or(5),
        history,
        keep_files: raw.keep_files.unwrap_or(false),
        after_load,
        depends_on,
    };
    Ok((spec, interval))
}

/// A node's interval: the `interval` key's, which must agree with the file name's when both
/// are given.
pub(crate) fn node_interval(
    value: Option<Value>,
    file_interval: Option<u32>,
    problem: &mut impl FnMut(&str, String),
) -> Option<u32> {
    match value.map(|value| interval_minutes(&value)) {
        None => file_interval,
        Some(Err(message)) => {
            problem("interval", message);
            file_interval
        }
        Some(Ok(minutes)) => match file_interval {
            Some(named) if named != minutes => {
                problem(
                    "interval",
                    format!(
                        "{} disagrees with the file name's {}: keep one",
                        format_minutes(minutes),
                        format_minutes(named)
                    ),
                );
                file_interval
            }
            _ => Some(minutes),
        },
    }
}

/// A node's `depends_on`: `schema.table` names.
pub(crate) fn depends_on(
    names: Option<Vec<String>>,
    problem: &mut impl FnMut(&str, String),
) -> Vec<TableName> {
    names
        .unwrap_or_default()
        .iter()
        .filter_map(|name| {
            TableName::parse(&name.to_lowercase()).map_err(|m| problem("depends_on", m)).ok()
        })
        .collect()
}

/// The problem of a YAML text serde could not read, at its line.
pub(crate) fn yaml_problem(error: &serde_yaml::Error) -> SpecProblem {
    SpecProblem {
        line: error.location().map(|location| location.line()),
        message: error.to_string(),
    }
}

/// A column name, folded to lower case as Duro folds every name.
pub(crate) fn column_name(text: &str) -> Result<String, String> {
    let name = text.trim().to_lowercase();
    validate_identifier(&name).map(|()| name)
}

/// A duration: seconds, or text like `5s` or `2m`.
fn seconds(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(number) => {
            number.as_u64().ok_or_else(|| format!("{number} is not a whole number of seconds"))
        }
        // No lookback at all (`0s`) is a choice, not a mistake.
        Value::String(text)
            if text
                .strip_suffix(['s', 'm', 'h', 'd', 'w'])
                .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b == b'0')) =>
        {
            Ok(0)
        }
        Value::String(text) => parse_duration_seconds(text),
        other => Err(format!("{other:?} is not a duration like `5s`")),
    }
}

fn interval_minutes(value: &Value) -> Result<u32, String> {
    match value {
        Value::String(text) => parse_interval_minutes(text),
        other => Err(format!("{other:?} is not an interval like `1h`")),
    }
}

/// `from_target`, or a list of names and `{name, source}` mappings.
fn columns(value: &Value) -> Result<Columns, String> {
    let entries = match value {
        Value::String(word) if word == "from_target" => return Ok(Columns::FromTarget),
        Value::Sequence(entries) if !entries.is_empty() => entries,
        _ => {
            return Err(
                "`from_target`, or a list of column names and `{name, source}` entries".to_owned()
            );
        }
    };
    let mut list: Vec<ColumnSource> = Vec::new();
    for entry in entries {
        let column = match entry {
            Value::String(name) => ColumnSource { name: column_name(name)?, source: None },
            Value::Mapping(mapping) => {
                let text = |key: &str| mapping.get(key).and_then(Value::as_str);
                if let Some(extra) =
                    mapping.keys().find(|k| !matches!(k.as_str(), Some("name" | "source")))
                {
                    return Err(format!(
                        "unknown key {extra:?} in a column entry (`name`, `source`)"
                    ));
                }
                let name = column_name(text("name").ok_or("a column entry needs a `name`")?)?;
                let source =
                    text("source").ok_or_else(|| format!("column `{name}` needs a `source`"))?;
                crate::sql::column_expression(source)
                    .map_err(|problem| format!("column `{name}`: {}", problem.message))?;
                ColumnSource { name, source: Some(source.trim().to_owned()) }
            }
            other => {
                return Err(format!(
                    "{other:?} is not a column name or a `{{name, source}}` entry"
                ));
            }
        };
        if list.iter().any(|c| c.name == column.name) {
            return Err(format!("column `{}` is listed twice", column.name));
        }
        list.push(column);
    }
    Ok(Columns::List(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, file_interval: Option<u32>) -> Vec<(Option<usize>, String)> {
        match parse(text, file_interval) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| (p.line, p.message)).collect(),
        }
    }

    #[test]
    fn the_spec_example_with_its_defaults() {
        let text = "source: app_db\nsource_table: public.users\nstrategy: timed\nkey: [id]\nlookback: 5s\ndelete_tracking: trigger\nslices: 4\nafter_load: {vacuum: auto, analyze: true}\n";
        let (spec, interval) = parse(text, Some(60)).unwrap();
        assert_eq!(interval, Some(60));
        assert_eq!(spec.source, "app_db");
        assert_eq!(spec.source_table.to_string(), "public.users");
        assert_eq!(spec.strategy, Strategy::Timed);
        assert_eq!(spec.replication_field.as_deref(), Some("updated_at"));
        assert_eq!(spec.lookback_seconds, 5);
        assert_eq!(spec.columns, Columns::FromTarget);
        assert_eq!(spec.delete_tracking, DeleteTracking::Trigger);
        assert_eq!(
            (spec.slices, spec.format, spec.history, spec.max_retries),
            (4, FileFormat::CsvGz, 100, 5)
        );
        assert_eq!(spec.after_load, AfterLoad { vacuum: Vacuum::Auto, analyze: Some(true) });
        assert_eq!(spec.copy, CopyOptions::default());
        assert_eq!(spec.transport, None);
    }

    #[test]
    fn defaults_follow_the_strategy() {
        let identity =
            parse("source: app\nsource_table: public.events\nstrategy: identity\n", None)
                .unwrap()
                .0;
        assert_eq!(
            (identity.replication_field.as_deref(), identity.lookback_seconds),
            (Some("id"), 0)
        );
        let full = parse("source: app\nsource_table: public.tags_users\nstrategy: full\n", None)
            .unwrap()
            .0;
        assert_eq!((full.replication_field, full.full_mode), (None, FullMode::Swap));
        let timed =
            parse("source: app\nsource_table: public.users\nstrategy: timed\n", None).unwrap().0;
        assert_eq!(timed.lookback_seconds, 1);
        for (lookback, seconds) in [("0s", 0), ("0", 0), ("00m", 0), ("90s", 90), ("2m", 120)] {
            let text = format!(
                "source: app\nsource_table: public.users\nstrategy: timed\nlookback: {lookback}\n"
            );
            assert_eq!(parse(&text, None).unwrap().0.lookback_seconds, seconds, "{lookback}");
        }
    }

    #[test]
    fn columns_by_name_and_by_expression() {
        let text = "source: app\nsource_table: public.users\nstrategy: timed\ncolumns:\n  - id\n  - {name: email, source: lower(email)}\n  - Name\n";
        let spec = parse(text, None).unwrap().0;
        assert_eq!(
            spec.columns,
            Columns::List(vec![
                ColumnSource { name: "id".into(), source: None },
                ColumnSource { name: "email".into(), source: Some("lower(email)".into()) },
                ColumnSource { name: "name".into(), source: None },
            ])
        );
    }

    /// Each problem names its line; several are reported at once.
    #[test]
    fn problems_name_the_line() {
        let base = "source: app\nsource_table: public.users\n";
        let cases: Vec<(String, Option<u32>, Vec<(Option<usize>, &str)>)> = vec![
            (
                format!("{base}strategy: timed\ncolour: blue\n"),
                None,
                vec![(Some(4), "unknown field `colour`")],
            ),
            (
                format!("{base}strategy: sometimes\n"),
                None,
                vec![(Some(3), "unknown variant `sometimes`")],
            ),
            (
                format!("{base}strategy: timed\nslices: many\n"),
                None,
                vec![(Some(4), "invalid type")],
            ),
            (
                format!("{base}strategy: full\nreplication_field: id\ndelete_tracking: trigger\n"),
                None,
                vec![
                    (Some(4), "`replication_field`: a full copy reads every row"),
                    (Some(5), "`delete_tracking`: a full copy replaces the table"),
                ],
            ),
            (
                format!("{base}strategy: identity\nlookback: 5s\nnulls: include\n"),
                None,
                vec![
                    (Some(4), "`lookback`: only timed replication"),
                    (Some(5), "`nulls`: `include` would copy the NULL rows again"),
                ],
            ),
            (
                format!("{base}strategy: timed\ninterval: 2h\n"),
                Some(60),
                vec![(Some(4), "`interval`: 2h disagrees with the file name's 1h")],
            ),
            (
                format!("{base}strategy: timed\nslices: 0\nhistory: 0\n"),
                None,
                vec![
                    (Some(4), "`slices`: 0 is not between 1 and 1000"),
                    (Some(5), "`history`: keep at least 1 run record"),
                ],
            ),
            (
                format!(
                    "{base}strategy: timed\ncolumns:\n  - {{name: email, source: '(select password from users)'}}\n"
                ),
                None,
                vec![(Some(4), "`columns`: column `email`: a subquery")],
            ),
            (
                format!("{base}strategy: timed\ncolumns: [id, id]\n"),
                None,
                vec![(Some(4), "column `id` is listed twice")],
            ),
            (
                format!(
                    "{base}strategy: timed\ncopy: {{max_errors: 0, ignore_everything: true}}\n"
                ),
                None,
                vec![(Some(4), "unknown field `ignore_everything`")],
            ),
            (
                "source: App-DB\nsource_table: users\nstrategy: timed\n".to_owned(),
                None,
                vec![
                    (Some(1), "`source`: `App-DB` is not a connection name"),
                    (Some(2), "`source_table`: `users` has no schema"),
                ],
            ),
            (
                "source_table: public.users\n".to_owned(),
                None,
                vec![(None, "`source`: missing"), (None, "`strategy`: missing")],
            ),
            ("".to_owned(), None, vec![(None, "the file is empty")]),
        ];
        for (text, interval, expected) in cases {
            let found = problems(&text, interval);
            assert_eq!(found.len(), expected.len(), "{text}: {found:?}");
            for ((line, message), (want_line, want)) in found.iter().zip(&expected) {
                assert_eq!(line, want_line, "{text}: {message}");
                assert!(message.contains(want), "{text}: {message}");
            }
        }
    }
}
