//! The row-count rules of a table (`min_rows`, `max_row_drop`), checked on a new version before
//! it goes live. Pure: the counts come in, a verdict goes out.

use crate::catalog::TableConfig;

/// What a build knows besides the config: the rows of the last built version and whether a
/// person accepted a smaller table this once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowCheck {
    /// The rows at the table's last change (its per-table summary).
    pub previous: Option<i64>,
    /// Who let a smaller table through: `on the command line` (`--accept-row-drop`), or `by
    /// request (…)` with the force request's reason ("accept and rebuild").
    pub accepted_by: Option<String>,
}

/// Whether `rows` in the new version keep the rules of `config`: `Ok(None)` when they do,
/// `Ok(Some(note))` when they break one but a person accepted it (the note goes on the build),
/// `Err(message)` naming the rule and both counts otherwise.
pub fn check(config: &TableConfig, rows: i64, check: &RowCheck) -> Result<Option<String>, String> {
    let mut broken = Vec::new();
    if let Some(min) = config.min_rows
        && rows < i64::try_from(min).unwrap_or(i64::MAX)
    {
        broken.push(format!("`min_rows={min}`: the new version has {rows} rows"));
    }
    if let (Some(limit), Some(previous)) = (config.max_row_drop_percent, check.previous)
        && previous > 0
        && rows < previous
    {
        let drop = (previous - rows) as f64 * 100.0 / previous as f64;
        if drop > f64::from(limit) {
            broken.push(format!(
                "`max_row_drop={limit}%`: the new version has {rows} rows, {drop:.1}% fewer than the {previous} of the last build"
            ));
        }
    }
    if broken.is_empty() {
        return Ok(None);
    }
    let broken = broken.join("; ");
    match &check.accepted_by {
        Some(by) => Ok(Some(format!("accepted {by}: {broken}"))),
        None => Err(format!(
            "{broken}; the live table was kept (after a legitimate purge, \"Accept and rebuild\" on its page or `duro-create --table <table> --accept-row-drop` lets it through once)"
        )),
    }
}

/// The rules set for a table, as `--dry-run` and the table page list them.
pub fn describe(config: &TableConfig) -> Vec<String> {
    let mut rules = Vec::new();
    if let Some(min) = config.min_rows {
        rules.push(format!("min_rows={min}"));
    }
    if let Some(percent) = config.max_row_drop_percent {
        rules.push(format!("max_row_drop={percent}%"));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let config = TableConfig {
            min_rows: Some(10),
            max_row_drop_percent: Some(20),
            ..TableConfig::default()
        };
        let before = |previous: i64| RowCheck { previous: Some(previous), accepted_by: None };
        let cases: &[(i64, RowCheck, Result<Option<&str>, &str>)] = &[
            (100, before(100), Ok(None)),
            (80, before(100), Ok(None)),
            (150, before(100), Ok(None)),
            (10, RowCheck::default(), Ok(None)),
            (
                79,
                before(100),
                Err(
                    "`max_row_drop=20%`: the new version has 79 rows, 21.0% fewer than the 100 of the last build",
                ),
            ),
            (9, before(10), Err("`min_rows=10`: the new version has 9 rows")),
            (
                0,
                before(100),
                Err(
                    "`min_rows=10`: the new version has 0 rows; `max_row_drop=20%`: the new version has 0 rows, 100.0% fewer",
                ),
            ),
            (
                0,
                RowCheck {
                    previous: Some(100),
                    accepted_by: Some("on the command line".to_owned()),
                },
                Ok(Some("accepted on the command line: `min_rows=10`")),
            ),
            (5, before(0), Err("`min_rows=10`")),
        ];
        for (rows, check_with, expected) in cases {
            let found = check(&config, *rows, check_with);
            match (&found, expected) {
                (Ok(None), Ok(None)) => {}
                (Ok(Some(note)), Ok(Some(want))) => assert!(note.contains(want), "{rows}: {note}"),
                (Err(message), Err(want)) => {
                    assert!(
                        message.contains(want) && message.contains("--accept-row-drop"),
                        "{rows}: {message}"
                    )
                }
                _ => panic!("{rows} rows: {found:?}, expected {expected:?}"),
            }
        }
        assert_eq!(describe(&config), ["min_rows=10", "max_row_drop=20%"]);
        assert!(describe(&TableConfig::default()).is_empty());
    }
}
