//! Parsing one `.conf` file: `key=value` (or `key: value`, as the original Duro's configparser
//! read it) lines, keys in any case, indented continuation lines, `#`/`;` comments on their own
//! line, `grant_select+=`/`-=`. A `[section]` header is a warning and the keys after it are
//! ignored, as the original ignored them.
//!
//! Every value is validated here, once per file, so a `global.conf` mistake is reported once and
//! not once per table. The result is a list of typed settings to be merged by `table_config`.

use crate::catalog::conf_keys::{ConfKey, known_names};
use crate::catalog::indexes::{IndexSpec, parse_indexes};
use crate::catalog::{CsvDelimiter, UpstreamFailure};
use crate::diagnostic::{Diagnostic, Severity};
use crate::identifier::{normalize_grantee, validate_identifier};
use crate::ini::{self, Line};
use crate::interval::{parse_duration_seconds, parse_interval_minutes};

/// A change to the list of grantees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantChange {
    /// `grant_select=a, b` (or `null`, giving an empty list).
    Replace(Vec<String>),
    /// `grant_select+=a`, `grant_select-=b`, or `grant_select=+a, -b`.
    Modify { add: Vec<String>, remove: Vec<String> },
}

/// One validated line. `None` values are resets (`key=null`), cancelling an inherited value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    GrantSelect(GrantChange),
    Distkey(Option<String>),
    Sortkey(Vec<String>),
    Diststyle(Option<String>),
    SnapshotsInterval(Option<u32>),
    SnapshotsStoredFor(Option<u32>),
    Timeout(Option<u64>),
    ProcessorTimeout(Option<u64>),
    ProcessorCsvDelimiter(Option<CsvDelimiter>),
    OnUpstreamFailure(Option<UpstreamFailure>),
    SkipUnchanged(Option<bool>),
    MinRows(Option<u64>),
    MaxRowDrop(Option<u8>),
    MaxCost(Option<u64>),
    Indexes(Vec<IndexSpec>),
    Analyze(Option<bool>),
}

impl Setting {
    /// The config key this setting is written under.
    pub fn key(&self) -> ConfKey {
        match self {
            Setting::GrantSelect(_) => ConfKey::GrantSelect,
            Setting::Distkey(_) => ConfKey::Distkey,
            Setting::Sortkey(_) => ConfKey::Sortkey,
            Setting::Diststyle(_) => ConfKey::Diststyle,
            Setting::SnapshotsInterval(_) => ConfKey::SnapshotsInterval,
            Setting::SnapshotsStoredFor(_) => ConfKey::SnapshotsStoredFor,
            Setting::Timeout(_) => ConfKey::Timeout,
            Setting::ProcessorTimeout(_) => ConfKey::ProcessorTimeout,
            Setting::ProcessorCsvDelimiter(_) => ConfKey::ProcessorCsvDelimiter,
            Setting::OnUpstreamFailure(_) => ConfKey::OnUpstreamFailure,
            Setting::SkipUnchanged(_) => ConfKey::SkipUnchanged,
            Setting::MinRows(_) => ConfKey::MinRows,
            Setting::MaxRowDrop(_) => ConfKey::MaxRowDrop,
            Setting::MaxCost(_) => ConfKey::MaxCost,
            Setting::Indexes(_) => ConfKey::Indexes,
            Setting::Analyze(_) => ConfKey::Analyze,
        }
    }
}

pub const DISTSTYLES: [&str; 4] = ["auto", "even", "key", "all"];

/// A problem on one line of a `.conf` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfProblem {
    pub line: usize,
    pub severity: Severity,
    pub message: String,
}

impl ConfProblem {
    /// The problem as a diagnostic of the file at `path` (relative to the views folder).
    pub fn diagnostic(&self, path: &str) -> Diagnostic {
        Diagnostic::new(self.severity, Some(path), self.message.clone()).at_line(self.line)
    }
}

/// The settings of one file, in file order, with the problems found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfFile {
    pub settings: Vec<Setting>,
    pub problems: Vec<ConfProblem>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operator {
    Set,
    Add,
    Remove,
}

/// One logical line: a `key=value` line with its indented continuation lines.
struct Entry {
    line: usize,
    text: String,
}

/// The entries Duro reads: those before any `[section]` header (configparser's logical lines,
/// see [`crate::ini`]). A header is a warning, and the entries after it are ignored.
fn entries(text: &str, problems: &mut Vec<ConfProblem>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut section: Option<(usize, String)> = None;
    let mut ignored = 0;
    for line in ini::lines(text) {
        match line {
            Line::Section { line, name } if section.is_none() => {
                section = Some((line, format!("[{name}]")));
            }
            Line::Section { .. } => {}
            Line::Entry { .. } if section.is_some() => ignored += 1,
            Line::Entry { line, text } => entries.push(Entry { line, text }),
        }
    }
    if let Some((line, header)) = section {
        problems.push(ConfProblem {
            line,
            severity: Severity::Warning,
            message: format!(
                "section `{header}` ignored with the {ignored} keys after it (as the original Duro ignored them); a `.conf` file has no sections"
            ),
        });
    }
    entries
}

/// Parses the text of a `.conf` file.
pub fn parse_conf(text: &str) -> ConfFile {
    let mut file = ConfFile::default();
    let mut first_line_of_key: Vec<(String, usize)> = Vec::new();
    for Entry { line: line_number, text: line } in entries(text, &mut file.problems) {
        let mut problem = |severity: Severity, message: String| {
            file.problems.push(ConfProblem { line: line_number, severity, message })
        };
        let Some((raw_key, raw_value)) = ini::split_entry(&line) else {
            problem(
                Severity::Error,
                format!("expected `key=value` or `key: value`, found `{line}`"),
            );
            continue;
        };
        let (key, operator) = match (raw_key.strip_suffix('+'), raw_key.strip_suffix('-')) {
            (Some(key), _) => (key.trim_end().to_owned(), Operator::Add),
            (_, Some(key)) => (key.trim_end().to_owned(), Operator::Remove),
            _ => (raw_key, Operator::Set),
        };
        let value = strip_inline_comment(raw_value).trim();
        let Some(conf_key) = ConfKey::from_name(&key) else {
            problem(
                Severity::Warning,
                format!("unknown key `{key}`, ignored (known keys: {})", known_names()),
            );
            continue;
        };
        if operator == Operator::Set && key != "grant_select" {
            if let Some((_, first)) = first_line_of_key.iter().find(|(k, _)| *k == key) {
                problem(
                    Severity::Error,
                    format!("`{key}` is set twice in this file (first on line {first}); keep one"),
                );
                continue;
            }
            first_line_of_key.push((key.clone(), line_number));
        }
        match parse_setting(conf_key, operator, value) {
            Ok(setting) => file.settings.push(setting),
            Err(message) => problem(Severity::Error, message),
        }
    }
    file
}

/// `value # comment` → `value`. A `#` only starts a comment after whitespace, so `a#b` is kept.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (at, byte) in bytes.iter().enumerate() {
        if *byte == b'#' && at > 0 && bytes[at - 1].is_ascii_whitespace() {
            return &value[..at];
        }
    }
    value
}

fn is_null(value: &str) -> bool {
    value.is_empty() || value.eq_ignore_ascii_case("null") || value == "None"
}

fn parse_setting(key: ConfKey, operator: Operator, value: &str) -> Result<Setting, String> {
    let name = key.name();
    if key == ConfKey::GrantSelect {
        return parse_grant(operator, value).map(Setting::GrantSelect);
    }
    if operator != Operator::Set {
        return Err(format!(
            "only `grant_select` supports `+=` and `-=`; write `{name}=value` or `{name}=null`"
        ));
    }
    let null = is_null(value);
    let with_key = |message: String| format!("`{name}`: {message}");
    match key {
        ConfKey::GrantSelect => unreachable!("handled above"),
        ConfKey::Distkey if null => Ok(Setting::Distkey(None)),
        ConfKey::Distkey => column(value).map(|c| Setting::Distkey(Some(c))).map_err(with_key),
        ConfKey::Sortkey if null => Ok(Setting::Sortkey(Vec::new())),
        ConfKey::Sortkey => value
            .split(',')
            .map(column)
            .collect::<Result<Vec<_>, _>>()
            .map(Setting::Sortkey)
            .map_err(with_key),
        ConfKey::Diststyle if null => Ok(Setting::Diststyle(None)),
        ConfKey::Diststyle => {
            let style = value.to_lowercase();
            if DISTSTYLES.contains(&style.as_str()) {
                Ok(Setting::Diststyle(Some(style)))
            } else {
                Err(format!("`diststyle` must be one of {}, not `{value}`", DISTSTYLES.join(", ")))
            }
        }
        ConfKey::SnapshotsInterval if null => Ok(Setting::SnapshotsInterval(None)),
        ConfKey::SnapshotsInterval => parse_interval_minutes(value)
            .map(|m| Setting::SnapshotsInterval(Some(m)))
            .map_err(with_key),
        ConfKey::SnapshotsStoredFor if null => Ok(Setting::SnapshotsStoredFor(None)),
        ConfKey::SnapshotsStoredFor => parse_interval_minutes(value)
            .map(|m| Setting::SnapshotsStoredFor(Some(m)))
            .map_err(with_key),
        ConfKey::Timeout if null => Ok(Setting::Timeout(None)),
        ConfKey::Timeout => parse_duration_seconds(value)
            .and_then(crate::interval::check_statement_timeout)
            .map(|s| Setting::Timeout(Some(s)))
            .map_err(with_key),
        ConfKey::ProcessorTimeout if null => Ok(Setting::ProcessorTimeout(None)),
        ConfKey::ProcessorTimeout => parse_duration_seconds(value)
            .map(|s| Setting::ProcessorTimeout(Some(s)))
            .map_err(with_key),
        ConfKey::ProcessorCsvDelimiter if null => Ok(Setting::ProcessorCsvDelimiter(None)),
        ConfKey::ProcessorCsvDelimiter => named(&CsvDelimiter::ALL, CsvDelimiter::as_str, value)
            .map(|delimiter| Setting::ProcessorCsvDelimiter(Some(delimiter)))
            .ok_or_else(|| {
                format!(
                    "`processor_csv_delimiter` must be `comma`, `semicolon` or `tab`, not `{value}`"
                )
            }),
        ConfKey::OnUpstreamFailure if null => Ok(Setting::OnUpstreamFailure(None)),
        ConfKey::OnUpstreamFailure => named(&UpstreamFailure::ALL, UpstreamFailure::as_str, value)
            .map(|policy| Setting::OnUpstreamFailure(Some(policy)))
            .ok_or_else(|| {
                format!("`on_upstream_failure` must be `skip` or `build`, not `{value}`")
            }),
        ConfKey::SkipUnchanged if null => Ok(Setting::SkipUnchanged(None)),
        ConfKey::SkipUnchanged => boolean(name, value).map(|on| Setting::SkipUnchanged(Some(on))),
        ConfKey::MinRows if null => Ok(Setting::MinRows(None)),
        ConfKey::MinRows => value
            .parse::<u64>()
            .map(|n| Setting::MinRows(Some(n)))
            .map_err(|_| format!("`min_rows` must be a whole number of rows, not `{value}`")),
        ConfKey::MaxRowDrop if null => Ok(Setting::MaxRowDrop(None)),
        ConfKey::MaxRowDrop => value
            .trim_end_matches('%')
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|percent| *percent <= 100)
            .map(|percent| Setting::MaxRowDrop(Some(percent)))
            .ok_or_else(|| {
                format!("`max_row_drop` must be a percentage from 0% to 100%, not `{value}`")
            }),
        ConfKey::MaxCost if null => Ok(Setting::MaxCost(None)),
        ConfKey::MaxCost => value
            .replace('_', "")
            .parse::<u64>()
            .ok()
            .filter(|cost| *cost > 0)
            .map(|cost| Setting::MaxCost(Some(cost)))
            .ok_or_else(|| {
                format!("`max_cost` must be a whole number above 0 (a plan cost, as `EXPLAIN` shows it), not `{value}`")
            }),
        ConfKey::Indexes if null => Ok(Setting::Indexes(Vec::new())),
        ConfKey::Indexes => parse_indexes(value).map(Setting::Indexes).map_err(with_key),
        ConfKey::Analyze if null => Ok(Setting::Analyze(None)),
        ConfKey::Analyze => boolean(name, value).map(|on| Setting::Analyze(Some(on))),
    }
}

/// `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`, in any case), as configparser reads them.
fn boolean(name: &str, value: &str) -> Result<bool, String> {
    match value.to_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("`{name}` must be `true` or `false`, not `{value}`")),
    }
}

/// The member of `all` whose name is `value`, in any case.
fn named<T: Copy>(all: &[T], name: fn(T) -> &'static str, value: &str) -> Option<T> {
    all.iter().copied().find(|member| name(*member).eq_ignore_ascii_case(value))
}

fn column(raw: &str) -> Result<String, String> {
    let name = raw.trim().trim_matches('"').to_lowercase();
    validate_identifier(&name).map(|()| name)
}

fn grantees(value: &str) -> Result<Vec<String>, String> {
    value.split(',').filter(|item| !item.trim().is_empty()).map(normalize_grantee).collect()
}

fn parse_grant(operator: Operator, value: &str) -> Result<GrantChange, String> {
    match operator {
        Operator::Add | Operator::Remove => {
            if value.split(',').any(|item| item.trim().starts_with(['+', '-'])) {
                return Err(
                    "with `+=`/`-=`, list plain names: `grant_select+=jane, john`".to_owned()
                );
            }
            let names = grantees(value)?;
            Ok(match operator {
                Operator::Add => GrantChange::Modify { add: names, remove: Vec::new() },
                _ => GrantChange::Modify { add: Vec::new(), remove: names },
            })
        }
        Operator::Set if is_null(value) => Ok(GrantChange::Replace(Vec::new())),
        Operator::Set => {
            let items: Vec<&str> =
                value.split(',').map(str::trim).filter(|item| !item.is_empty()).collect();
            let signed = items.iter().filter(|item| item.starts_with(['+', '-'])).count();
            if signed == 0 {
                return grantees(value).map(GrantChange::Replace);
            }
            if signed != items.len() {
                return Err(format!(
                    "`{value}` mixes plain names with `+`/`-` names; write `grant_select=a, b` to replace the inherited list, or sign every name (`+a, -b`)"
                ));
            }
            let (mut add, mut remove) = (Vec::new(), Vec::new());
            for item in items {
                let (list, name) = match item.strip_prefix('+') {
                    Some(name) => (&mut add, name),
                    None => (&mut remove, &item[1..]),
                };
                list.push(normalize_grantee(name)?);
            }
            Ok(GrantChange::Modify { add, remove })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Vec<Setting> {
        let file = parse_conf(text);
        assert!(file.problems.is_empty(), "{text:?}: {:?}", file.problems);
        file.settings
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values() {
        let cases = [
            ("distkey=city", Setting::Distkey(Some("city".into()))),
            ("distkey = City", Setting::Distkey(Some("city".into()))),
            ("distkey=null", Setting::Distkey(None)),
            ("distkey=None", Setting::Distkey(None)),
            ("distkey=", Setting::Distkey(None)),
            ("sortkey=a, b", Setting::Sortkey(names(&["a", "b"]))),
            ("sortkey=null", Setting::Sortkey(vec![])),
            ("diststyle=EVEN", Setting::Diststyle(Some("even".into()))),
            ("snapshots_interval=24h", Setting::SnapshotsInterval(Some(1_440))),
            ("snapshots_stored_for=90d", Setting::SnapshotsStoredFor(Some(129_600))),
            ("timeout=30s", Setting::Timeout(Some(30))),
            ("processor_timeout=10m", Setting::ProcessorTimeout(Some(600))),
            (
                "on_upstream_failure = Build",
                Setting::OnUpstreamFailure(Some(crate::catalog::UpstreamFailure::Build)),
            ),
            (
                "on_upstream_failure=skip",
                Setting::OnUpstreamFailure(Some(crate::catalog::UpstreamFailure::Skip)),
            ),
            ("on_upstream_failure=null", Setting::OnUpstreamFailure(None)),
            ("skip_unchanged = True", Setting::SkipUnchanged(Some(true))),
            ("skip_unchanged=off", Setting::SkipUnchanged(Some(false))),
            ("min_rows = 1000", Setting::MinRows(Some(1000))),
            ("max_row_drop = 20%", Setting::MaxRowDrop(Some(20))),
            ("max_row_drop=5", Setting::MaxRowDrop(Some(5))),
            ("max_cost = 1_000_000", Setting::MaxCost(Some(1_000_000))),
            ("max_cost=null", Setting::MaxCost(None)),
            (
                "indexes = (a), unique (b, c)",
                Setting::Indexes(
                    crate::catalog::indexes::parse_indexes("(a), unique (b, c)").unwrap(),
                ),
            ),
            ("indexes=null", Setting::Indexes(vec![])),
            ("analyze = False", Setting::Analyze(Some(false))),
            (
                "processor_csv_delimiter = Semicolon",
                Setting::ProcessorCsvDelimiter(Some(crate::catalog::CsvDelimiter::Semicolon)),
            ),
            ("distkey = city # the join key", Setting::Distkey(Some("city".into()))),
            // configparser's forms, as the original Duro read them.
            ("distkey: city", Setting::Distkey(Some("city".into()))),
            ("DISTKEY : City", Setting::Distkey(Some("city".into()))),
            ("SortKey=a,\n    b", Setting::Sortkey(names(&["a", "b"]))),
            ("; a comment\n# another\nsortkey:\n\ta,\n\tb", Setting::Sortkey(names(&["a", "b"]))),
        ];
        for (text, expected) in cases {
            assert_eq!(settings(text), vec![expected], "{text}");
        }
    }

    /// Regression: the original read `grant_select+=x` as an unknown key `grant_select+` and
    /// silently ignored it; it dropped unprefixed names mixed with signs, ignored hyphenated
    /// users, and made `null` a user name.
    #[test]
    fn grant_syntax() {
        let modify = |add: &[&str], remove: &[&str]| GrantChange::Modify {
            add: names(add),
            remove: names(remove),
        };
        let cases = [
            ("grant_select=jane, john", GrantChange::Replace(names(&["jane", "john"]))),
            ("grant_select+=metabase", modify(&["metabase"], &[])),
            ("grant_select += a, b", modify(&["a", "b"], &[])),
            ("grant_select-=metabase", modify(&[], &["metabase"])),
            ("grant_select=-jane, +joan", modify(&["joan"], &["jane"])),
            ("grant_select=+data-team", modify(&["data-team"], &[])),
            ("grant_select=null", GrantChange::Replace(vec![])),
            ("grant_select=", GrantChange::Replace(vec![])),
            (
                "grant_select=group analysts, jane",
                GrantChange::Replace(names(&["group analysts", "jane"])),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(settings(text), vec![Setting::GrantSelect(expected)], "{text}");
        }
    }

    /// Each case: the file's text, and its one problem as printed for a file `t.conf`: what comes
    /// before the message (`t.conf:line: severity`) and a part of the message.
    #[test]
    fn problems() {
        let cases = [
            ("distkey city", "t.conf:1: error", "expected `key=value` or `key: value`"),
            ("  distkey city", "t.conf:1: error", "expected `key=value`"),
            (
                "distkey=a\n[top]\nsortkey=b\n  c\ndiststyle=all",
                "t.conf:2: warning",
                "section `[top]` ignored with the 2 keys after it",
            ),
            ("colour=blue", "t.conf:1: warning", "unknown key `colour`"),
            ("grant_select=jane, +john", "t.conf:1: error", "mixes plain names"),
            ("grant_select+=+john", "t.conf:1: error", "list plain names"),
            ("distkey+=city", "t.conf:1: error", "only `grant_select` supports"),
            ("diststyle=wide", "t.conf:1: error", "must be one of"),
            (
                "processor_csv_delimiter=;",
                "t.conf:1: error",
                "must be `comma`, `semicolon` or `tab`, not `;`",
            ),
            (
                "on_upstream_failure=retry",
                "t.conf:1: error",
                "`on_upstream_failure` must be `skip` or `build`, not `retry`",
            ),
            (
                "snapshots_interval=daily",
                "t.conf:1: error",
                "`snapshots_interval`: `daily` is not an interval",
            ),
            ("timeout=0s", "t.conf:1: error", "zero"),
            // Regression: every PostgreSQL build failed (statement_timeout is at most 2^31-1 ms).
            ("timeout=30d", "t.conf:1: error", "at most 2147483 s"),
            ("distkey=a b", "t.conf:1: error", "`distkey`"),
            (
                "# comment\n\ndistkey=a\ndistkey=b",
                "t.conf:4: error",
                "set twice in this file (first on line 3)",
            ),
            ("grant_select=jane; drop table x", "t.conf:1: error", "not a"),
            ("max_cost=1e9", "t.conf:1: error", "`max_cost` must be a whole number above 0"),
            ("indexes=(a); drop table x", "t.conf:1: error", "`indexes`: expected `,` before"),
            ("analyze=maybe", "t.conf:1: error", "`analyze` must be `true` or `false`"),
        ];
        for (text, head, message) in cases {
            let file = parse_conf(text);
            assert_eq!(file.problems.len(), 1, "{text}: {:?}", file.problems);
            let rendered = file.problems[0].diagnostic("t.conf").to_string();
            let found = rendered
                .strip_prefix(head)
                .and_then(|rest| rest.strip_prefix(": "))
                .is_some_and(|printed| printed.contains(message));
            assert!(found, "{text}: expected `{head}: …{message}…`, got `{rendered}`");
        }
    }

    #[test]
    fn grant_operations_may_repeat_in_one_file() {
        let found = settings("grant_select=a\ngrant_select+=b\ngrant_select-=a");
        assert_eq!(found.len(), 3);
    }
}
