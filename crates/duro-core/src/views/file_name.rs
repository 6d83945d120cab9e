//! What a file in the views repository is, from its path alone: a table definition (with its
//! interval), a test, a processor script, a requirements file or a config, or a problem to report.
//!
//! Conventions: `schema/table.sql` or top-level `schema.table.sql`; the interval follows a hyphen,
//! en dash or em dash, with or without spaces (`cities — 24h.sql`, `cities-1h.sql`); `_test.sql`,
//! `_select.sql`, `.py`, `_requirements.txt`; `global.conf`, `schema.conf`, `schema/schema.conf`,
//! `schema.table.conf`, `schema/table.conf`; replication nodes `table — 1h.replication.yml` (or
//! `.yaml`) with their target's `table.ddl.sql`; S3 load nodes `table — 30m.s3.yml` (or `.yaml`). Names are folded to lower case, as Redshift does.

use crate::diagnostic::Severity;
use crate::identifier::{TableName, validate_identifier};
use crate::interval::parse_interval_minutes;

/// The role of one file, with the table (`schema.table`) it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRole {
    /// `t.sql` / `t — 1h.sql`: the query of a view, or the DDL of a processor table.
    /// `select_of` is set for `x_select.sql`: the select feeding processor `x` if there is one.
    Definition {
        table: TableName,
        interval_minutes: Option<u32>,
        select_of: Option<TableName>,
    },
    Test {
        table: TableName,
    },
    Processor {
        table: TableName,
    },
    Requirements {
        table: TableName,
    },
    /// `t — 1h.replication.yml`: a replication node producing the table.
    Replication {
        table: TableName,
        interval_minutes: Option<u32>,
    },
    /// `t — 30m.s3.yml`: an S3 load node producing the table.
    S3Load {
        table: TableName,
        interval_minutes: Option<u32>,
    },
    /// `t.ddl.sql`: the `create table` of a replication node's target.
    TargetDdl {
        table: TableName,
    },
    GlobalConf,
    SchemaConf {
        schema: String,
    },
    TableConf {
        table: TableName,
    },
}

/// The outcome of looking at one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    Role(FileRole),
    /// Not a file Duro reads (a README, a `.txt` that is not requirements, …).
    Ignored,
    /// Looks like a Duro file but cannot be understood.
    Problem {
        severity: Severity,
        message: String,
    },
}

const KNOWN_EXTENSIONS: [&str; 4] = ["sql", "py", "conf", "txt"];

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '–' | '—') || c.is_whitespace()
}

fn error(message: impl Into<String>) -> Classified {
    Classified::Problem { severity: Severity::Error, message: message.into() }
}

/// Classifies a path relative to the views folder, with `/` separators.
pub fn classify(relative_path: &str) -> Classified {
    let parts: Vec<&str> = relative_path.split('/').collect();
    let (folder, file_name) = match parts.as_slice() {
        [file] => (None, *file),
        [folder, file] => (Some(*folder), *file),
        _ => {
            if has_known_extension(relative_path) {
                return error(
                    "nested folders are not supported: keep one schema folder level (`schema/table.sql`) or name the file `schema.table.sql` at the top",
                );
            }
            return Classified::Ignored;
        }
    };
    if let Some(classified) = classify_ingest(folder, file_name) {
        return classified;
    }
    let Some((stem, extension)) = file_name.rsplit_once('.') else {
        return Classified::Ignored;
    };
    if !KNOWN_EXTENSIONS.contains(&extension) {
        if KNOWN_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str()) {
            return Classified::Problem {
                severity: Severity::Warning,
                message: format!(
                    "ignored: the extension must be lower case (`.{}`)",
                    extension.to_ascii_lowercase()
                ),
            };
        }
        return Classified::Ignored;
    }
    let (name, interval) = match split_interval(stem) {
        Ok(split) => split,
        Err(message) => return error(message),
    };
    match extension {
        "conf" => classify_conf(folder, &name, interval.is_some()),
        "txt" => match name.strip_suffix("_requirements") {
            Some(base) => without_interval(interval, "requirements files", || {
                table_name(folder, base).map(|table| FileRole::Requirements { table })
            }),
            None => Classified::Ignored,
        },
        "py" => without_interval(interval, "processor scripts", || {
            table_name(folder, &name).map(|table| FileRole::Processor { table })
        }),
        _ => classify_sql(folder, &name, interval),
    }
}

/// The file name endings of a replication node.
pub const REPLICATION_SUFFIXES: [&str; 2] = [".replication.yml", ".replication.yaml"];
/// The file name endings of an S3 load node.
pub const S3_LOAD_SUFFIXES: [&str; 2] = [".s3.yml", ".s3.yaml"];
/// The file name ending of a replication node's target DDL.
pub const TARGET_DDL_SUFFIX: &str = ".ddl.sql";

/// A replication or S3 load node, a replication target's DDL, or a name that looks like one but is not read (a
/// warning, so a node is never dropped silently); `None` for every other file.
fn classify_ingest(folder: Option<&str>, file_name: &str) -> Option<Classified> {
    let node = |stem: &str, role: fn(TableName, Option<u32>) -> FileRole| {
        let (name, interval) = match split_interval(stem) {
            Ok(split) => split,
            Err(message) => return error(message),
        };
        let interval_minutes = match interval_minutes(interval) {
            Ok(minutes) => minutes,
            Err(problem) => return problem,
        };
        match table_name(folder, &name) {
            Ok(table) => Classified::Role(role(table, interval_minutes)),
            Err(message) => error(message),
        }
    };
    if let Some(stem) = REPLICATION_SUFFIXES.iter().find_map(|s| file_name.strip_suffix(s)) {
        return Some(node(stem, |table, interval_minutes| FileRole::Replication {
            table,
            interval_minutes,
        }));
    }
    if let Some(stem) = S3_LOAD_SUFFIXES.iter().find_map(|s| file_name.strip_suffix(s)) {
        return Some(node(stem, |table, interval_minutes| FileRole::S3Load {
            table,
            interval_minutes,
        }));
    }
    if let Some(stem) = file_name.strip_suffix(TARGET_DDL_SUFFIX) {
        let (name, interval) = match split_interval(stem) {
            Ok(split) => split,
            Err(message) => return Some(error(message)),
        };
        return Some(without_interval(interval, "target DDL files", || {
            table_name(folder, &name).map(|table| FileRole::TargetDdl { table })
        }));
    }
    let lower = file_name.to_lowercase();
    let yaml = lower.contains(".yml") || lower.contains(".yaml");
    if yaml && lower.contains(".s3.") {
        return Some(Classified::Problem {
            severity: Severity::Warning,
            message: "ignored: this looks like an S3 load node, but only files ending in `.s3.yml` or `.s3.yaml` are read (`pages — 30m.s3.yml`)".to_owned(),
        });
    }
    if lower.contains("replic") && yaml {
        return Some(Classified::Problem {
            severity: Severity::Warning,
            message: "ignored: this looks like a replication node, but only files ending in `.replication.yml` or `.replication.yaml` are read (`users — 1h.replication.yml`)".to_owned(),
        });
    }
    None
}

/// The minutes of the interval of a file name, or the error to report.
fn interval_minutes(interval: Option<&str>) -> Result<Option<u32>, Classified> {
    interval.map(parse_interval_minutes).transpose().map_err(|message| {
        error(format!(
            "{message}; the interval goes after the table name, as in `cities — 24h.sql` (table names cannot contain `-` or spaces)"
        ))
    })
}

fn has_known_extension(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| KNOWN_EXTENSIONS.contains(&ext))
}

fn classify_sql(folder: Option<&str>, name: &str, interval: Option<&str>) -> Classified {
    if let Some(base) = name.strip_suffix("_test") {
        return without_interval(interval, "test files", || {
            table_name(folder, base).map(|table| FileRole::Test { table })
        });
    }
    let interval_minutes = match interval_minutes(interval) {
        Ok(minutes) => minutes,
        Err(problem) => return problem,
    };
    let table = match table_name(folder, name) {
        Ok(table) => table,
        Err(message) => return error(message),
    };
    let select_of = match (interval_minutes, name.strip_suffix("_select")) {
        (None, Some(base)) => table_name(folder, base).ok(),
        _ => None,
    };
    Classified::Role(FileRole::Definition { table, interval_minutes, select_of })
}

fn classify_conf(folder: Option<&str>, name: &str, has_interval: bool) -> Classified {
    if has_interval {
        return error(
            "config files have no interval: name them `table.conf`, `schema.conf` or `global.conf`",
        );
    }
    let lower = name.to_lowercase();
    match folder {
        None if lower == "global" => Classified::Role(FileRole::GlobalConf),
        None if !lower.contains('.') => match validate_identifier(&lower) {
            Ok(()) => Classified::Role(FileRole::SchemaConf { schema: lower }),
            Err(message) => error(format!("invalid schema name: {message}")),
        },
        Some(folder) if folder.to_lowercase() == lower => match validate_identifier(&lower) {
            Ok(()) => Classified::Role(FileRole::SchemaConf { schema: lower }),
            Err(message) => error(format!("invalid schema name: {message}")),
        },
        _ => match table_name(folder, name) {
            Ok(table) => Classified::Role(FileRole::TableConf { table }),
            Err(message) => error(message),
        },
    }
}

/// Builds a role for a kind of file that must not carry an interval.
fn without_interval(
    interval: Option<&str>,
    what: &str,
    role: impl FnOnce() -> Result<FileRole, String>,
) -> Classified {
    if let Some(interval) = interval {
        return error(format!(
            "{what} have no interval (found `{interval}`); the interval belongs in the table's own file name"
        ));
    }
    match role() {
        Ok(role) => Classified::Role(role),
        Err(message) => error(message),
    }
}

/// Splits `cities — 24h` into (`cities`, Some(`24h`)). The name part ends at the first separator.
fn split_interval(stem: &str) -> Result<(String, Option<&str>), String> {
    let Some(at) = stem.find(is_separator) else {
        return Ok((stem.to_owned(), None));
    };
    let name = &stem[..at];
    let rest = stem[at..].trim_start_matches(is_separator);
    let separator = &stem[at..stem.len() - rest.len()];
    if separator.chars().filter(|c| matches!(c, '-' | '–' | '—')).count() > 1 {
        return Err(format!(
            "`{stem}` has more than one dash before the interval (a negative interval?); intervals are positive: write `{name} — {}`",
            if rest.is_empty() { "24h" } else { rest }
        ));
    }
    if name.is_empty() {
        return Err(format!("`{stem}` starts with a separator; write `table — 24h`"));
    }
    if rest.is_empty() {
        return Err(format!(
            "`{stem}` has a separator but no interval after it; write `{name} — 24h` or `{name}`"
        ));
    }
    if rest.contains(is_separator) {
        return Err(format!(
            "`{stem}` has more than one word after the table name; write `{name} — 24h` (table names cannot contain `-` or spaces)"
        ));
    }
    Ok((name.to_owned(), Some(rest)))
}

/// The `schema.table` a file name stands for, lower-cased and validated.
fn table_name(folder: Option<&str>, name: &str) -> Result<TableName, String> {
    let name = name.to_lowercase();
    let (schema, table) = match folder {
        Some(folder) => {
            if name.contains('.') {
                return Err(format!(
                    "inside the schema folder `{folder}`, name the file after the table alone (`{}`), or move it to the top level",
                    name.rsplit('.').next().unwrap_or_default()
                ));
            }
            (folder.to_lowercase(), name)
        }
        None => match name.split_once('.') {
            Some((schema, table)) if !table.contains('.') => (schema.to_owned(), table.to_owned()),
            Some(_) => {
                return Err(format!(
                    "`{name}` has more than one dot; name top-level files `schema.table.sql`"
                ));
            }
            None => {
                return Err(format!(
                    "no schema: put the file in a folder named after its schema (`first/{name}.sql`) or name it `schema.{name}.sql`"
                ));
            }
        },
    };
    validate_identifier(&schema).map_err(|e| format!("invalid schema name: {e}"))?;
    validate_identifier(&table).map_err(|e| format!("invalid table name: {e}"))?;
    Ok(TableName { schema, table })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(table: &str) -> TableName {
        TableName::parse(table).unwrap()
    }

    fn definition(table: &str, interval_minutes: Option<u32>) -> Classified {
        Classified::Role(FileRole::Definition {
            table: name(table),
            interval_minutes,
            select_of: None,
        })
    }

    fn role(role: FileRole) -> Classified {
        Classified::Role(role)
    }

    #[test]
    fn definitions_and_intervals() {
        let cases = [
            ("first/cities.sql", definition("first.cities", None)),
            ("first/cities — 24h.sql", definition("first.cities", Some(1_440))),
            ("first/cities – 24h.sql", definition("first.cities", Some(1_440))),
            ("first/cities - 24h.sql", definition("first.cities", Some(1_440))),
            ("first/cities-1h.sql", definition("first.cities", Some(60))),
            ("first/cities—1h.sql", definition("first.cities", Some(60))),
            ("first/cities –1h.sql", definition("first.cities", Some(60))),
            ("first/cities\u{a0}—\u{a0}1h.sql", definition("first.cities", Some(60))),
            ("first/cities 2d.sql", definition("first.cities", Some(2_880))),
            ("first.cities.sql", definition("first.cities", None)),
            ("first.cities - 24h.sql", definition("first.cities", Some(1_440))),
            ("first.cities-30m.sql", definition("first.cities", Some(30))),
            ("FIRST/Cities — 1H.sql", definition("first.cities", Some(60))),
            ("first/x — 1w.sql", definition("first.x", Some(10_080))),
            ("first/ci$ties.sql", definition("first.ci$ties", None)),
        ];
        for (path, expected) in cases {
            assert_eq!(classify(path), expected, "{path}");
        }
    }

    #[test]
    fn other_roles() {
        let cases = [
            ("first/cities_test.sql", role(FileRole::Test { table: name("first.cities") })),
            ("first.cities_test.sql", role(FileRole::Test { table: name("first.cities") })),
            (
                "first/my_test_table_test.sql",
                role(FileRole::Test { table: name("first.my_test_table") }),
            ),
            ("first/countries.py", role(FileRole::Processor { table: name("first.countries") })),
            ("first.countries.py", role(FileRole::Processor { table: name("first.countries") })),
            (
                "first/countries_requirements.txt",
                role(FileRole::Requirements { table: name("first.countries") }),
            ),
            (
                "first/countries_select.sql",
                role(FileRole::Definition {
                    table: name("first.countries_select"),
                    interval_minutes: None,
                    select_of: Some(name("first.countries")),
                }),
            ),
            ("global.conf", role(FileRole::GlobalConf)),
            ("first.conf", role(FileRole::SchemaConf { schema: "first".into() })),
            ("first/first.conf", role(FileRole::SchemaConf { schema: "first".into() })),
            ("first.cities.conf", role(FileRole::TableConf { table: name("first.cities") })),
            ("first/cities.conf", role(FileRole::TableConf { table: name("first.cities") })),
            ("README.md", Classified::Ignored),
            ("first/notes.txt", Classified::Ignored),
            ("first/noextension", Classified::Ignored),
            ("a/b/c/readme.md", Classified::Ignored),
        ];
        for (path, expected) in cases {
            assert_eq!(classify(path), expected, "{path}");
        }
    }

    /// Every path here crashed the original scheduler or was silently misread; each must be a
    /// diagnostic whose message contains the given text.
    #[test]
    fn problems_are_diagnostics() {
        let cases = [
            ("cities.sql", "no schema"),
            ("helper.py", "no schema"),
            ("cities_test.sql", "no schema"),
            ("first/sub/x.sql", "nested folders"),
            ("a/b/c.sql", "nested folders"),
            ("first/my-table.sql", "`table` is not an interval"),
            ("first/my table.sql", "`table` is not an interval"),
            ("first/cities — 24h extra.sql", "more than one word"),
            ("first/cities .sql", "no interval after it"),
            ("first/cities — .sql", "no interval after it"),
            ("first/cities — 0h.sql", "is zero"),
            ("first/cities — 1.5h.sql", "not an interval"),
            ("first/cities — 5s.sql", "not an interval"),
            ("first/first.cities.sql", "inside the schema folder `first`"),
            ("second/first.cities — 1h.sql", "inside the schema folder `second`"),
            ("a.b.c.sql", "more than one dot"),
            ("1first/cities.sql", "invalid schema name"),
            ("first/cities_test — 1h.sql", "test files have no interval"),
            ("first/countries — 1h.py", "processor scripts have no interval"),
            ("first/cities — 1h.conf", "config files have no interval"),
            ("— 1h.sql", "starts with a separator"),
            // Regression: the `-` was taken as a second separator, and `-1h` read as 60 minutes.
            ("first/cities — -1h.sql", "more than one dash before the interval"),
            ("first/cities--1h.sql", "more than one dash before the interval"),
            ("first/ü.sql", "invalid table name"),
        ];
        for (path, text) in cases {
            match classify(path) {
                Classified::Problem { severity: Severity::Error, message } => {
                    assert!(message.contains(text), "{path}: {message}")
                }
                other => panic!("{path}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn s3_load_nodes_and_near_misses() {
        let load = |table: &str, interval_minutes| {
            role(FileRole::S3Load { table: name(table), interval_minutes })
        };
        let cases = [
            ("raw/pages — 30m.s3.yml", load("raw.pages", Some(30))),
            ("raw/pages.s3.yaml", load("raw.pages", None)),
            ("raw.pages — 1h.s3.yml", load("raw.pages", Some(60))),
        ];
        for (path, expected) in cases {
            assert_eq!(classify(path), expected, "{path}");
        }
        for path in ["raw/pages.S3.yml", "raw/pages.s3.yml.orig"] {
            match classify(path) {
                Classified::Problem { severity: Severity::Warning, message } => {
                    assert!(message.contains("looks like an S3 load node"), "{path}: {message}")
                }
                other => panic!("{path}: expected a warning, got {other:?}"),
            }
        }
        match classify("pages — 30m.s3.yml") {
            Classified::Problem { severity: Severity::Error, message } => {
                assert!(message.contains("no schema"), "{message}")
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn replication_nodes_and_near_misses() {
        let replication = |table: &str, interval_minutes| {
            role(FileRole::Replication { table: name(table), interval_minutes })
        };
        let cases = [
            ("analytics/users — 1h.replication.yml", replication("analytics.users", Some(60))),
            ("analytics/users.replication.yaml", replication("analytics.users", None)),
            ("analytics.users — 30m.replication.yml", replication("analytics.users", Some(30))),
            (
                "analytics/users.ddl.sql",
                role(FileRole::TargetDdl { table: name("analytics.users") }),
            ),
            (
                "analytics.users.ddl.sql",
                role(FileRole::TargetDdl { table: name("analytics.users") }),
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(classify(path), expected, "{path}");
        }
        for path in [
            "analytics/users.replication.yaml.bak",
            "analytics/users — 1h.replicaton.yml",
            "analytics/users.Replication.yml",
        ] {
            match classify(path) {
                Classified::Problem { severity: Severity::Warning, message } => {
                    assert!(message.contains("looks like a replication node"), "{path}: {message}")
                }
                other => panic!("{path}: expected a warning, got {other:?}"),
            }
        }
        for (path, text) in [
            ("users — 1h.replication.yml", "no schema"),
            ("analytics/users — 0h.replication.yml", "is zero"),
            ("analytics/users — 1h.ddl.sql", "target DDL files have no interval"),
        ] {
            match classify(path) {
                Classified::Problem { severity: Severity::Error, message } => {
                    assert!(message.contains(text), "{path}: {message}")
                }
                other => panic!("{path}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn upper_case_extension_is_a_warning() {
        assert!(matches!(
            classify("first/cities.SQL"),
            Classified::Problem { severity: Severity::Warning, .. }
        ));
    }
}
