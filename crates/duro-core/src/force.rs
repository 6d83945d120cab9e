//! Asking for a rebuild ("force"): one table, a table with everything upstream of it (its
//! tree), a table with everything that reads it, directly or not (downstream), or one table
//! accepting a smaller version once. The rule the web UI, its API and any command share: a table the catalog does not have,
//! or one removed from the views repository, cannot be forced.

use crate::plan::Planner;
use crate::state::{StateError, StateFile, TableSummary};

/// What to rebuild.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The table only.
    Table,
    /// The table and every table it reads, directly or not.
    Tree,
    /// The table and every table that reads it, directly or not.
    Downstream,
    /// The table only, letting a new version that breaks its row-count rules (`min_rows`,
    /// `max_row_drop`) through once ("accept and rebuild", after a legitimate purge).
    AcceptingRowDrop,
}

impl Scope {
    /// The scope the flags of a request ask for (the web UI's form, the API's body): at most
    /// one of `tree`, `downstream` and `accept_row_drop`; `None` when more than one is set.
    pub fn from_flags(tree: bool, downstream: bool, accept_row_drop: bool) -> Option<Scope> {
        match (tree, downstream, accept_row_drop) {
            (false, false, false) => Some(Scope::Table),
            (true, false, false) => Some(Scope::Tree),
            (false, true, false) => Some(Scope::Downstream),
            (false, false, true) => Some(Scope::AcceptingRowDrop),
            _ => None,
        }
    }
}

/// Why a force request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ForceError {
    #[error("no table `{0}` in the catalog; names are `schema.table` in lower case")]
    UnknownTable(String),
    #[error("`{0}` was removed from the views repository and is no longer built")]
    Removed(String),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Requests a rebuild of `name` (with [`Scope::Tree`], of every table upstream of it too), as
/// asked `via` (for the request's reason). `tables` is the catalog, removed tables included;
/// `planner` is made for its active tables. Returns the tables scheduled, sorted.
pub fn request(
    state: &mut StateFile,
    tables: &[TableSummary],
    planner: &Planner,
    name: &str,
    scope: Scope,
    via: &str,
    now_ms: i64,
) -> Result<Vec<String>, ForceError> {
    let table = tables
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| ForceError::UnknownTable(name.to_owned()))?;
    if table.deleted_at_ms.is_some() {
        return Err(ForceError::Removed(name.to_owned()));
    }
    let mut scheduled = vec![name.to_owned()];
    let reason = match scope {
        Scope::Table => format!("{via}: update table"),
        Scope::AcceptingRowDrop => {
            let reason = format!("{via}: accept and rebuild");
            state.request_force_accepting_row_drop(name, &reason, now_ms)?;
            return Ok(scheduled);
        }
        Scope::Tree => {
            scheduled.extend(planner.upstream(name));
            format!("{via}: update tree of {name}")
        }
        Scope::Downstream => {
            scheduled.extend(planner.downstream(name));
            format!("{via}: update downstream of {name}")
        }
    };
    scheduled.sort();
    scheduled.dedup();
    let names: Vec<&str> = scheduled.iter().map(String::as_str).collect();
    state.request_forces(&names, &reason, now_ms)?;
    Ok(scheduled)
}
