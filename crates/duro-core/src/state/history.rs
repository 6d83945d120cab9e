//! Reads of the build history for the web UI and its API: per-table activity, builds in a time
//! range, the last-24-hours figures and the totals behind `/metrics`. Times are Unix ms.

use super::{BuildRecord, StateError, StateFile};
use std::collections::HashMap;

/// What one table's history says now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableActivity {
    /// Start and end of the last successful build.
    pub last_success: Option<(i64, i64)>,
    /// Mean duration of the successful builds.
    pub mean_success_ms: Option<f64>,
    /// The last finished attempt (succeeded, failed or skipped).
    pub last_attempt: Option<BuildRecord>,
    /// Start of a build that is running now (its builder holds a live lease).
    pub running_since_ms: Option<i64>,
    /// A pending force request: (requested at, Unix s; reason).
    pub force_request: Option<(i64, String)>,
}

/// Build figures over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeriodStats {
    /// Distinct tables built successfully.
    pub tables_built: i64,
    /// Finished attempts (skips not counted).
    pub builds: i64,
    pub failures: i64,
    /// Sum of the attempts' durations, clipped to the period.
    pub busy_ms: i64,
}

/// Finished builds by outcome and failure class, for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildCount {
    pub outcome: String,
    pub failure_class: Option<String>,
    pub count: i64,
}

pub(super) const BUILD_COLUMNS: &str = "id, table_name, started_at_ms, finished_at_ms, outcome, failure_class, message, rows, phases_json, worker, output";

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
    })
}

impl StateFile {
    /// Every table's activity, keyed by table name (tables without any history are absent).
    pub fn table_activity(
        &self,
        now_ms: i64,
    ) -> Result<HashMap<String, TableActivity>, StateError> {
        let mut activity: HashMap<String, TableActivity> = HashMap::new();
        let successes: Vec<(String, i64, i64, f64)> = self.collect(
            "select table_name, max(started_at_ms), finished_at_ms, avg(finished_at_ms - started_at_ms)
                 from builds where outcome = 'succeeded' group by table_name",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )?;
        for (table, started, finished, mean) in successes {
            let entry = activity.entry(table).or_default();
            entry.last_success = Some((started, finished));
            entry.mean_success_ms = Some(mean);
        }
        let last_attempts: Vec<BuildRecord> = self.collect(
            &format!(
                "select {BUILD_COLUMNS} from builds where id in
                     (select max(id) from builds where outcome != 'running' group by table_name)"
            ),
            [],
            build_record,
        )?;
        for build in last_attempts {
            let entry = activity.entry(build.table_name.clone()).or_default();
            entry.last_attempt = Some(build);
        }
        let running: Vec<(String, i64)> = self.collect(
            "select b.table_name, min(b.started_at_ms) from builds b
                 join leases l on l.table_name = b.table_name and l.holder = b.worker
                 where b.outcome = 'running' and l.expires_at_ms >= ?1 group by b.table_name",
            [now_ms],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        for (table, since) in running {
            activity.entry(table).or_default().running_since_ms = Some(since);
        }
        let forced: Vec<(String, i64, String)> = self.collect(
            "select table_name, requested_at, reason from force_requests",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        for (table, at, reason) in forced {
            activity.entry(table).or_default().force_request = Some((at, reason));
        }
        Ok(activity)
    }

    /// Builds that overlap `[from_ms, to_ms]`, plus every build still marked running, oldest
    /// first; at most `limit`.
    pub fn builds_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<BuildRecord>, StateError> {
        self.collect(
            &format!(
                "select {BUILD_COLUMNS} from builds
                 where (started_at_ms <= ?2 and coalesce(finished_at_ms, ?2) >= ?1) or outcome = 'running'
                 order by started_at_ms, id limit ?3"
            ),
            rusqlite::params![from_ms, to_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
            build_record,
        )
    }

    /// Tables leased by a live builder right now, with the lease holder.
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

    /// The figures of the builds that finished in `[from_ms, to_ms]`.
    pub fn period_stats(&self, from_ms: i64, to_ms: i64) -> Result<PeriodStats, StateError> {
        self.connection
            .query_row(
                "select count(distinct case when outcome = 'succeeded' then table_name end),
                        count(*),
                        coalesce(sum(outcome = 'failed'), 0),
                        coalesce(sum(finished_at_ms - max(started_at_ms, ?1)), 0)
                 from builds
                 where outcome in ('succeeded', 'failed') and finished_at_ms between ?1 and ?2",
                [from_ms, to_ms],
                |row| {
                    Ok(PeriodStats {
                        tables_built: row.get(0)?,
                        builds: row.get(1)?,
                        failures: row.get(2)?,
                        busy_ms: row.get(3)?,
                    })
                },
            )
            .map_err(|e| self.error(e))
    }

    /// All finished builds counted by outcome and failure class.
    pub fn build_counts(&self) -> Result<Vec<BuildCount>, StateError> {
        self.collect(
            "select outcome, failure_class, count(*) from builds where outcome != 'running'
                 group by outcome, failure_class order by outcome, failure_class",
            [],
            |row| {
                Ok(BuildCount {
                    outcome: row.get(0)?,
                    failure_class: row.get(1)?,
                    count: row.get(2)?,
                })
            },
        )
    }

    /// The durations (ms) of every successful build, for a histogram.
    pub fn success_durations_ms(&self) -> Result<Vec<i64>, StateError> {
        self.collect(
            "select finished_at_ms - started_at_ms from builds where outcome = 'succeeded'",
            [],
            |row| row.get(0),
        )
    }
}
