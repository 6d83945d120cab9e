//! A table's status as the web UI and its API show it, one rule for every reader: removed,
//! running, forced, failed, due or fresh, the first that applies. "Due" is what the creator's own
//! planner would build now, so interval inheritance counts; a failed table stays failed until a
//! force request newer than the failure.

use crate::plan::{PlanTable, Planner};
use crate::state::{BuildRecord, TableActivity, TableSummary};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Removed tables stay listed this long after their removal.
pub const REMOVED_SHOWN_FOR_MS: i64 = 7 * 86_400_000;

/// A table's state, most urgent first when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Removed,
    Running,
    Forced,
    Failed,
    Due,
    Fresh,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Fresh,
        Status::Due,
        Status::Running,
        Status::Failed,
        Status::Forced,
        Status::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Removed => "removed",
            Status::Running => "running",
            Status::Forced => "forced",
            Status::Failed => "failed",
            Status::Due => "due",
            Status::Fresh => "fresh",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Whether a table is listed at `now_ms`: active, or removed less than a week ago.
pub fn is_listed(table: &TableSummary, now_ms: i64) -> bool {
    table.deleted_at_ms.is_none_or(|at| at >= now_ms - REMOVED_SHOWN_FOR_MS)
}

/// The active tables as the planner sees them.
pub fn plan_tables(tables: &[(TableSummary, TableActivity)]) -> Vec<PlanTable> {
    tables
        .iter()
        .filter(|(t, _)| t.deleted_at_ms.is_none())
        .map(|(t, _)| PlanTable::from(t))
        .collect()
}

/// The status rule over one catalog at one moment.
pub struct Statuses {
    /// The tables the creator's planner would build now.
    due: HashSet<String>,
}

impl Statuses {
    /// For `tables` (from `StateFile::table_overview`) with `planner` made by [`plan_tables`]
    /// over the same catalog.
    pub fn new(tables: &[(TableSummary, TableActivity)], planner: &Planner, now_ms: i64) -> Self {
        let last_success: HashMap<String, i64> = tables
            .iter()
            .filter_map(|(t, a)| a.last_success.map(|(start, _)| (t.name.clone(), start)))
            .collect();
        let due = planner
            .plan(&last_success, &HashMap::new(), now_ms)
            .into_iter()
            .map(|p| p.table)
            .collect();
        Self { due }
    }

    /// The status of one table of that catalog.
    pub fn of(&self, table: &TableSummary, activity: &TableActivity) -> Status {
        let failed_attempt = activity.last_failure.as_ref();
        if table.deleted_at_ms.is_some() {
            Status::Removed
        } else if activity.running_since_ms.is_some() {
            Status::Running
        } else if forced_after(activity.force_request.as_ref(), failed_attempt) {
            Status::Forced
        } else if failed_attempt.is_some() {
            Status::Failed
        } else if self.due.contains(table.name.as_str()) {
            Status::Due
        } else {
            Status::Fresh
        }
    }
}

/// Whether a force request is pending that is newer than the failed attempt (a failure with a
/// request from before it, like the `new` request of a table that never built, shows as failed).
fn forced_after(request: Option<&(i64, String)>, failed: Option<&BuildRecord>) -> bool {
    match (request, failed) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some((requested_ms, _)), Some(attempt)) => {
            *requested_ms >= attempt.finished_at_ms.unwrap_or(attempt.started_at_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{BuildOutcome, FailureClass};
    use crate::catalog::KindName;

    const NOW: i64 = 100 * 86_400_000;

    fn table(name: &str, interval: Option<u32>, deleted_at_ms: Option<i64>) -> TableSummary {
        TableSummary {
            name: name.into(),
            kind: KindName::View,
            interval_minutes: interval,
            dependencies: Vec::new(),
            deleted_at_ms,
        }
    }

    fn failure(finished_ms: i64) -> BuildRecord {
        BuildRecord {
            id: 1,
            table_name: "s.t".into(),
            started_at_ms: finished_ms - 1,
            finished_at_ms: Some(finished_ms),
            outcome: BuildOutcome::Failed,
            failure_class: Some(FailureClass::SqlError),
            message: Some("boom".into()),
            rows: None,
            phases_json: "{}".into(),
            worker: None,
            output: None,
            plan_cost: None,
        }
    }

    /// Each status, and the order in which they win.
    #[test]
    fn the_first_status_that_applies() {
        let fresh = TableActivity { last_success: Some((NOW - 60_000, NOW)), ..Default::default() };
        let cases: Vec<(&str, TableSummary, TableActivity, Status)> = vec![
            ("removed", table("s.t", Some(60), Some(NOW)), fresh.clone(), Status::Removed),
            (
                "running",
                table("s.t", Some(60), None),
                TableActivity { running_since_ms: Some(NOW), ..fresh.clone() },
                Status::Running,
            ),
            (
                "forced after the failure",
                table("s.t", Some(60), None),
                TableActivity {
                    last_failure: Some(failure(NOW - 10_000)),
                    force_request: Some((NOW, "web".into())),
                    ..fresh.clone()
                },
                Status::Forced,
            ),
            (
                "failed, with a request from before the failure",
                table("s.t", Some(60), None),
                TableActivity {
                    last_failure: Some(failure(NOW - 10_000)),
                    force_request: Some((NOW - 20_000, "new".into())),
                    ..fresh.clone()
                },
                Status::Failed,
            ),
            (
                "never built: due",
                table("s.t", Some(60), None),
                TableActivity::default(),
                Status::Due,
            ),
            ("fresh", table("s.t", Some(60), None), fresh.clone(), Status::Fresh),
        ];
        for (what, summary, activity, expected) in cases {
            let tables = vec![(summary.clone(), activity.clone())];
            let planner = Planner::new(&plan_tables(&tables));
            let statuses = Statuses::new(&tables, &planner, NOW);
            assert_eq!(statuses.of(&summary, &activity), expected, "{what}");
        }
    }

    #[test]
    fn removed_tables_are_listed_for_a_week() {
        assert!(is_listed(&table("s.t", None, None), NOW));
        assert!(is_listed(&table("s.t", None, Some(NOW - REMOVED_SHOWN_FOR_MS)), NOW));
        assert!(!is_listed(&table("s.t", None, Some(NOW - REMOVED_SHOWN_FOR_MS - 1)), NOW));
    }
}
