//! Change-aware skipping (`skip_unchanged=true`): a view or processor table due only because its
//! interval passed is not rebuilt while its definition is unchanged and every table it reads
//! changed before its last successful build. A table reading a source is always rebuilt (a
//! source's changes cannot be known); a forced or never-built table always is. The decision
//! reads the per-table summaries, never build rows that retention may delete.

use crate::plan::Reason;
use crate::state::{StateError, StateFile, StoredTable};

/// When `table`'s inputs last stayed unchanged from: the start of its last successful build,
/// if it can be skipped now; `None` when it must be built.
pub(crate) fn unchanged_since(
    state: &StateFile,
    table: &StoredTable,
    reason: &Reason,
) -> Result<Option<i64>, StateError> {
    let due_for_its_interval =
        matches!(reason, Reason::Stale { .. } | Reason::StaleForDependent { .. });
    let builds_from_the_catalog = table.kind.built_from_select();
    if table.config.skip_unchanged != Some(true)
        || !due_for_its_interval
        || !builds_from_the_catalog
    {
        return Ok(None);
    }
    let Some(since) = state.last_success_of(&table.name)? else {
        return Ok(None);
    };
    if table.changed_at_ms >= since || state.reads_sources(&table.name)? {
        return Ok(None);
    }
    // A change that finished the moment this table's build began was read by it: the creator
    // starts a table only after what it reads has finished.
    for dependency in &table.dependencies {
        if state.last_change_of(dependency)?.is_some_and(|changed| changed > since) {
            return Ok(None);
        }
    }
    Ok(Some(since))
}

/// What a skip says, on the build record and in `--dry-run`.
pub(crate) fn message(since_ms: i64) -> String {
    let since = chrono::DateTime::from_timestamp_millis(since_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!("inputs unchanged since {since} (skip_unchanged)")
}
