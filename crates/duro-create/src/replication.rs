//! The replication commands: `--triggers NODE [--apply]` prints (or runs) the source-side DDL
//! of delete tracking; `--table NODE --reset [--yes]` makes the node's next run copy everything.

#![allow(
    clippy::print_stdout,
    reason = "`--triggers` prints the statements for the operator to read or run"
)]

use crate::daemon::fatal;
use duro_core::config::Config;
use duro_core::replication::commands;
use duro_core::state::StateFile;
use std::process::ExitCode;

/// Prints the statements that install delete tracking for `table`'s source, or runs them with
/// `apply`.
pub(crate) fn triggers(config: &Config, table: &str, apply: bool) -> ExitCode {
    let state = match StateFile::open(&config.state.path) {
        Ok(state) => state,
        Err(error) => return fatal(&error),
    };
    let statements = match commands::trigger_statements(config, &state, table) {
        Ok(statements) => statements,
        Err(message) => return fatal(&message),
    };
    if !apply {
        for statement in &statements {
            println!("{statement};\n");
        }
        return ExitCode::SUCCESS;
    }
    match commands::apply_triggers(config, &state, table, &statements, "duro-create-triggers") {
        Ok(()) => {
            println!("delete tracking installed for `{table}` ({} statements)", statements.len());
            ExitCode::SUCCESS
        }
        Err(message) => fatal(&message),
    }
}

/// Forgets `table`'s watermark before it runs again.
pub(crate) fn reset(config: &Config, table: &str, confirmed: bool) -> Result<(), ExitCode> {
    let mut state = StateFile::open(&config.state.path).map_err(|error| fatal(&error))?;
    commands::reset(&mut state, table, confirmed).map_err(|message| fatal(&message))?;
    tracing::info!("{table}: watermark reset; this run copies the whole source");
    Ok(())
}
