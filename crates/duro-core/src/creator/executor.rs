//! Running a plan: up to `jobs` builds at once, each on its own connection and under a lease;
//! a table starts when the planned tables it reads have succeeded (or failed, for a table whose
//! `on_upstream_failure` is `build`); when one fails, everything planned that depends on it is
//! skipped and recorded as such, but for those tables.

use super::{Creator, CreatorError};
use crate::build::FailureClass;
use crate::build::{BuildOutcome, BuiltTable, Phases};
use crate::catalog::{ReplicationSource, TableKind, UpstreamFailure};
use crate::clock::now_ms;
use crate::identifier::TableName;
use crate::plan::{PlannedBuild, Planner, Reason};
use crate::refresh::{self, TableDefinition};
use crate::replication;
use crate::s3_load;
use crate::state::{
    BuildResult, BuildStart, HEARTBEAT_EVERY_MS, LEASE_TTL_MS, StateError, StateFile, StoredTable,
};
use crate::warehouse::WarehouseError;
use crate::warehouse::sessions;
use crate::warehouse::statement::Prepared;
use postgres::Client;
use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A table that did not get built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub table: String,
    pub class: FailureClass,
    pub message: String,
}

/// What a cycle did.
#[derive(Clone, Debug, Default)]
pub struct CycleReport {
    /// (table, rows, milliseconds)
    pub built: Vec<BuiltTable>,
    pub failed: Vec<Failure>,
    /// Tables not built because a dependency failed (class `dependency_failed`).
    pub skipped: Vec<Failure>,
    /// Tables another creator was building.
    pub busy: Vec<String>,
}

#[derive(Default)]
struct Progress {
    /// Every planned table before this index has been started or blocked.
    next: usize,
    /// Set when the run must end early (an error in a worker, or a worker panicked).
    stopped: bool,
    started: HashSet<usize>,
    succeeded: HashSet<String>,
    blocked: HashSet<String>,
    report: CycleReport,
}

/// What the workers share.
struct Run<'a> {
    creator: &'a Creator,
    planned: &'a [PlannedBuild],
    tables: &'a HashMap<String, StoredTable>,
    /// The catalog's planner, for the dependents of a failure.
    planner: &'a Planner,
    /// For each planned table, the planned tables before it that it reads (later ones close a cycle).
    waits_for: Vec<Vec<&'a str>>,
    progress: Mutex<Progress>,
    changed: Condvar,
    /// When the plan was made: a success recorded after it means another creator built the table.
    planned_at_ms: i64,
    /// One-time choices for one table (`duro-create --table X --date … --force`,
    /// `--accept-row-drop`).
    overrides: Option<(&'a str, &'a s3_load::Overrides, bool)>,
}

pub(super) fn execute(
    creator: &Creator,
    planned: &[PlannedBuild],
    tables: &HashMap<String, StoredTable>,
    planner: &Planner,
    read_at_ms: i64,
    overrides: Option<(&str, &s3_load::Overrides, bool)>,
) -> Result<CycleReport, CreatorError> {
    let position: HashMap<&str, usize> =
        planned.iter().enumerate().map(|(i, p)| (p.table.as_str(), i)).collect();
    let waits_for = planned
        .iter()
        .enumerate()
        .map(|(i, p)| {
            tables[&p.table]
                .dependencies
                .iter()
                .map(String::as_str)
                .filter(|d| position.get(d).is_some_and(|j| *j < i))
                .collect()
        })
        .collect();
    let run = Run {
        creator,
        planned,
        tables,
        planner,
        waits_for,
        progress: Mutex::new(Progress::default()),
        changed: Condvar::new(),
        planned_at_ms: read_at_ms,
        overrides,
    };
    let jobs = creator.config.creator.jobs.max(1) as usize;
    let first_error: Mutex<Option<CreatorError>> = Mutex::new(None);
    let finished = (Mutex::new(false), Condvar::new());
    std::thread::scope(|scope| {
        // The leases held while building are renewed until the run ends.
        scope.spawn(|| keep_leases_alive(creator, &finished));
        let workers: Vec<_> = (0..jobs.min(planned.len()))
            .map(|_| {
                scope.spawn(|| {
                    // If this worker panics, the others must not wait for it forever.
                    let _stop_on_panic = StopOnPanic(&run);
                    if let Err(error) = run.worker_loop() {
                        first_error.lock().expect("not poisoned").get_or_insert(error);
                        run.stop();
                    }
                })
            })
            .collect();
        let panicked = workers.into_iter().find_map(|worker| worker.join().err());
        *finished.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        finished.1.notify_all();
        if let Some(payload) = panicked {
            std::panic::resume_unwind(payload);
        }
    });
    if let Some(error) = first_error.into_inner().expect("not poisoned") {
        return Err(error);
    }
    Ok(run.progress.into_inner().expect("not poisoned").report)
}

/// Renews this creator's heartbeat and leases every [`HEARTBEAT_EVERY_MS`] until `finished`
/// is set, so a build may take as long as its timeout allows while a creator that dies frees
/// its tables within a minute.
fn keep_leases_alive(creator: &Creator, finished: &(Mutex<bool>, Condvar)) {
    let every = Duration::from_millis(HEARTBEAT_EVERY_MS as u64);
    let mut state = match StateFile::open(&creator.state_path) {
        Ok(state) => state,
        Err(error) => {
            tracing::error!("cannot renew leases: {error}");
            return;
        }
    };
    let mut done = finished.0.lock().unwrap_or_else(|e| e.into_inner());
    while !*done {
        done = finished.1.wait_timeout(done, every).unwrap_or_else(|e| e.into_inner()).0;
        if !*done && let Err(error) = creator.heartbeat(&mut state) {
            tracing::warn!("could not renew leases: {error}");
        }
    }
}

/// Stops the run when the worker holding it unwinds from a panic.
struct StopOnPanic<'a, 'b>(&'a Run<'b>);

impl Drop for StopOnPanic<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

impl Run<'_> {
    /// Takes the first planned table that is not started or blocked and whose dependencies are
    /// done (a later independent table does not wait behind an earlier one); `None` when
    /// nothing is left to start.
    fn next_table(&self) -> Option<usize> {
        let mut guard = self.progress.lock().expect("not poisoned");
        loop {
            if self.creator.is_shutting_down() || guard.stopped {
                return None;
            }
            while guard.next < self.planned.len()
                && (guard.started.contains(&guard.next)
                    || guard.blocked.contains(&self.planned[guard.next].table))
            {
                guard.next += 1;
            }
            if guard.next >= self.planned.len() {
                return None;
            }
            let ready = (guard.next..self.planned.len()).find(|index| {
                !guard.started.contains(index)
                    && !guard.blocked.contains(&self.planned[*index].table)
                    && self.waits_for[*index]
                        .iter()
                        .all(|d| guard.succeeded.contains(*d) || guard.blocked.contains(*d))
            });
            if let Some(index) = ready {
                guard.started.insert(index);
                return Some(index);
            }
            guard = self.changed.wait(guard).expect("not poisoned");
        }
    }

    /// Ends the run early and wakes every waiting worker.
    fn stop(&self) {
        let mut guard = match self.progress.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.stopped = true;
        self.changed.notify_all();
    }

    fn worker_loop(&self) -> Result<(), CreatorError> {
        let mut state = StateFile::open(&self.creator.state_path)?;
        // Each worker keeps its warehouse connection, and the statements prepared on it, from one
        // table to the next.
        let mut connection = None;
        while let Some(index) = self.next_table() {
            let table = &self.tables[&self.planned[index].table];
            let no_overrides = s3_load::Overrides::default();
            let (overrides, accept_row_drop) = match self.overrides {
                Some((name, overrides, accept)) if name == table.name => (overrides, accept),
                _ => (&no_overrides, false),
            };
            let outcome = build_with_retries(
                self.creator,
                &mut state,
                &mut connection,
                table,
                &self.planned[index].reason,
                self.planned_at_ms,
                (overrides, accept_row_drop),
            );
            let mut guard = self.progress.lock().expect("not poisoned");
            match outcome {
                Ok(Some(built)) => {
                    guard.succeeded.insert(table.name.clone());
                    guard.report.built.push(built);
                }
                Ok(None) => {
                    guard.report.busy.push(table.name.clone());
                    self.block_dependents(&mut guard, &mut state, &table.name, None)?;
                }
                Err(failure) => {
                    self.block_dependents(&mut guard, &mut state, &table.name, Some(&failure))?;
                    guard.report.failed.push(failure);
                }
            }
            self.changed.notify_all();
        }
        Ok(())
    }

    /// After `table` failed (`failure`) or was found busy (`None`), blocks the planned tables
    /// that depend on it, directly or through other tables. A busy table blocks every dependent
    /// until a later cycle. A failure skips them (recorded as `dependency_failed`), except a
    /// planned table whose `on_upstream_failure` is `build`: it is built from what the tables it
    /// reads hold, and the tables after it follow its own result.
    fn block_dependents(
        &self,
        progress: &mut Progress,
        state: &mut StateFile,
        table: &str,
        failure: Option<&Failure>,
    ) -> Result<(), StateError> {
        progress.blocked.insert(table.to_owned());
        let Some(failure) = failure else {
            progress.blocked.extend(self.planner.dependents_in_plan(self.planned, table));
            return Ok(());
        };
        let in_plan: HashSet<&str> = self.planned.iter().map(|p| p.table.as_str()).collect();
        // The readers of `table`, and theirs, but not through a planned table built anyway.
        let built_anyway = |name: &str| {
            in_plan.contains(name)
                && self.tables.get(name).is_some_and(|stored| {
                    stored.config.upstream_failure() == UpstreamFailure::Build
                })
        };
        let reached: HashSet<String> =
            self.planner.downstream_until(table, built_anyway).into_iter().collect();
        // In plan order, for a report in build order.
        for planned in self.planned {
            let dependent = &planned.table;
            if !reached.contains(dependent.as_str()) || !progress.blocked.insert(dependent.clone())
            {
                continue;
            }
            let message = format!("not built: `{table}` failed ({})", failure.class);
            state.record_skipped(dependent, FailureClass::DependencyFailed, &message, now_ms())?;
            progress.report.skipped.push(Failure {
                table: dependent.clone(),
                class: FailureClass::DependencyFailed,
                message,
            });
        }
        Ok(())
    }
}

/// Builds one table, retrying transient failures with backoff. `Ok(None)`: another creator
/// holds its lease. Every attempt is recorded. The last argument: the one-time choices for it
/// (an S3 load's `--date`/`--force`/`--truncate`, `--accept-row-drop`).
fn build_with_retries(
    creator: &Creator,
    state: &mut StateFile,
    connection: &mut Option<(Client, Prepared)>,
    table: &StoredTable,
    reason: &Reason,
    planned_at_ms: i64,
    (overrides, accept_row_drop): (&s3_load::Overrides, bool),
) -> Result<Option<BuiltTable>, Failure> {
    let failure = |class, message: String| Failure { table: table.name.clone(), class, message };
    let state_failure = |e: StateError| failure(FailureClass::Internal, format!("state file: {e}"));
    let config = table.config.clone();
    let timeout = creator.timeout_seconds(&config);
    let retries = creator.config.creator.retries;
    let mut definition = TableDefinition {
        // Validated by the scheduler; checked again where it leaves the state file.
        name: TableName::parse(&table.name)
            .map_err(|message| failure(FailureClass::Internal, format!("state file: {message}")))?,
        query: table.query.clone(),
        tests: table.tests.clone(),
        processor: creator.processor_definition(table, &config),
        config,
        row_check: refresh::row_rules::RowCheck::default(),
    };
    let mut attempt = 0;
    loop {
        let started = now_ms();
        let id = match state
            .begin_build(&table.name, &creator.worker, started, LEASE_TTL_MS, planned_at_ms)
            .map_err(state_failure)?
        {
            BuildStart::Started(id) => {
                // Read once the attempt is recorded: an acceptance made before its start is
                // the one its success spends.
                let (previous, requested) =
                    state.row_check_of(&table.name).map_err(state_failure)?;
                let accepted_by = match (accept_row_drop, requested) {
                    (true, _) => Some("on the command line".to_owned()),
                    (false, Some(reason)) => Some(format!("by request ({reason})")),
                    (false, None) => None,
                };
                definition.row_check = refresh::row_rules::RowCheck { previous, accepted_by };
                id
            }
            BuildStart::Busy => {
                tracing::info!(
                    "{} is being built by another creator; skipping it this cycle",
                    table.name
                );
                return Ok(None);
            }
            BuildStart::BuiltMeanwhile => {
                tracing::info!("{} was just built by another creator", table.name);
                return Ok(None);
            }
        };
        let mut phases = Phases::default();
        // Nothing it depends on changed: recorded as `unchanged`, no table statement sent.
        let unchanged =
            super::skip::unchanged_since(state, table, reason).map_err(state_failure)?;
        let build = |session: &mut refresh::Session<'_>, phases: &mut Phases| match &table.kind {
            TableKind::Replication(replication) => {
                replicate(creator, state, session, &definition, replication, id, timeout, phases)
            }
            TableKind::S3Load(spec) => {
                let node = s3_load::Node {
                    name: &definition.name,
                    spec,
                    tests: definition.tests.as_deref(),
                    config: &definition.config,
                    accepted_by: definition.row_check.accepted_by.as_deref(),
                };
                let stores = s3_load::Stores {
                    s3: &creator.config.s3,
                    staging: creator.context.staging.as_ref().ok().and_then(Option::as_ref),
                };
                s3_load::run(session, &stores, state, &node, id, overrides, timeout, phases)
            }
            TableKind::View | TableKind::Processor(_) => refresh::build_table(
                session,
                &creator.context.processors,
                &definition,
                timeout,
                phases,
            ),
        };
        let result = match unchanged.map(super::skip::message) {
            Some(message) if definition.config.snapshots_interval_minutes.is_none() => {
                Ok(refresh::Built {
                    outcome: BuildOutcome::Unchanged,
                    rows: 0,
                    snapshot_taken: false,
                    output: None,
                    warning: Some(message),
                })
            }
            Some(message) => build_once(creator, connection, &definition, &mut phases, |s, p| {
                Ok(refresh::unchanged(s, &definition, p, message))
            }),
            None => build_once(creator, connection, &definition, &mut phases, build),
        };
        if result.as_ref().is_err_and(|e| e.transient) {
            *connection = None;
        }
        let finished = now_ms();
        let retry = result.as_ref().is_err_and(|e| e.transient)
            && attempt < retries
            && !creator.is_shutting_down();
        let (outcome, class, message, rows, output) = match &result {
            Ok(built) => (
                built.outcome,
                None,
                built.warning.as_deref(),
                Some(built.rows),
                built.output.as_deref(),
            ),
            Err(error) => {
                (BuildOutcome::Failed, Some(error.class), Some(error.message.as_str()), None, None)
            }
        };
        let phases_json = phases.to_json();
        let record = BuildResult {
            outcome,
            failure_class: class,
            message,
            rows,
            phases_json: &phases_json,
            finished_at_ms: finished,
            output,
            plan_cost: phases.plan_cost(),
        };
        state.finish_build(id, &record, !retry, planned_at_ms).map_err(state_failure)?;
        match result {
            Ok(built) => {
                let rows = built.rows;
                tracing::info!("built {} ({rows} rows) in {} ms", table.name, finished - started);
                return Ok(Some(BuiltTable {
                    table: table.name.clone(),
                    rows,
                    ms: (finished - started) as u64,
                    outcome: built.outcome,
                    message: built.warning,
                }));
            }
            Err(error) if retry => {
                attempt += 1;
                tracing::warn!(
                    "{}: {} (attempt {attempt} of {}); retrying",
                    table.name,
                    error.message,
                    retries + 1
                );
                std::thread::sleep(Duration::from_millis(500 * (1 << attempt.min(6))));
            }
            Err(error) => {
                tracing::error!(
                    "{} failed ({}): {}",
                    table.name,
                    error.class.as_str(),
                    error.message
                );
                return Err(failure(error.class, error.message));
            }
        }
    }
}

/// Runs `build` in a session on the worker's connection, opening a new one when there is none
/// or it was lost.
fn build_once(
    creator: &Creator,
    connection: &mut Option<(Client, Prepared)>,
    definition: &TableDefinition,
    phases: &mut Phases,
    build: impl FnOnce(&mut refresh::Session<'_>, &mut Phases) -> Result<refresh::Built, WarehouseError>,
) -> Result<refresh::Built, WarehouseError> {
    if connection.as_ref().is_none_or(|(client, _)| client.is_closed()) {
        let client = phases.time("connect", || creator.connect())?;
        *connection = Some((client, Prepared::default()));
    }
    let (client, prepared) = connection.as_mut().expect("connected above");
    creator
        .running
        .lock()
        .expect("not poisoned")
        .insert(definition.name.to_string(), client.cancel_token());
    let cancel = || creator.is_shutting_down();
    let mut session = creator.context.session(client, prepared, &cancel);
    let result = build(&mut session, phases);
    creator.running.lock().expect("not poisoned").remove(&definition.name.to_string());
    result
}

/// One run of a replication node, as build `id`.
#[allow(clippy::too_many_arguments)]
fn replicate(
    creator: &Creator,
    state: &mut StateFile,
    session: &mut refresh::Session<'_>,
    definition: &TableDefinition,
    replication: &ReplicationSource,
    id: i64,
    timeout: u64,
    phases: &mut Phases,
) -> Result<refresh::Built, WarehouseError> {
    let application_name = sessions::application_name(&creator.token);
    let sources = replication::Sources {
        connections: &creator.config.connections,
        application_name: &application_name,
        staging: creator.context.staging.as_ref().map(Option::as_ref).map_err(String::as_str),
    };
    let node = replication::Node {
        name: &definition.name,
        spec: &replication.spec,
        target_ddl: replication.target_ddl.as_deref(),
        tests: definition.tests.as_deref(),
        config: &definition.config,
        accepted_by: definition.row_check.accepted_by.as_deref(),
    };
    let done = replication::run(session, &sources, state, &node, id, timeout, phases)?;
    Ok(refresh::Built {
        outcome: done.outcome,
        rows: done.rows,
        snapshot_taken: false,
        output: None,
        warning: done.warning,
    })
}
