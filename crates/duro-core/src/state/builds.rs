//! Build attempts, force requests, leases and sent notifications in the state file: what the
//! creator records and reads. Times are Unix milliseconds.

use super::history::{BUILD_COLUMNS, build_record};
use super::workers::has_stopped;
use super::{StateError, StateFile};
use crate::build::{BuildOutcome, FailureClass};
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

const LAST_SUCCESS: &str =
    "select max(started_at_ms) from builds where table_name = ?1 and outcome = 'succeeded'";

const START_BUILD: &str = "
    insert into builds (table_name, started_at_ms, outcome, worker)
    values (?1, ?2, 'running', ?3)";

const FINISH_BUILD: &str = "
    update builds set outcome = ?2, failure_class = ?3, message = ?4, rows = ?5,
        phases_json = ?6, finished_at_ms = ?7, output = ?8, plan_cost = ?9
    where id = ?1";

const RECORD_SKIPPED: &str = "
    insert into builds (table_name, started_at_ms, finished_at_ms, outcome, failure_class, message)
    values (?1, ?2, ?2, 'skipped', ?3, ?4)";

const INTERRUPT_BUILD: &str = "
    update builds set outcome = 'failed', failure_class = 'cancelled', finished_at_ms = ?2,
        message = 'interrupted: the creator stopped before the build finished'
    where id = ?1";

/// A force request for a table (`?1`) at `?2` with a reason (`?3`), replacing an older one.
pub(super) const REQUEST_FORCE: &str = "
    insert into force_requests (table_name, requested_at_ms, reason) values (?1, ?2, ?3)
    on conflict (table_name) do update
        set requested_at_ms = excluded.requested_at_ms, reason = excluded.reason";

/// A person accepts a smaller version of a table (`?1`) at `?2`, saying how (`?3`).
const ACCEPT_ROW_DROP: &str = "
    insert into row_drop_acceptances (table_name, accepted_at_ms, reason) values (?1, ?2, ?3)
    on conflict (table_name) do update
        set accepted_at_ms = excluded.accepted_at_ms, reason = excluded.reason";

/// A successful build (`?1`) spends the acceptance made before it started.
const SPEND_ACCEPTANCE: &str = "
    delete from row_drop_acceptances
    where (table_name, accepted_at_ms) in
        (select b.table_name, a.accepted_at_ms from builds b
         join row_drop_acceptances a on a.table_name = b.table_name
         where b.id = ?1 and a.accepted_at_ms <= b.started_at_ms)";

const ROW_CHECK: &str = "
    select (select last_change_rows from table_history where table_name = ?1),
           (select reason from row_drop_acceptances where table_name = ?1)";

const CLEAR_FORCE_OF_BUILD: &str = "
    delete from force_requests
    where table_name = (select table_name from builds where id = ?1) and requested_at_ms <= ?2";

const TAKE_LEASE: &str = "
    insert into leases (table_name, holder, acquired_at_ms, expires_at_ms) values (?1, ?2, ?3, ?4)
    on conflict (table_name) do update set expires_at_ms = excluded.expires_at_ms";

const RELEASE_LEASE: &str = "delete from leases where table_name = ?1 and holder = ?2";

const RELEASE_LEASE_OF_BUILD: &str = "
    delete from leases
    where (table_name, holder) = (select table_name, worker from builds where id = ?1)";

/// Folds the finished build `?1` into its table's summary row: a `succeeded` or `unchanged`
/// build is the last success (freshness); only a `succeeded` one is a change of the table and
/// counts in the averages.
const NOTE_FINISHED: &str = "
    insert into table_history (table_name, last_success_started_ms, last_success_finished_ms,
                               successes, success_ms_total, last_finished_build, last_failed_build,
                               last_change_finished_ms, last_change_rows)
        select table_name,
               case when outcome in ('succeeded', 'unchanged') then started_at_ms end,
               case when outcome in ('succeeded', 'unchanged') then finished_at_ms end,
               outcome = 'succeeded',
               case when outcome = 'succeeded' then finished_at_ms - started_at_ms else 0 end,
               id,
               case when outcome not in ('succeeded', 'unchanged') then id end,
               case when outcome = 'succeeded' then finished_at_ms end,
               case when outcome = 'succeeded' then rows end
        from builds where id = ?1 and outcome != 'running'
    on conflict (table_name) do update set
        last_failed_build = case
            when excluded.last_finished_build > coalesce(last_finished_build, 0)
            then excluded.last_failed_build else last_failed_build end,
        last_success_finished_ms = case
            when excluded.last_success_started_ms
                 >= coalesce(last_success_started_ms, excluded.last_success_started_ms)
            then excluded.last_success_finished_ms else last_success_finished_ms end,
        last_success_started_ms = case
            when excluded.last_success_started_ms
                 >= coalesce(last_success_started_ms, excluded.last_success_started_ms)
            then excluded.last_success_started_ms else last_success_started_ms end,
        last_change_rows = case
            when excluded.last_change_finished_ms >= coalesce(last_change_finished_ms, 0)
            then excluded.last_change_rows else last_change_rows end,
        last_change_finished_ms = case
            when excluded.last_change_finished_ms is null then last_change_finished_ms
            else max(coalesce(last_change_finished_ms, 0), excluded.last_change_finished_ms) end,
        successes = successes + excluded.successes,
        success_ms_total = success_ms_total + excluded.success_ms_total,
        last_finished_build = max(coalesce(last_finished_build, 0), excluded.last_finished_build)";

/// What `begin_build` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildStart {
    /// The lease is held and the attempt recorded under this id.
    Started(i64),
    /// Another creator holds the table's lease.
    Busy,
    /// Another creator built the table since the plan was made.
    BuiltMeanwhile,
}

/// The end of a build attempt.
#[derive(Clone, Debug)]
pub struct BuildResult<'a> {
    pub outcome: BuildOutcome,
    pub failure_class: Option<FailureClass>,
    pub message: Option<&'a str>,
    pub rows: Option<i64>,
    /// `{"connect": ms, "create_temp": ms, …}`.
    pub phases_json: &'a str,
    pub finished_at_ms: i64,
    /// A processor's stdout and stderr (the end of each).
    pub output: Option<&'a str>,
    /// The plan's total cost, when the build ran `EXPLAIN` (`max_cost`).
    pub plan_cost: Option<f64>,
}

/// One recorded attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildRecord {
    pub id: i64,
    pub table_name: String,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub outcome: BuildOutcome,
    pub failure_class: Option<FailureClass>,
    pub message: Option<String>,
    pub rows: Option<i64>,
    pub phases_json: String,
    pub worker: Option<String>,
    pub output: Option<String>,
    pub plan_cost: Option<f64>,
}

impl StateFile {
    /// In one transaction: takes (or renews) the table's lease for `worker` until
    /// `now_ms + lease_ms`, checks that nobody built the table since `planned_at_ms`, and records
    /// the start of an attempt.
    pub fn begin_build(
        &mut self,
        table: &str,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        planned_at_ms: i64,
    ) -> Result<BuildStart, StateError> {
        self.write(|tx| {
            if !take_lease(tx, table, worker, now_ms, lease_ms)? {
                return Ok(BuildStart::Busy);
            }
            let last_success: Option<i64> =
                tx.prepare_cached(LAST_SUCCESS)?.query_row([table], |row| row.get(0))?;
            if last_success.is_some_and(|at| at >= planned_at_ms) {
                tx.prepare_cached(RELEASE_LEASE)?.execute(params![table, worker])?;
                return Ok(BuildStart::BuiltMeanwhile);
            }
            tx.prepare_cached(START_BUILD)?.execute(params![table, now_ms, worker])?;
            Ok(BuildStart::Started(tx.last_insert_rowid()))
        })
    }

    /// Records the end of a build. A success also clears the table's force request, unless the
    /// request was made after `definition_read_at_ms`, when the build's definition was read from
    /// the catalog (it may be for a newer definition, so it stays pending). With `release_lease`,
    /// the builder's lease on the table ends too.
    pub fn finish_build(
        &mut self,
        id: i64,
        result: &BuildResult,
        release_lease: bool,
        definition_read_at_ms: i64,
    ) -> Result<(), StateError> {
        self.write(|tx| {
            if release_lease {
                tx.prepare_cached(RELEASE_LEASE_OF_BUILD)?.execute([id])?;
            }
            // Finished already (marked interrupted while its builder was thought gone): its
            // first end leaves the counters, the real one is counted.
            super::counters::count_build(tx, id, -1)?;
            tx.prepare_cached(FINISH_BUILD)?.execute(params![
                id,
                result.outcome,
                result.failure_class,
                result.message,
                result.rows,
                result.phases_json,
                result.finished_at_ms,
                result.output,
                result.plan_cost
            ])?;
            note_finished(tx, id)?;
            if result.outcome == BuildOutcome::Succeeded {
                tx.prepare_cached(CLEAR_FORCE_OF_BUILD)?.execute([id, definition_read_at_ms])?;
                tx.prepare_cached(SPEND_ACCEPTANCE)?.execute([id])?;
            }
            Ok(())
        })
    }

    /// Records a table that was due but not built (its dependency failed, or it cannot be built).
    pub fn record_skipped(
        &mut self,
        table: &str,
        class: FailureClass,
        message: &str,
        now_ms: i64,
    ) -> Result<(), StateError> {
        self.write(|tx| {
            tx.prepare_cached(RECORD_SKIPPED)?.execute(params![table, now_ms, class, message])?;
            note_finished(tx, tx.last_insert_rowid())
        })
    }

    /// The start of `table`'s last successful build (`succeeded` or `unchanged`).
    pub fn last_success_of(&self, table: &str) -> Result<Option<i64>, StateError> {
        self.table_time("last_success_started_ms", table)
    }

    /// What the row-count rules of `table` need, in one query: its rows at its last change
    /// (the baseline of `max_row_drop`), and how a person accepted a smaller table, when they
    /// did and no successful build has started since.
    pub fn row_check_of(&self, table: &str) -> Result<(Option<i64>, Option<String>), StateError> {
        self.connection
            .prepare_cached(ROW_CHECK)
            .and_then(|mut statement| {
                statement.query_row([table], |row| Ok((row.get(0)?, row.get(1)?)))
            })
            .map_err(|e| self.error(e))
    }

    /// When `table` last changed (the finish of its last `succeeded` build).
    pub fn last_change_of(&self, table: &str) -> Result<Option<i64>, StateError> {
        self.table_time("last_change_finished_ms", table)
    }

    fn table_time(&self, column: &str, table: &str) -> Result<Option<i64>, StateError> {
        let found: Option<Option<i64>> = self
            .connection
            .prepare_cached(&format!("select {column} from table_history where table_name = ?1"))
            .and_then(|mut statement| statement.query_row([table], |row| row.get(0)).optional())
            .map_err(|e| self.error(e))?;
        Ok(found.flatten())
    }

    /// Whether `table` reads a source (a table no file defines).
    pub fn reads_sources(&self, table: &str) -> Result<bool, StateError> {
        self.connection
            .prepare_cached("select exists (select 1 from source_reads where table_name = ?1)")
            .and_then(|mut statement| statement.query_row([table], |row| row.get(0)))
            .map_err(|e| self.error(e))
    }

    /// When each table last changed: the finish of its last `succeeded` build (an `unchanged`
    /// one changed nothing). From the per-table summaries, which no retention touches.
    pub fn last_changes(&self) -> Result<HashMap<String, i64>, StateError> {
        self.collect(
            "select table_name, last_change_finished_ms from table_history
                 where last_change_finished_ms is not null",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// The start time of each table's last successful build (`succeeded` or `unchanged`).
    pub fn last_successes(&self) -> Result<HashMap<String, i64>, StateError> {
        self.collect(
            "select table_name, last_success_started_ms from table_history
                 where last_success_started_ms is not null",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// The mean duration (ms) of each table's successful builds.
    pub fn mean_build_ms(&self) -> Result<HashMap<String, f64>, StateError> {
        self.collect(
            "select table_name, cast(success_ms_total as real) / successes from table_history
                 where successes > 0",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// Every attempt for one table, newest first.
    pub fn builds(&self, table: &str) -> Result<Vec<BuildRecord>, StateError> {
        self.collect(
            &format!(
                "select {BUILD_COLUMNS} from builds where table_name = ?1
                 order by started_at_ms desc, id desc"
            ),
            [table],
            build_record,
        )
    }

    /// Asks for a rebuild of `table` as soon as possible.
    pub fn request_force(
        &mut self,
        table: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StateError> {
        self.request_forces(&[table], reason, now_ms)
    }

    /// Asks for a rebuild of `table` that lets a version breaking its row-count rules through
    /// once (after a legitimate purge): the first successful build that starts after now spends
    /// the acceptance, whatever other requests come meanwhile.
    pub fn request_force_accepting_row_drop(
        &mut self,
        table: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StateError> {
        self.write(|tx| {
            tx.prepare_cached(REQUEST_FORCE)?.execute(params![table, now_ms, reason])?;
            tx.prepare_cached(ACCEPT_ROW_DROP)?.execute(params![table, now_ms, reason])?;
            Ok(())
        })
    }

    /// Asks for a rebuild of every table in `tables`, in one transaction.
    pub fn request_forces(
        &mut self,
        tables: &[&str],
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StateError> {
        self.write(|tx| {
            let mut insert = tx.prepare_cached(REQUEST_FORCE)?;
            for table in tables {
                insert.execute(params![table, now_ms, reason])?;
            }
            Ok(())
        })
    }

    /// Whether a force request was made at or after `since_ms`.
    pub fn force_requested_since(&self, since_ms: i64) -> Result<bool, StateError> {
        self.connection
            .query_row(
                "select exists (select 1 from force_requests where requested_at_ms >= ?1)",
                [since_ms],
                |row| row.get(0),
            )
            .map_err(|e| self.error(e))
    }

    /// Records that a notification with this fingerprint is sent at `now_ms`, unless one was
    /// sent less than `repeat_after_ms` before. Returns whether it should be sent.
    pub fn claim_notification(
        &mut self,
        fingerprint: &str,
        now_ms: i64,
        repeat_after_ms: i64,
    ) -> Result<bool, StateError> {
        self.write(|tx| {
            let last: Option<i64> = tx
                .prepare_cached("select sent_at_ms from notifications where fingerprint = ?1")?
                .query_row([fingerprint], |row| row.get(0))
                .optional()?;
            if last.is_some_and(|sent| now_ms - sent < repeat_after_ms) {
                return Ok(false);
            }
            tx.prepare_cached(
                "insert into notifications (fingerprint, sent_at_ms) values (?1, ?2)
                 on conflict (fingerprint) do update set sent_at_ms = excluded.sent_at_ms",
            )?
            .execute(params![fingerprint, now_ms])?;
            tx.prepare_cached("delete from notifications where sent_at_ms < ?1")?
                .execute([now_ms - 7 * 86_400_000])?;
            Ok(true)
        })
    }

    /// Claims the periodic message `name` for the period ending at `now_ms`: true (and
    /// recorded, in one write) when it was last claimed `every_ms` or more before, or never.
    /// So one message goes out per period, whatever the number of processes asking.
    pub fn claim_period(
        &mut self,
        name: &str,
        now_ms: i64,
        every_ms: i64,
    ) -> Result<bool, StateError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "insert into periodic_posts (name, posted_at_ms) values (?1, ?2)
                     on conflict (name) do update set posted_at_ms = excluded.posted_at_ms
                     where periodic_posts.posted_at_ms <= excluded.posted_at_ms - ?3",
                )?
                .execute(params![name, now_ms, every_ms])?;
            Ok(changed == 1)
        })
    }

    /// Takes the lease on `table` for `holder` until `now_ms + ttl_ms`, unless another holder has
    /// an unexpired one. Returns whether the lease is now held.
    pub fn acquire_lease(
        &mut self,
        table: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StateError> {
        self.write(|tx| take_lease(tx, table, holder, now_ms, ttl_ms))
    }

    pub fn release_lease(&mut self, table: &str, holder: &str) -> Result<(), StateError> {
        self.write(|tx| {
            tx.prepare_cached(RELEASE_LEASE)?.execute(params![table, holder])?;
            Ok(())
        })
    }

    /// Tables leased by live holders (`is_alive` says whether a holder still runs).
    pub fn leased_tables(&self, now_ms: i64) -> Result<Vec<(String, String)>, StateError> {
        self.collect(
            "select table_name, holder from leases where expires_at_ms >= ?1 order by table_name",
            [now_ms],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// After a crash: removes leases that expired or whose holder stopped, and marks the builds
    /// still `running` of stopped creators as failed (`cancelled`). A creator has stopped when
    /// `is_alive` says so (its process on this host is gone), when its heartbeat is older than
    /// `LEASE_TTL_MS`, or, for a build, when its creator is unknown and holds no live lease.
    /// Returns the tables that were freed.
    pub fn recover_abandoned(
        &mut self,
        is_alive: impl Fn(&str) -> bool,
        now_ms: i64,
    ) -> Result<Vec<String>, StateError> {
        let heartbeats = self.heartbeats()?;
        let stopped =
            |worker: &str| has_stopped(worker, heartbeats.get(worker).copied(), &is_alive, now_ms);
        let leases: Vec<(String, String, i64)> =
            self.collect("select table_name, holder, expires_at_ms from leases", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
        let running_workers: Vec<String> = self.collect(
            "select distinct worker from builds where outcome = 'running' and worker is not null",
            [],
            |row| row.get(0),
        )?;
        let (abandoned, kept): (Vec<_>, Vec<_>) = leases
            .into_iter()
            .partition(|(_, holder, expires)| *expires < now_ms || stopped(holder));
        let dead_workers: Vec<String> = running_workers
            .into_iter()
            .filter(|w| {
                stopped(w)
                    || (!heartbeats.contains_key(w)
                        && !kept.iter().any(|(_, holder, _)| holder == w))
            })
            .collect();
        self.write(|tx| {
            for (table, holder, _) in &abandoned {
                tx.prepare_cached(RELEASE_LEASE)?.execute(params![table, holder])?;
            }
            for worker in &dead_workers {
                let ids: Vec<i64> = tx
                    .prepare_cached(
                        "select id from builds where outcome = 'running' and worker = ?1",
                    )?
                    .query_map([worker], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for id in ids {
                    tx.prepare_cached(INTERRUPT_BUILD)?.execute(params![id, now_ms])?;
                    note_finished(tx, id)?;
                }
            }
            Ok(())
        })?;
        Ok(abandoned.into_iter().map(|(table, _, _)| table).collect())
    }
}

/// Folds a build that just finished into its table's `table_history` row (last success,
/// success count and total time, last finished attempt). Every write that finishes a build
/// calls this in the same transaction.
/// Brings the table's summary and the counters up to date with build `id`, just finished.
fn note_finished(tx: &rusqlite::Transaction, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(NOTE_FINISHED)?.execute([id])?;
    super::counters::count_build(tx, id, 1)
}

/// Takes or renews a lease inside a write transaction; `false` when another holder has it.
fn take_lease(
    tx: &rusqlite::Transaction,
    table: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> rusqlite::Result<bool> {
    tx.prepare_cached("delete from leases where table_name = ?1 and expires_at_ms < ?2")?
        .execute(params![table, now_ms])?;
    let current: Option<String> = tx
        .prepare_cached("select holder from leases where table_name = ?1")?
        .query_row([table], |row| row.get(0))
        .optional()?;
    if current.is_some_and(|other| other != holder) {
        return Ok(false);
    }
    tx.prepare_cached(TAKE_LEASE)?.execute(params![table, holder, now_ms, now_ms + ttl_ms])?;
    Ok(true)
}
