//! What the pages and the API show, computed from the state file: one row per table with its
//! status (the rule is `duro_core::status`), the jobs of a time range, and the last-24-hours
//! figures. Presentation only: pure functions of the stored catalog, the build history and the
//! time.

use crate::timefmt;
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::plan::Planner;
use duro_core::state::{BuildRecord, PeriodStats, TableActivity, TableSummary};
use duro_core::status::{self, Status, Statuses};
use serde::Serialize;
use std::collections::HashSet;

/// An instant (Unix ms) that serializes as `2026-11-25T10:00:00Z`, formatted only when it is
/// serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iso(pub i64);

impl Serialize for Iso {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&timefmt::iso(self.0))
    }
}

/// One table as the tables page and `/api/tables` show it.
#[derive(Clone, Debug, Serialize)]
pub struct TableRow {
    pub name: String,
    pub kind: &'static str,
    pub interval_minutes: Option<u32>,
    /// `1h`, or empty when the table follows the tables that read it.
    pub interval: String,
    pub status: Status,
    pub last_success_ms: Option<i64>,
    pub last_success_at: Option<Iso>,
    /// When its own interval makes it due next (absent without an interval or when removed).
    pub next_due_ms: Option<i64>,
    pub next_due_at: Option<Iso>,
    pub mean_duration_ms: Option<f64>,
    pub last_duration_ms: Option<i64>,
    /// The message of the last attempt when it failed (or was skipped).
    pub last_error: Option<String>,
    pub failure_class: Option<FailureClass>,
    pub forced_reason: Option<String>,
    pub running_since_ms: Option<i64>,
    pub removed_at_ms: Option<i64>,
}

/// Every active table, and tables removed in the last week, in the given order.
pub(crate) fn table_rows(
    tables: &[(TableSummary, TableActivity)],
    planner: &Planner,
    now_ms: i64,
) -> Vec<TableRow> {
    let statuses = Statuses::new(tables, planner, now_ms);
    tables
        .iter()
        .filter(|(t, _)| status::is_listed(t, now_ms))
        .map(|(table, activity)| {
            let failed_attempt = activity.last_failure.as_ref();
            let status = statuses.of(table, activity);
            let last_success_ms = activity.last_success.map(|(start, _)| start);
            let next_due_ms = match (status, table.interval_minutes) {
                (Status::Removed, _) | (_, None) => None,
                (_, Some(minutes)) => {
                    Some(last_success_ms.map_or(now_ms, |at| at + i64::from(minutes) * 60_000))
                }
            };
            TableRow {
                name: table.name.clone(),
                kind: table.kind.as_str(),
                interval_minutes: table.interval_minutes,
                interval: table
                    .interval_minutes
                    .map(duro_core::interval::format_minutes)
                    .unwrap_or_default(),
                status,
                last_success_ms,
                last_success_at: last_success_ms.map(Iso),
                next_due_ms,
                next_due_at: next_due_ms.map(Iso),
                mean_duration_ms: activity.mean_success_ms,
                last_duration_ms: activity.last_success.map(|(start, end)| end - start),
                last_error: failed_attempt.and_then(|b| b.message.clone()),
                failure_class: failed_attempt.and_then(|b| b.failure_class),
                forced_reason: activity.force_request.as_ref().map(|(_, r)| r.clone()),
                running_since_ms: activity.running_since_ms,
                removed_at_ms: table.deleted_at_ms,
            }
        })
        .collect()
}

/// The columns the tables list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortKey {
    Name,
    Interval,
    LastSuccess,
    NextDue,
    MeanDuration,
    LastDuration,
    Status,
}

impl SortKey {
    pub(crate) const ALL: [(&'static str, SortKey); 7] = [
        ("name", SortKey::Name),
        ("interval", SortKey::Interval),
        ("last_success", SortKey::LastSuccess),
        ("next_due", SortKey::NextDue),
        ("mean", SortKey::MeanDuration),
        ("last", SortKey::LastDuration),
        ("status", SortKey::Status),
    ];

    pub(crate) fn parse(text: &str) -> Result<SortKey, String> {
        SortKey::ALL.iter().find(|(name, _)| *name == text).map(|(_, key)| *key).ok_or_else(|| {
            let names: Vec<&str> = SortKey::ALL.iter().map(|(n, _)| *n).collect();
            format!("cannot sort by `{text}`; use one of {}", names.join(", "))
        })
    }
}

/// Which rows to show, and in what order.
#[derive(Clone, Debug)]
pub(crate) struct ListQuery {
    /// Case-insensitive substring of the name.
    pub filter: String,
    pub status: Option<Status>,
    pub sort: SortKey,
    pub descending: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { filter: String::new(), status: None, sort: SortKey::Status, descending: false }
    }
}

/// Filters and sorts rows; ties are broken by name. Missing values sort last either way.
pub(crate) fn select_rows<'a>(rows: &'a [TableRow], query: &ListQuery) -> Vec<&'a TableRow> {
    let needle = query.filter.trim().to_lowercase();
    let mut rows: Vec<&TableRow> = rows
        .iter()
        .filter(|row| {
            row.name.contains(&needle) && query.status.is_none_or(|status| row.status == status)
        })
        .collect();
    fn by<T: PartialOrd>(a: Option<T>, b: Option<T>, descending: bool) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (a, b) {
            (Some(a), Some(b)) => {
                let order = a.partial_cmp(&b).unwrap_or(Equal);
                if descending { order.reverse() } else { order }
            }
            (Some(_), None) => Less,
            (None, Some(_)) => Greater,
            (None, None) => Equal,
        }
    }
    let descending = query.descending;
    rows.sort_by(|a, b| {
        let order = match query.sort {
            SortKey::Name => by(Some(&a.name), Some(&b.name), descending),
            SortKey::Interval => by(a.interval_minutes, b.interval_minutes, descending),
            SortKey::LastSuccess => by(a.last_success_ms, b.last_success_ms, descending),
            SortKey::NextDue => by(a.next_due_ms, b.next_due_ms, descending),
            SortKey::MeanDuration => by(a.mean_duration_ms, b.mean_duration_ms, descending),
            SortKey::LastDuration => by(a.last_duration_ms, b.last_duration_ms, descending),
            SortKey::Status => by(Some(a.status), Some(b.status), descending),
        };
        order.then_with(|| a.name.cmp(&b.name))
    });
    rows
}

/// One build on the jobs timeline and in `/api/jobs`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Job {
    pub id: i64,
    pub table: String,
    pub start: String,
    pub start_ms: i64,
    /// Absent while running.
    pub finish: Option<String>,
    pub finish_ms: Option<i64>,
    /// Until the finish, or until now while running.
    pub duration_ms: i64,
    /// `running`, `succeeded`, `failed`, `skipped`, or `interrupted` (marked running, but its
    /// builder no longer holds the table).
    pub state: String,
    pub failure_class: Option<FailureClass>,
    pub message: Option<String>,
    pub rows: Option<i64>,
}

/// A build's state as shown: its outcome, except that a build marked running whose builder no
/// longer holds the table (not in `live`) is `interrupted`.
fn build_state(build: &BuildRecord, live: &HashSet<i64>) -> &'static str {
    match build.outcome {
        BuildOutcome::Running if !live.contains(&build.id) => "interrupted",
        outcome => outcome.as_str(),
    }
}

/// Builds as jobs; `live` = the ids of builds whose builder still holds the lease.
pub(crate) fn jobs(builds: Vec<BuildRecord>, live: &HashSet<i64>, now_ms: i64) -> Vec<Job> {
    builds.into_iter().map(|b| job(b, live, now_ms)).collect()
}

/// One build as a job (see `jobs`).
pub(crate) fn job(b: BuildRecord, live: &HashSet<i64>, now_ms: i64) -> Job {
    let state = build_state(&b, live).to_owned();
    Job {
        id: b.id,
        start: timefmt::iso(b.started_at_ms),
        start_ms: b.started_at_ms,
        finish: b.finished_at_ms.map(timefmt::iso),
        finish_ms: b.finished_at_ms,
        duration_ms: b.finished_at_ms.unwrap_or(now_ms) - b.started_at_ms,
        table: b.table_name,
        state,
        failure_class: b.failure_class,
        message: b.message,
        rows: b.rows,
    }
}

/// The header figures: the last 24 hours.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Stats {
    pub hours: i64,
    /// Distinct tables built successfully.
    pub tables: i64,
    /// Finished builds (successes and failures).
    pub builds: i64,
    pub failures: i64,
    /// Share of the period spent building, in percent of one builder (can exceed 100 with
    /// parallel builders).
    pub load_percent: f64,
    pub running: usize,
}

pub(crate) fn stats(period: PeriodStats, hours: i64, running: usize) -> Stats {
    Stats {
        hours,
        tables: period.tables_built,
        builds: period.builds,
        failures: period.failures,
        load_percent: period.load_percent(hours * 3_600_000),
        running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duro_core::catalog::KindName;
    use std::collections::HashMap;

    fn table(name: &str, interval: Option<u32>, deps: &[&str]) -> TableSummary {
        TableSummary {
            name: name.to_owned(),
            kind: KindName::View,
            interval_minutes: interval,
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            deleted_at_ms: None,
        }
    }

    fn with(
        tables: Vec<TableSummary>,
        activity: &HashMap<String, TableActivity>,
    ) -> Vec<(TableSummary, TableActivity)> {
        tables
            .into_iter()
            .map(|t| {
                let a = activity.get(&t.name).cloned().unwrap_or_default();
                (t, a)
            })
            .collect()
    }

    fn rows_of(tables: Vec<(TableSummary, TableActivity)>) -> Vec<TableRow> {
        table_rows(&tables, &Planner::new(&status::plan_tables(&tables)), NOW)
    }

    fn attempt(table: &str, outcome: BuildOutcome, message: Option<&str>) -> BuildRecord {
        BuildRecord {
            id: 1,
            table_name: table.to_owned(),
            started_at_ms: 0,
            finished_at_ms: Some(1),
            outcome,
            failure_class: message.map(|_| FailureClass::SqlError),
            message: message.map(str::to_owned),
            rows: None,
            phases_json: "{}".to_owned(),
            worker: None,
            output: None,
            plan_cost: None,
        }
    }

    const NOW: i64 = 100 * 3_600_000;

    #[test]
    fn status_follows_the_most_urgent_fact() {
        let mut removed = table("s.removed", Some(60), &[]);
        removed.deleted_at_ms = Some(NOW - 60_000);
        let mut long_removed = table("s.long_gone", Some(60), &[]);
        long_removed.deleted_at_ms = Some(NOW - 8 * 86_400_000);
        let tables = vec![
            table("s.fresh", Some(60), &[]),
            table("s.stale", Some(60), &[]),
            table("s.never", Some(60), &[]),
            table("s.failed", Some(60), &[]),
            table("s.forced", Some(60), &[]),
            table("s.running", Some(60), &[]),
            removed,
            long_removed,
        ];
        let fresh = (NOW - 10 * 60_000, NOW - 9 * 60_000);
        let mut activity: HashMap<String, TableActivity> = HashMap::new();
        for name in ["s.fresh", "s.failed", "s.forced", "s.running", "s.removed"] {
            activity.entry(name.to_owned()).or_default().last_success = Some(fresh);
        }
        activity.entry("s.stale".to_owned()).or_default().last_success =
            Some((NOW - 61 * 60_000, NOW - 60 * 60_000));
        activity.get_mut("s.failed").unwrap().last_failure =
            Some(attempt("s.failed", BuildOutcome::Failed, Some("boom")));
        activity.get_mut("s.forced").unwrap().force_request = Some((0, "web UI".to_owned()));
        activity.get_mut("s.running").unwrap().running_since_ms = Some(NOW - 1000);
        let rows = rows_of(with(tables, &activity));
        let status: HashMap<&str, Status> =
            rows.iter().map(|r| (r.name.as_str(), r.status)).collect();
        assert_eq!(status["s.fresh"], Status::Fresh);
        assert_eq!(status["s.stale"], Status::Due);
        assert_eq!(status["s.never"], Status::Due);
        assert_eq!(status["s.failed"], Status::Failed);
        assert_eq!(status["s.forced"], Status::Forced);
        assert_eq!(status["s.running"], Status::Running);
        assert_eq!(status["s.removed"], Status::Removed);
        assert!(!status.contains_key("s.long_gone"));
        let failed = rows.iter().find(|r| r.name == "s.failed").unwrap();
        assert_eq!(failed.last_error.as_deref(), Some("boom"));
        let fresh_row = rows.iter().find(|r| r.name == "s.fresh").unwrap();
        assert_eq!(fresh_row.next_due_ms, Some(fresh.0 + 3_600_000));
        assert_eq!(fresh_row.last_duration_ms, Some(60_000));
        let never = rows.iter().find(|r| r.name == "s.never").unwrap();
        assert_eq!(never.next_due_ms, Some(NOW));
    }

    #[test]
    fn a_table_without_interval_is_due_with_its_stale_reader() {
        let tables = vec![table("s.reader", Some(60), &["s.base"]), table("s.base", None, &[])];
        let old = Some((NOW - 120 * 60_000, NOW - 119 * 60_000));
        let mut activity: HashMap<String, TableActivity> = HashMap::new();
        activity.entry("s.reader".to_owned()).or_default().last_success = old;
        activity.entry("s.base".to_owned()).or_default().last_success = old;
        let rows = rows_of(with(tables, &activity));
        assert!(rows.iter().all(|r| r.status == Status::Due), "{rows:?}");
        assert_eq!(rows.iter().find(|r| r.name == "s.base").unwrap().next_due_ms, None);
    }

    #[test]
    fn filter_and_sort() {
        let tables = vec![
            table("a.slow", Some(60), &[]),
            table("a.quick", Some(30), &[]),
            table("b.other", None, &[]),
        ];
        let rows = rows_of(with(tables, &HashMap::new()));
        let names =
            |rows: Vec<&TableRow>| rows.into_iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let query =
            ListQuery { filter: "A.".to_owned(), sort: SortKey::Interval, ..ListQuery::default() };
        assert_eq!(names(select_rows(&rows, &query)), ["a.quick", "a.slow"]);
        let query = ListQuery { sort: SortKey::Interval, descending: true, ..ListQuery::default() };
        assert_eq!(names(select_rows(&rows, &query)), ["a.slow", "a.quick", "b.other"]);
        let query = ListQuery { status: Some(Status::Fresh), ..ListQuery::default() };
        assert!(select_rows(&rows, &query).is_empty());
        assert!(SortKey::parse("bogus").unwrap_err().contains("last_success"));
    }

    #[test]
    fn load_is_a_percentage_of_the_period() {
        let period = PeriodStats { tables_built: 2, builds: 3, failures: 1, busy_ms: 3_600_000 };
        let stats = stats(period, 24, 0);
        assert_eq!(stats.load_percent, 4.17);
        assert_eq!(stats.builds, 3);
    }
}
