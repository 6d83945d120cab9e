//! What an operator runs for one replication node besides its runs: the source-side DDL of
//! delete tracking (printed, or applied), and a reset that makes the next run copy everything.

use crate::catalog::ReplicationSource;
use crate::catalog::replication::{DeleteTracking, Strategy};
use crate::config::Config;
use crate::sources::{self, SourceKind};
use crate::state::StateFile;

/// The replication node `name` of the catalog in force.
fn node(state: &StateFile, name: &str) -> Result<ReplicationSource, String> {
    let table = state
        .table(name)
        .map_err(|e| e.to_string())?
        .filter(|table| table.deleted_at_ms.is_none())
        .ok_or_else(|| format!("`{name}` is not in the catalog; run duro-schedule first"))?;
    match table.kind.replication() {
        Some(source) => Ok(source.clone()),
        None => {
            Err(format!("`{name}` is a {}, not a replication node", table.kind.name().as_str()))
        }
    }
}

/// The statements that install delete tracking for node `name` on its source, for that
/// source's kind.
pub fn trigger_statements(
    config: &Config,
    state: &StateFile,
    name: &str,
) -> Result<Vec<String>, String> {
    let node = node(state, name)?;
    let spec = &node.spec;
    if spec.delete_tracking != DeleteTracking::Trigger {
        return Err(format!(
            "`{name}` does not track deletions; add `delete_tracking: trigger` to its file first"
        ));
    }
    let connection = config
        .connections
        .get(&spec.source)
        .ok_or_else(|| format!("no connection `{}` in duro.yaml's `connections`", spec.source))?;
    let kind = SourceKind::of(&spec.source, connection).map_err(|e| e.message)?;
    kind.delete_tracking_ddl(&spec.source_table, &spec.key)
}

/// Runs `statements` on node `name`'s source, in one transaction.
pub fn apply_triggers(
    config: &Config,
    state: &StateFile,
    name: &str,
    statements: &[String],
    application_name: &str,
) -> Result<(), String> {
    let spec = node(state, name)?.spec;
    let connection = config
        .connections
        .get(&spec.source)
        .ok_or_else(|| format!("no connection `{}` in duro.yaml's `connections`", spec.source))?;
    let mut source =
        sources::connect(&spec.source, connection, application_name).map_err(|e| e.message)?;
    source.apply(statements).map_err(|e| e.message)
}

/// Forgets node `name`'s watermark and unfinished run, so its next run copies the whole
/// source (timed: merged by key; identity: every row replaced, which needs `confirmed`).
pub fn reset(state: &mut StateFile, name: &str, confirmed: bool) -> Result<(), String> {
    let node = node(state, name)?;
    if node.spec.strategy == Strategy::Identity && !confirmed {
        return Err(format!(
            "resetting `{name}` replaces every row of the target with a copy of the whole source; add --yes to go ahead"
        ));
    }
    state.reset_replication(name).map_err(|e| e.to_string())
}

/// What the next run of `name` would copy, for `--dry-run`; `None` for other kinds of table.
pub fn next_run(state: &StateFile, name: &str) -> Result<Option<String>, String> {
    let Ok(node) = node(state, name) else {
        return Ok(None);
    };
    let spec = &node.spec;
    let stored = state.replication_state(name).map_err(|e| e.to_string())?;
    let what = format!(
        "{} copy of `{}` from `{}`",
        match spec.strategy {
            Strategy::Timed => "a timed",
            Strategy::Identity => "an identity",
            Strategy::Full => "a full",
        },
        spec.source_table,
        spec.source
    );
    Ok(Some(match (&stored.pending, &stored.watermark, spec.strategy) {
        (Some(pending), _, _) => format!(
            "{what}: retries its unfinished run (attempt {} of {}, up to `{}`)",
            pending.retries + 2,
            spec.max_retries + 1,
            pending.hi.as_deref().unwrap_or("the end")
        ),
        (None, _, Strategy::Full) => what,
        (None, Some(watermark), _) => format!("{what}, past the watermark `{watermark}`"),
        (None, None, _) => format!("{what}, everything (no watermark yet)"),
    }))
}
