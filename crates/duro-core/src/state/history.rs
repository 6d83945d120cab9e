//! Reads of the build history for the web UI and its API: per-table activity and builds in a
//! time range. Times are Unix ms.

use super::{BuildRecord, StateError, StateFile, TableSummary};
use crate::catalog::KindName;
use std::collections::HashMap;

/// What one table's history says now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableActivity {
    /// Start and end of the last successful build.
    pub last_success: Option<(i64, i64)>,
    /// Mean duration of the successful builds.
    pub mean_success_ms: Option<f64>,
    /// The last finished attempt, when it did not succeed (failed or skipped).
    pub last_failure: Option<BuildRecord>,
    /// Start of a build that is running now (its builder holds a live lease).
    pub running_since_ms: Option<i64>,
    /// A pending force request: (requested at, Unix ms; reason).
    pub force_request: Option<(i64, String)>,
}

pub(super) const BUILD_COLUMNS: &str = "id, table_name, started_at_ms, finished_at_ms, outcome, failure_class, message, rows, phases_json, worker, output, plan_cost";

pub(super) fn build_record(row: &rusqlite::Row) -> rusqlite::Result<BuildRecord> {
    Ok(BuildRecord {
        id: row.get(0)?,
        table_name: row.get(1)?,
        started_at_ms: row.get(2)?,
        finished_at_ms: row.get(3)?,
        outcome: row.get(4)?,
        failure_class: row.get(5)?,
        message: row.get(6)?,
        rows: row.get(7)?,
        phases_json: row.get(8)?,
        worker: row.get(9)?,
        output: row.get(10)?,
        plan_cost: row.get(11)?,
    })
}

impl StateFile {
    /// Every table in the catalog (removed ones too), sorted by name, each with what its
    /// history says now. One pass over the catalog and the per-table summaries, so it stays
    /// fast with many tables and a long history.
    pub fn table_overview(
        &self,
        now_ms: i64,
    ) -> Result<Vec<(TableSummary, TableActivity)>, StateError> {
        let mut failures: HashMap<String, BuildRecord> = self
            .collect::<_, Vec<BuildRecord>>(
                &format!(
                    "select {BUILD_COLUMNS} from builds
                     where id in (select last_failed_build from table_history where last_failed_build is not null)"
                ),
                [],
                build_record,
            )?
            .into_iter()
            .map(|b| (b.table_name.clone(), b))
            .collect();
        // Running builds come oldest first, so the first one per table is its start.
        let mut running: HashMap<String, i64> = HashMap::new();
        for build in self.running_builds(now_ms)? {
            running.entry(build.table_name).or_insert(build.started_at_ms);
        }
        // Both lists are in name order (SQLite's binary collation is Rust's string order), so
        // each table's dependencies are the next run of `dependencies`.
        let dependencies: Vec<(String, String)> = self.collect(
            "select table_name, depends_on from dependencies order by table_name, depends_on",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let mut dependencies = dependencies.into_iter().peekable();
        let tables: Vec<(TableSummary, TableActivity)> = self.collect(
            "select t.name, t.kind, t.interval_minutes, t.deleted_at_ms,
                    h.last_success_started_ms, h.last_success_finished_ms, h.successes, h.success_ms_total,
                    f.requested_at_ms, f.reason
             from tables t indexed by tables_summary
             left join table_history h on h.table_name = t.name
             left join force_requests f on f.table_name = t.name
             order by t.name",
            [],
            |row| {
                let name: String = row.get(0)?;
                let kind: KindName = row.get(1)?;
                let started: Option<i64> = row.get(4)?;
                let finished: Option<i64> = row.get(5)?;
                let successes: Option<i64> = row.get(6)?;
                let total_ms: Option<i64> = row.get(7)?;
                let requested_at_ms: Option<i64> = row.get(8)?;
                let reason: Option<String> = row.get(9)?;
                let activity = TableActivity {
                    last_success: started.zip(finished),
                    mean_success_ms: successes
                        .filter(|n| *n > 0)
                        .zip(total_ms)
                        .map(|(n, total)| total as f64 / n as f64),
                    last_failure: failures.remove(&name),
                    running_since_ms: running.get(&name).copied(),
                    force_request: requested_at_ms.zip(reason),
                };
                let summary = TableSummary {
                    kind,
                    interval_minutes: row.get(2)?,
                    deleted_at_ms: row.get(3)?,
                    dependencies: Vec::new(),
                    name,
                };
                Ok((summary, activity))
            },
        )?;
        Ok(tables
            .into_iter()
            .map(|(mut summary, activity)| {
                while dependencies.next_if(|(table, _)| *table < summary.name).is_some() {}
                while let Some((_, on)) = dependencies.next_if(|(table, _)| *table == summary.name)
                {
                    summary.dependencies.push(on);
                }
                (summary, activity)
            })
            .collect())
    }

    /// Builds that overlap `[from_ms, to_ms]`, plus every build still marked running: the
    /// newest `limit` of them, oldest first.
    pub fn builds_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<BuildRecord>, StateError> {
        self.collect(
            &format!(
                "select * from (
                     select {BUILD_COLUMNS} from builds where finished_at_ms >= ?1 and started_at_ms <= ?2
                     union all
                     select {BUILD_COLUMNS} from builds where outcome = 'running'
                     order by 3 desc, 1 desc limit ?3)
                 order by 3, 1"
            ),
            rusqlite::params![from_ms, to_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
            build_record,
        )
    }

    /// Builds running right now: marked running, with their builder holding the table's lease.
    pub fn running_builds(&self, now_ms: i64) -> Result<Vec<BuildRecord>, StateError> {
        self.collect(
            &format!(
                "select {BUILD_COLUMNS} from builds b where outcome = 'running' and exists
                     (select 1 from leases l where l.table_name = b.table_name and l.holder = b.worker
                          and l.expires_at_ms >= ?1)
                 order by started_at_ms"
            ),
            [now_ms],
            build_record,
        )
    }
}
