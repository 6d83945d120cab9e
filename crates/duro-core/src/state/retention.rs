//! Retention (`state.keep_builds_for`): build records older than the cutoff are deleted by each
//! scheduler run and creator cycle, in batches sized to hold the write lock about 30 ms, so the
//! other programs wait little. What the pages show stays exact: the per-table summaries keep
//! their own figures, the counters only grow, and the records a summary points at (a table's
//! last finished and last failed build) are kept however old. An ingest node's watermark and
//! data date live on their own rows and are never removed; its run records go with their builds.
//!
//! New state files free the pages of deleted records back to the file system
//! (`auto_vacuum = incremental`); [`StateFile::compact`] rewrites an older file once so that it
//! does too.

use super::{StateError, StateFile};
use std::time::{Duration, Instant};

/// Records deleted in one pass at most, so a pass stays short; a backlog of a few hundred
/// thousand records still clears within a few creator cycles.
pub const MAX_PER_PASS: u64 = 100_000;

/// How long one batch should hold the write lock.
const BATCH_TARGET: Duration = Duration::from_millis(30);

/// Pages freed back to the file system per write (16 MiB of 4 KiB pages).
const VACUUM_PAGES: i64 = 4_096;

/// What one pass deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    pub deleted: u64,
    pub batches: u32,
}

const PICK: &str = "
    insert into temp.retired (id)
        select id from builds
        where started_at_ms < ?1 and outcome != 'running'
          and id not in (select last_finished_build from table_history
                         where last_finished_build is not null)
          and id not in (select last_failed_build from table_history
                         where last_failed_build is not null)
        order by started_at_ms limit ?2";

impl StateFile {
    /// Deletes up to `max_records` finished build records that started before `cutoff_ms`
    /// (with their replication and S3 load run records) and the per-minute figures before it,
    /// and gives the freed pages back to the file system where the file allows.
    pub fn delete_builds_before(
        &mut self,
        cutoff_ms: i64,
        max_records: u64,
    ) -> Result<Retention, StateError> {
        self.connection
            .execute_batch("create temp table if not exists retired (id integer primary key)")
            .map_err(|e| self.error(e))?;
        let mut pass = Retention::default();
        let mut batch: u64 = 1_000;
        while pass.deleted < max_records {
            let limit = batch.min(max_records - pass.deleted);
            let started = Instant::now();
            let first = pass.batches == 0;
            let deleted = self.write(|tx| {
                if first {
                    tx.execute(
                        "delete from build_minutes where minute_ms < ?1",
                        [super::counters::minute_of(cutoff_ms)],
                    )?;
                }
                tx.prepare_cached(PICK)?.execute(rusqlite::params![cutoff_ms, limit as i64])?;
                let deleted =
                    tx.execute("delete from builds where id in (select id from temp.retired)", [])?;
                for runs in ["replication_runs", "s3_load_runs"] {
                    tx.execute(
                        &format!(
                            "delete from {runs} where build_id in (select id from temp.retired)"
                        ),
                        [],
                    )?;
                }
                tx.execute("delete from temp.retired", [])?;
                Ok(deleted as u64)
            })?;
            pass.deleted += deleted;
            pass.batches += 1;
            if deleted < limit {
                break;
            }
            // Aim the next batch at the target time, within sane bounds.
            let took = started.elapsed().max(Duration::from_millis(1));
            let scaled = batch as f64 * BATCH_TARGET.as_secs_f64() / took.as_secs_f64();
            batch = (scaled as u64).clamp(100, 50_000);
        }
        if pass.deleted > 0 {
            self.give_back_free_pages()?;
        }
        Ok(pass)
    }

    /// Returns free pages to the file system, a slice per write (`auto_vacuum = incremental`;
    /// nothing happens in a file made before that).
    fn give_back_free_pages(&mut self) -> Result<(), StateError> {
        if !self.frees_pages()? {
            return Ok(());
        }
        loop {
            let free: i64 = self
                .connection
                .query_row("pragma freelist_count", [], |row| row.get(0))
                .map_err(|e| self.error(e))?;
            if free == 0 {
                return Ok(());
            }
            self.connection
                .execute_batch(&format!("pragma incremental_vacuum({VACUUM_PAGES})"))
                .map_err(|e| self.error(e))?;
        }
    }

    /// Rewrites the whole file once with `auto_vacuum = incremental`, so that the pages of
    /// deleted records go back to the file system from then on (`duro-schedule --compact`). The
    /// other programs wait meanwhile (up to their busy timeout, then they retry).
    pub fn compact(&mut self) -> Result<(), StateError> {
        self.connection
            .execute_batch(
                "pragma auto_vacuum = incremental; vacuum; pragma wal_checkpoint(truncate);",
            )
            .map_err(|e| self.error(e))
    }

    /// Whether the file gives freed pages back (`auto_vacuum = incremental`).
    pub fn frees_pages(&self) -> Result<bool, StateError> {
        self.connection
            .query_row("pragma auto_vacuum", [], |row| row.get::<_, i64>(0))
            .map(|mode| mode == 2)
            .map_err(|e| self.error(e))
    }
}

/// The start of the build records kept at `now_ms` for `keep_builds_for`.
pub fn cutoff_ms(keep_builds_for: Duration, now_ms: i64) -> i64 {
    now_ms.saturating_sub(i64::try_from(keep_builds_for.as_millis()).unwrap_or(i64::MAX))
}

/// One retention pass for `state.keep_builds_for`, logged when it deleted anything; a failure
/// is logged, never fatal (the history only grows a little longer).
pub fn retention_pass(state: &mut StateFile, keep_builds_for: Duration, now_ms: i64) {
    match state.delete_builds_before(cutoff_ms(keep_builds_for, now_ms), MAX_PER_PASS) {
        Ok(pass) if pass.deleted > 0 => tracing::info!(
            "deleted {} build records older than {} (state.keep_builds_for) in {} batches",
            pass.deleted,
            crate::interval::format_minutes((keep_builds_for.as_secs() / 60) as u32),
            pass.batches
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!("could not delete old build records: {error}"),
    }
}
