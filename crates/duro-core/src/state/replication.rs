//! Replication nodes in the state file: each node's watermark and unfinished run on a row of
//! its own (`replication_state`, which no history cap or retention touches), and each run's
//! details beside its build record (`replication_runs`), kept to the node's `history`.

use super::names::json_column;
use super::{StateError, StateFile};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Where a replication run got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Bounds chosen, rows being read from the source.
    Exporting,
    /// Rows written to local files.
    Exported,
    /// Files uploaded (transport `s3`): a retry imports them again.
    Uploaded,
    /// Rows being loaded into the target, in one transaction.
    Importing,
    Imported,
    /// Nothing new on the source and nothing to delete.
    Noop,
    /// The table's tests failed inside the import transaction, which was rolled back.
    FailedTests,
    /// Given up after `max_retries`; the next run starts afresh from the watermark.
    Canceled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Exporting => "exporting",
            RunState::Exported => "exported",
            RunState::Uploaded => "uploaded",
            RunState::Importing => "importing",
            RunState::Imported => "imported",
            RunState::Noop => "noop",
            RunState::FailedTests => "failed_tests",
            RunState::Canceled => "canceled",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            RunState::Exporting,
            RunState::Exported,
            RunState::Uploaded,
            RunState::Importing,
            RunState::Imported,
            RunState::Noop,
            RunState::FailedTests,
            RunState::Canceled,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// A run begun and not finished: a retry reuses its bounds (rows changed since wait for the
/// next run) and, once uploaded, its files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRun {
    /// The watermark it started from (exclusive), `None` for a first or full run.
    pub lo: Option<String>,
    /// The highest value of the replication field when it started (inclusive).
    pub hi: Option<String>,
    /// The delete queue's highest sequence number when it started.
    pub delete_sequence: Option<i64>,
    /// Uploaded objects (transport `s3`), set once every file is uploaded.
    pub files: Vec<String>,
    /// Failed attempts so far.
    pub retries: u32,
}

/// A node's row: where the next run starts, and the run to resume if one is unfinished.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationState {
    /// The upper bound of the last imported run.
    pub watermark: Option<String>,
    pub pending: Option<PendingRun>,
    /// What the watermark was taken for (the node's source, table, field, key and columns).
    pub definition: Option<String>,
}

/// One run's details, beside its build record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationRun {
    pub build_id: i64,
    pub state: RunState,
    pub lo: Option<String>,
    pub hi: Option<String>,
    pub delete_sequence: Option<i64>,
    pub rows: Option<i64>,
    pub deleted_rows: Option<i64>,
    /// Source rows left out because their replication field is NULL (`nulls: skip`).
    pub skipped_nulls: Option<i64>,
    pub files: Vec<String>,
    pub retries: u32,
    pub last_error: Option<String>,
}

impl rusqlite::types::FromSql for RunState {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        RunState::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(
                format!("`{text}` is not a known replication state").into(),
            )
        })
    }
}

const UPSERT_STATE: &str = "
    insert into replication_state (table_name, watermark, pending_json, definition, updated_at_ms)
    values (?1, ?2, ?3, ?4, ?5)
    on conflict (table_name) do update set watermark = excluded.watermark,
        pending_json = excluded.pending_json, definition = excluded.definition,
        updated_at_ms = excluded.updated_at_ms";

const UPSERT_RUN: &str = "
    insert into replication_runs (build_id, table_name, state, lo, hi, delete_sequence, rows,
        deleted_rows, skipped_nulls, files_json, retries, last_error)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
    on conflict (build_id) do update set state = excluded.state, lo = excluded.lo,
        hi = excluded.hi, delete_sequence = excluded.delete_sequence, rows = excluded.rows,
        deleted_rows = excluded.deleted_rows, skipped_nulls = excluded.skipped_nulls,
        files_json = excluded.files_json, retries = excluded.retries,
        last_error = excluded.last_error";

/// Keeps the newest `?2` runs of table `?1`.
const TRIM_RUNS: &str = "
    delete from replication_runs where table_name = ?1 and build_id not in (
        select build_id from replication_runs where table_name = ?1
        order by build_id desc limit ?2)";

const RUN_COLUMNS: &str = "build_id, state, lo, hi, delete_sequence, rows, deleted_rows, \
    skipped_nulls, files_json, retries, last_error";

/// Replaces the node's row.
fn upsert_state(
    tx: &rusqlite::Transaction,
    table: &str,
    state: &ReplicationState,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let pending = state
        .pending
        .as_ref()
        .map(|p| serde_json::to_string(p).expect("a pending run always serializes"));
    tx.prepare_cached(UPSERT_STATE)?.execute(params![
        table,
        state.watermark,
        pending,
        state.definition,
        now_ms
    ])?;
    Ok(())
}

fn run_from_row(row: &rusqlite::Row) -> rusqlite::Result<ReplicationRun> {
    Ok(ReplicationRun {
        build_id: row.get(0)?,
        state: row.get(1)?,
        lo: row.get(2)?,
        hi: row.get(3)?,
        delete_sequence: row.get(4)?,
        rows: row.get(5)?,
        deleted_rows: row.get(6)?,
        skipped_nulls: row.get(7)?,
        files: json_column(row, 8)?,
        retries: row.get(9)?,
        last_error: row.get(10)?,
    })
}

impl StateFile {
    /// The node's watermark and unfinished run (both empty for a node never run).
    pub fn replication_state(&self, table: &str) -> Result<ReplicationState, StateError> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = self
            .connection
            .query_row(
                "select watermark, pending_json, definition from replication_state
                 where table_name = ?1",
                [table],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let Some((watermark, pending, definition)) = row else {
            return Ok(ReplicationState::default());
        };
        let pending = match pending {
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| StateError::Corrupt {
                path: self.path.clone(),
                message: format!("the unfinished run of `{table}` cannot be read: {e}"),
            })?),
            None => None,
        };
        Ok(ReplicationState { watermark, pending, definition })
    }

    /// Replaces the node's row.
    pub fn set_replication_state(
        &mut self,
        table: &str,
        state: &ReplicationState,
        now_ms: i64,
    ) -> Result<(), StateError> {
        self.write(|tx| upsert_state(tx, table, state, now_ms))
    }

    /// Records (or updates) one run's details and keeps the node's newest `history` runs; with
    /// `state`, replaces the node's row in the same transaction.
    pub fn record_replication_run(
        &mut self,
        table: &str,
        run: &ReplicationRun,
        history: u32,
        state: Option<(&ReplicationState, i64)>,
    ) -> Result<(), StateError> {
        let files = serde_json::to_string(&run.files).expect("a list of strings always serializes");
        self.write(|tx| {
            tx.prepare_cached(UPSERT_RUN)?.execute(params![
                run.build_id,
                table,
                run.state.as_str(),
                run.lo,
                run.hi,
                run.delete_sequence,
                run.rows,
                run.deleted_rows,
                run.skipped_nulls,
                files,
                run.retries,
                run.last_error
            ])?;
            tx.prepare_cached(TRIM_RUNS)?.execute(params![table, history.max(1)])?;
            match state {
                Some((state, now_ms)) => upsert_state(tx, table, state, now_ms),
                None => Ok(()),
            }
        })
    }

    /// The node's newest runs, newest first.
    pub fn replication_runs(
        &self,
        table: &str,
        limit: usize,
    ) -> Result<Vec<ReplicationRun>, StateError> {
        self.collect(
            &format!(
                "select {RUN_COLUMNS} from replication_runs where table_name = ?1
                 order by build_id desc limit ?2"
            ),
            params![table, limit as i64],
            run_from_row,
        )
    }

    /// Forgets the node's watermark and unfinished run: the next run copies everything.
    pub fn reset_replication(&mut self, table: &str) -> Result<(), StateError> {
        self.write(|tx| {
            tx.execute("delete from replication_state where table_name = ?1", [table])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(build_id: i64, state: RunState) -> ReplicationRun {
        ReplicationRun {
            build_id,
            state,
            lo: Some("1".into()),
            hi: Some("5".into()),
            delete_sequence: None,
            rows: Some(4),
            deleted_rows: None,
            skipped_nulls: Some(1),
            files: vec!["part-00000.csv.gz".into()],
            retries: 0,
            last_error: None,
        }
    }

    /// The history cap keeps each node's newest runs and never the other nodes' or the
    /// watermark; a run's row is updated in place as it moves on.
    #[test]
    fn runs_are_kept_per_node_and_the_watermark_is_never_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = StateFile::open(&dir.path().join("duro.db")).unwrap();
        assert_eq!(state.replication_state("s.a").unwrap(), ReplicationState::default());
        let imported = ReplicationState {
            watermark: Some("5".into()),
            pending: None,
            definition: Some("d".into()),
        };
        for id in 1..=5 {
            state
                .record_replication_run("s.b", &run(100 + id, RunState::Imported), 3, None)
                .unwrap();
            state.record_replication_run("s.a", &run(id, RunState::Exporting), 3, None).unwrap();
            state
                .record_replication_run(
                    "s.a",
                    &run(id, RunState::Imported),
                    3,
                    Some((&imported, 7)),
                )
                .unwrap();
        }
        let a: Vec<(i64, RunState)> = state
            .replication_runs("s.a", 10)
            .unwrap()
            .iter()
            .map(|r| (r.build_id, r.state))
            .collect();
        assert_eq!(a, [(5, RunState::Imported), (4, RunState::Imported), (3, RunState::Imported)]);
        assert_eq!(state.replication_runs("s.b", 10).unwrap().len(), 3);
        assert_eq!(state.replication_runs("s.a", 10).unwrap()[0], run(5, RunState::Imported));
        assert_eq!(state.replication_state("s.a").unwrap(), imported);

        let pending = ReplicationState {
            watermark: Some("5".into()),
            pending: Some(PendingRun {
                lo: Some("5".into()),
                hi: Some("9".into()),
                delete_sequence: Some(12),
                files: vec![],
                retries: 2,
            }),
            definition: None,
        };
        state.set_replication_state("s.a", &pending, 8).unwrap();
        assert_eq!(state.replication_state("s.a").unwrap(), pending);
        state.reset_replication("s.a").unwrap();
        assert_eq!(state.replication_state("s.a").unwrap(), ReplicationState::default());
    }
}
