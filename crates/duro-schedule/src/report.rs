//! What `duro-schedule` prints: the JSON document of `--check --json`, the same for people, and
//! the result of a run. Logs go to stderr (`DURO_LOG` sets the level); results go to stdout.

#![allow(clippy::print_stdout, reason = "this module writes the command's results to stdout")]

use duro_core::interval::format_minutes;
use duro_core::notify::Notifications;
use duro_core::schedule::{CheckedRepository, ScheduleOutcome, write_atomically};
use duro_core::state::CatalogChanges;
use duro_core::{Diagnostic, Severity};
use std::fmt::Display;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

const EXIT_HAS_ERRORS: u8 = 1;

/// A problem that stopped the run before any result: configuration, git, state file.
pub(crate) fn fatal(error: &dyn Display) -> ExitCode {
    duro_core::startup::fatal("duro-schedule", error)
}

/// `--compact`: a retention pass without its per-pass limit, then the state file rewritten with
/// `auto_vacuum = incremental`; prints the file's size before and after.
pub(crate) fn compact(config: &duro_core::config::Config) -> ExitCode {
    let path = &config.state.path;
    let size = || std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    let cutoff =
        duro_core::state::cutoff_ms(config.state.keep_builds_for, duro_core::clock::now_ms());
    let done = duro_core::state::StateFile::open(path).and_then(|mut state| {
        let pass = state.delete_builds_before(cutoff, u64::MAX)?;
        state.compact().map(|()| pass)
    });
    match done {
        Ok(pass) => {
            println!(
                "{}: deleted {} build records older than state.keep_builds_for; {:.1} MB before, {:.1} MB after",
                path.display(),
                pass.deleted,
                before as f64 / 1e6,
                size() as f64 / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(error) => fatal(&error),
    }
}

/// `--print-config`: the configuration file as duro.yaml without its secrets (the warnings of
/// its translation went to the log when the configuration was loaded).
pub(crate) fn print_config(explicit: Option<&Path>) -> ExitCode {
    let env: Vec<(String, String)> = std::env::vars().collect();
    match duro_core::config::Config::equivalent_yaml(explicit, &env) {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(error) => fatal(&error),
    }
}

/// `--dot`: the dependency graph of what was read, in Graphviz DOT (written atomically).
pub(crate) fn write_graph(checked: &CheckedRepository, dot: Option<&Path>) -> Result<(), ExitCode> {
    match dot {
        Some(path) => write_atomically(path, &checked.graph.to_dot()).map_err(|error| {
            fatal(&format!("cannot write the graph to `{}`: {error}", path.display()))
        }),
        None => Ok(()),
    }
}

/// `--manifest`: the catalog as a dbt-style manifest (written atomically); not written when the
/// repository has errors, so the file keeps describing the catalog in force.
pub(crate) fn write_manifest(
    checked: &CheckedRepository,
    manifest: Option<&Path>,
) -> Result<(), ExitCode> {
    let Some(path) = manifest else {
        return Ok(());
    };
    if checked.has_errors() {
        tracing::warn!(
            "the repository has errors: the manifest `{}` was not written",
            path.display()
        );
        return Ok(());
    }
    let document = duro_core::manifest::manifest(&checked.catalog, duro_core::clock::now_ms());
    let text = serde_json::to_string_pretty(&document).expect("a manifest always serializes");
    write_atomically(path, &text).map_err(|error| {
        fatal(&format!("cannot write the manifest to `{}`: {error}", path.display()))
    })
}

fn exit_for(checked: &CheckedRepository) -> ExitCode {
    if checked.has_errors() { ExitCode::from(EXIT_HAS_ERRORS) } else { ExitCode::SUCCESS }
}

/// `--check`: the catalog and diagnostics, as JSON or for people.
pub(crate) fn checked(checked: &CheckedRepository, json: bool) -> ExitCode {
    if json {
        let tables: Vec<_> = checked.catalog.tables.values().collect();
        let document = serde_json::json!({
            "tables": tables,
            "sources": checked.catalog.sources(),
            "diagnostics": checked.diagnostics
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&document).expect("the report always serializes")
        );
    } else {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for table in checked.catalog.tables.values() {
            let interval =
                table.interval_minutes.map(format_minutes).unwrap_or_else(|| "-".to_owned());
            let reads = if table.dependencies.is_empty() {
                String::new()
            } else {
                format!("  reads {}", table.dependencies.join(", "))
            };
            let _ = writeln!(
                out,
                "{:<40} {:<9} {:>5}{reads}",
                table.name,
                table.kind.name().as_str(),
                interval
            );
        }
        for diagnostic in &checked.diagnostics {
            let _ = writeln!(out, "{diagnostic}");
        }
        let _ = writeln!(out, "{}", summary(checked));
    }
    exit_for(checked)
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        println!("{diagnostic}");
    }
}

fn summary(checked: &CheckedRepository) -> String {
    let count = |severity| checked.diagnostics.iter().filter(|d| d.severity == severity).count();
    format!(
        "{} tables, {} errors, {} warnings",
        checked.catalog.len(),
        count(Severity::Error),
        count(Severity::Warning)
    )
}

/// At most this many error lines go to Slack when a schedule fails.
const MAX_NOTIFIED_ERRORS: usize = 20;

/// The result of a scheduler run, printed and told to Slack.
pub(crate) fn outcome(outcome: &ScheduleOutcome, notifications: &Notifications) -> ExitCode {
    match outcome {
        ScheduleOutcome::UnchangedCommit { commit } => {
            tracing::info!("commit {commit} was already processed; nothing to do");
            ExitCode::SUCCESS
        }
        ScheduleOutcome::Rejected { checked } => {
            print_diagnostics(&checked.diagnostics);
            let message = format!(
                "{}; nothing was written, the previous catalog stays in force",
                summary(checked)
            );
            tracing::error!("{message}");
            println!("{message}");
            let errors: Vec<String> = checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .take(MAX_NOTIFIED_ERRORS)
                .map(ToString::to_string)
                .collect();
            notifications.schedule_failed(&format!("{}\n{message}", errors.join("\n")));
            exit_for(checked)
        }
        ScheduleOutcome::Saved { checked, changes, commit } => {
            print_diagnostics(&checked.diagnostics);
            let message = changes_message(changes);
            match commit {
                Some(commit) => tracing::info!("scheduled commit {commit}: {message}"),
                None => tracing::info!("scheduled: {message}"),
            }
            println!("{message}");
            if !changes.is_empty() {
                notifications.rescheduled(&message);
            }
            ExitCode::SUCCESS
        }
    }
}

/// At most this many names per list in the changes message; the rest are counted.
const MAX_LISTED_NAMES: usize = 20;

/// `New tables (2): a, b. Updated tables (1): c.` or `No changes.`; a long list ends with
/// `… and N more`.
pub(crate) fn changes_message(changes: &CatalogChanges) -> String {
    let list = |names: &[String]| {
        let shown = names[..names.len().min(MAX_LISTED_NAMES)].join(", ");
        match names.len().saturating_sub(MAX_LISTED_NAMES) {
            0 => shown,
            more => format!("{shown} and {more} more"),
        }
    };
    let parts: Vec<String> =
        [("New", &changes.new), ("Updated", &changes.updated), ("Removed", &changes.removed)]
            .into_iter()
            .filter(|(_, names)| !names.is_empty())
            .map(|(what, names)| format!("{what} tables ({}): {}.", names.len(), list(names)))
            .collect();
    if parts.is_empty() { "No changes.".to_owned() } else { parts.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("s.t{i:02}")).collect()
    }

    #[test]
    fn changes_messages() {
        assert_eq!(changes_message(&CatalogChanges::default()), "No changes.");
        let changes = CatalogChanges { new: names(2), updated: vec![], removed: names(1) };
        assert_eq!(
            changes_message(&changes),
            "New tables (2): s.t00, s.t01. Removed tables (1): s.t00."
        );
        let many =
            changes_message(&CatalogChanges { new: vec![], updated: names(25), removed: vec![] });
        assert!(many.starts_with("Updated tables (25): s.t00, "), "{many}");
        assert!(many.ends_with("s.t19 and 5 more."), "{many}");
    }
}
