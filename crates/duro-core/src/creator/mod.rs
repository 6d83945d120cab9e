//! The creator: plan the due tables from the state file, build them in the warehouse
//! (dependencies first, independent ones in parallel, each under a lease), record every
//! attempt, and clean up after crashes.

mod executor;
mod skip;
pub mod worker;

use crate::build::FailureClass;
use crate::catalog::{TableConfig, TableKind, UpstreamFailure};
use crate::clock::now_ms;
use crate::config::Config;
use crate::plan::{PlanTable, PlannedBuild, Planner, Reason};
use crate::refresh::{BuildContext, ProcessorDefinition};
use crate::sources;
use crate::state::{LEASE_TTL_MS, StateError, StateFile, StoredTable};
use crate::warehouse::render::{OLD_SUFFIX, TEMP_SUFFIX, TableName};
use crate::warehouse::{self, WarehouseError, catalog, sessions};
use postgres::CancelToken;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use executor::{CycleReport, Failure};

/// Why the creator could not work at all (as opposed to a table failing).
#[derive(Debug, thiserror::Error)]
pub enum CreatorError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("warehouse: {0}")]
    Warehouse(#[from] WarehouseError),
    #[error("`{0}` is not in the catalog; run duro-schedule first, or check the name")]
    UnknownTable(String),
    #[error("configuration: {0}")]
    Settings(String),
    #[error("{0}")]
    Selection(String),
}

/// Which tables a cycle considers.
#[derive(Clone, Debug)]
pub enum Selection {
    /// Every due table.
    Due,
    /// One table now, due or not; with `with_dependencies`, its stale dependencies first;
    /// `load`: one-time choices for it when it is an S3 load node (`--date`, `--force`,
    /// `--truncate`); `accept_row_drop`: let a version that breaks its row-count rules through
    /// this once.
    Table {
        name: String,
        with_dependencies: bool,
        load: crate::s3_load::Overrides,
        accept_row_drop: bool,
    },
    /// The tables these selectors select (less those of `exclude`) now, due or not, in
    /// dependency order (see `select`).
    Select { include: Vec<String>, exclude: Vec<String> },
}

/// One step of a plan as `--dry-run` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedStep {
    pub build: PlannedBuild,
    /// When the table reads another planned table: what a failure of that table does to it.
    pub on_upstream_failure: Option<UpstreamFailure>,
    /// Why it will not be rebuilt after all (`skip_unchanged`: "inputs unchanged since …").
    pub skipped: Option<String>,
    /// Its row-count rules (`min_rows=…`, `max_row_drop=…%`).
    pub row_rules: Vec<String>,
}

/// A creator process.
pub struct Creator {
    config: Config,
    /// What every build shares, made once from `config`.
    context: BuildContext,
    state_path: PathBuf,
    worker: String,
    /// The short name of this worker's warehouse connections (`application_name`).
    token: String,
    shutdown: Arc<AtomicBool>,
    running: Mutex<HashMap<String, CancelToken>>,
}

impl Creator {
    /// `shutdown` is set (by a signal handler) to stop after cancelling running statements.
    pub fn new(config: Config, shutdown: Arc<AtomicBool>) -> Self {
        let state_path = config.state.path.clone();
        Self {
            context: BuildContext::from_config(&config),
            config,
            state_path,
            worker: worker::WorkerId::new(now_ms()).to_string(),
            token: worker::token(),
            shutdown,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Checks, before the first cycle, the settings the catalog needs: processor settings
    /// (S3, `run_as`, Redshift's staging) are an error when the catalog has a processor table,
    /// and a warning otherwise (a build of one would then fail with the same message).
    pub fn check_settings(&self) -> Result<(), CreatorError> {
        let Err(problem) = &self.context.processors else {
            return Ok(());
        };
        let tables = self.open_state()?.active_tables()?;
        match tables.iter().find(|table| matches!(table.kind, TableKind::Processor(_))) {
            Some(table) => Err(CreatorError::Settings(format!(
                "{problem} (needed by the processor table {})",
                table.name
            ))),
            None => {
                tracing::warn!("processor tables could not be built: {problem}");
                Ok(())
            }
        }
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Cancels every statement running on this creator's connections.
    pub fn cancel_running(&self) {
        let running = self.running.lock().expect("the running set is never poisoned");
        for (table, token) in running.iter() {
            tracing::info!("cancelling the build of {table}");
            warehouse::cancel(token, &self.config.warehouse);
        }
    }

    /// The running mean duration (ms) of each table's successful builds.
    pub fn mean_build_ms(&self) -> Result<HashMap<String, f64>, CreatorError> {
        Ok(self.open_state()?.mean_build_ms()?)
    }

    fn open_state(&self) -> Result<StateFile, StateError> {
        StateFile::open(&self.state_path)
    }

    /// The plan (for `--dry-run`), with, for each table that reads another planned table, what
    /// happens to it when that one fails (its `on_upstream_failure`).
    pub fn plan(&self, selection: &Selection) -> Result<Vec<PlannedStep>, CreatorError> {
        let state = self.open_state()?;
        let tables = state.active_tables()?;
        let planner = Planner::new(&tables.iter().map(PlanTable::from).collect::<Vec<_>>());
        let planned = self.plan_tables(&state, &tables, &planner, selection)?;
        let in_plan: HashSet<&str> = planned.iter().map(|p| p.table.as_str()).collect();
        let by_name: HashMap<&str, &StoredTable> =
            tables.iter().map(|t| (t.name.as_str(), t)).collect();
        // A table is skipped when nothing it reads is rebuilt before it in this plan.
        let mut rebuilt: HashSet<&str> = HashSet::new();
        let mut steps = Vec::with_capacity(planned.len());
        for build in &planned {
            let table = by_name[build.table.as_str()];
            let reads_planned = table.dependencies.iter().any(|d| in_plan.contains(d.as_str()));
            let reads_rebuilt = table.dependencies.iter().any(|d| rebuilt.contains(d.as_str()));
            let skipped = match reads_rebuilt {
                true => None,
                false => skip::unchanged_since(&state, table, &build.reason)?.map(skip::message),
            };
            if skipped.is_none() {
                rebuilt.insert(build.table.as_str());
            }
            steps.push(PlannedStep {
                build: build.clone(),
                on_upstream_failure: reads_planned.then(|| table.config.upstream_failure()),
                skipped,
                row_rules: crate::refresh::row_rules::describe(&table.config),
            });
        }
        Ok(steps)
    }

    /// The plan over one snapshot of the catalog (the same snapshot the builds then use), with
    /// `planner` made for it.
    fn plan_tables(
        &self,
        state: &StateFile,
        tables: &[StoredTable],
        planner: &Planner,
        selection: &Selection,
    ) -> Result<Vec<PlannedBuild>, CreatorError> {
        let last_success = state.last_successes()?;
        let mut forced: HashMap<String, String> = state.force_requests()?.into_iter().collect();
        let planned = match selection {
            Selection::Due => planner.plan(&last_success, &forced, now_ms()),
            Selection::Table { name, with_dependencies, .. } => {
                if !tables.iter().any(|t| &t.name == name) {
                    return Err(CreatorError::UnknownTable(name.clone()));
                }
                forced.insert(name.clone(), "requested on the command line".to_owned());
                let upstream: HashSet<String> = if *with_dependencies {
                    planner.upstream(name).into_iter().collect()
                } else {
                    HashSet::new()
                };
                let mut planned = planner.plan(&last_success, &forced, now_ms());
                planned.retain(|p| &p.table == name || upstream.contains(&p.table));
                for entry in &mut planned {
                    if &entry.table == name {
                        entry.reason = Reason::Forced("requested on the command line".to_owned());
                    }
                }
                planned
            }
            Selection::Select { include, exclude } => {
                let selected = select_tables(state, tables, include, exclude)?;
                let reason = format!(
                    "selected on the command line ({})",
                    include.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" ")
                );
                for name in &selected {
                    forced.insert(name.clone(), reason.clone());
                }
                let mut planned = planner.plan(&last_success, &forced, now_ms());
                planned.retain(|p| selected.contains(&p.table));
                for entry in &mut planned {
                    entry.reason = Reason::Forced(reason.clone());
                }
                planned
            }
        };
        Ok(planned)
    }

    /// The processor part of a table's definition (for processor tables).
    pub(crate) fn processor_definition(
        &self,
        table: &StoredTable,
        config: &TableConfig,
    ) -> Option<ProcessorDefinition> {
        let TableKind::Processor(source) = &table.kind else {
            return None;
        };
        Some(ProcessorDefinition {
            ddl: source.ddl.clone(),
            source: source.script.clone(),
            requirements: source.requirements.clone(),
            script_path: table.files.iter().find(|file| file.ends_with(".py")).cloned(),
            timeout: config.processor_timeout_seconds.map(Duration::from_secs),
            csv_delimiter: config.processor_csv_delimiter.unwrap_or_default(),
        })
    }

    /// One cycle: end what stopped creators left running, plan, then build.
    pub fn run_cycle(&self, selection: &Selection) -> Result<CycleReport, CreatorError> {
        let read_at_ms = now_ms();
        let mut state = self.open_state()?;
        for item in self.reap_stopped_creators(&mut state)? {
            tracing::info!("cleaned up after a stopped creator: {item}");
        }
        crate::state::retention_pass(&mut state, self.config.state.keep_builds_for, now_ms());
        let tables = state.active_tables()?;
        let planner = Planner::new(&tables.iter().map(PlanTable::from).collect::<Vec<_>>());
        let planned = self.plan_tables(&state, &tables, &planner, selection)?;
        if planned.is_empty() {
            return Ok(CycleReport::default());
        }
        let tables: HashMap<String, StoredTable> =
            tables.into_iter().map(|t| (t.name.clone(), t)).collect();
        let overrides = match selection {
            Selection::Table { name, load, accept_row_drop, .. } => {
                Some((name.as_str(), load, *accept_row_drop))
            }
            Selection::Due | Selection::Select { .. } => None,
        };
        executor::execute(self, &planned, &tables, &planner, read_at_ms, overrides)
    }

    /// A warehouse connection named after this worker (see `warehouse::sessions`).
    fn connect(&self) -> Result<postgres::Client, WarehouseError> {
        warehouse::connect_named(&self.config.warehouse, &sessions::application_name(&self.token))
    }

    /// Records this worker's heartbeat, renewing its leases.
    fn heartbeat(&self, state: &mut StateFile) -> Result<(), StateError> {
        state.heartbeat(&self.worker, &self.token, now_ms())
    }

    /// Ends what stopped creators left behind, before anything is built: their leases and
    /// running records (also those of creators the state file has no heartbeat of), and, under
    /// the leases of the tables each was building, the statements its sessions still run (so
    /// none collides with a rebuild). Returns what was done.
    fn reap_stopped_creators(&self, state: &mut StateFile) -> Result<Vec<String>, CreatorError> {
        self.heartbeat(state)?;
        let stopped = state.dead_workers(worker::is_alive, now_ms())?;
        let freed = state.recover_abandoned(worker::is_alive, now_ms())?;
        let mut cleaned: Vec<String> =
            freed.into_iter().map(|table| format!("stale lease on {table}")).collect();
        if !stopped.is_empty() {
            let mut client = self.connect()?;
            for dead in &stopped {
                let mut taken = Vec::new();
                for table in &dead.tables {
                    if state.acquire_lease(table, &self.worker, now_ms(), LEASE_TTL_MS)? {
                        taken.push(table);
                    }
                }
                let name = sessions::application_name(&dead.token);
                let ended =
                    sessions::end_sessions_named(&mut client, self.config.warehouse.dialect, &name);
                for table in taken {
                    state.release_lease(table, &self.worker)?;
                }
                match ended {
                    Ok(0) => {}
                    Ok(count) => cleaned.push(format!(
                        "ended {count} warehouse sessions of {} ({name})",
                        dead.worker
                    )),
                    // Redshift Serverless has no `stl_connection_log`/`stv_sessions`: the
                    // statements of the stopped creator then run until their timeout.
                    Err(error) if error.class == FailureClass::SqlError => tracing::warn!(
                        "cannot list the warehouse sessions of {} ({name}), which may still run statements until their timeout: {error}",
                        dead.worker
                    ),
                    Err(error) => return Err(error.into()),
                }
                cleaned.extend(self.end_source_sessions(state, &dead.tables, &name)?);
                state.forget_worker(&dead.worker)?;
            }
        }
        Ok(cleaned)
    }

    /// Ends the sessions a stopped creator left on the sources of the replication nodes it was
    /// running (a source that cannot be reached is only warned about: its sessions end with
    /// their statements' timeout).
    fn end_source_sessions(
        &self,
        state: &StateFile,
        tables: &[String],
        application_name: &str,
    ) -> Result<Vec<String>, CreatorError> {
        let mut names = BTreeSet::new();
        for table in tables {
            if let Some(stored) = state.table(table)?
                && let Some(node) = stored.kind.replication()
            {
                names.insert(node.spec.source.clone());
            }
        }
        let mut cleaned = Vec::new();
        for name in names {
            let Some(connection) = self.config.connections.get(&name) else {
                continue;
            };
            let ended =
                sources::connect(&name, connection, &sessions::application_name(&self.token))
                    .and_then(|mut source| source.end_sessions_named(application_name));
            match ended {
                Ok(0) => {}
                Ok(count) => cleaned.push(format!(
                    "ended {count} sessions of source `{name}` ({application_name})"
                )),
                Err(error) => tracing::warn!(
                    "cannot end the sessions of a stopped creator on source `{name}`: {error}"
                ),
            }
        }
        Ok(cleaned)
    }

    /// After a crash: what [`Self::run_cycle`] cleans before every cycle, plus the leftover
    /// temporary tables of every managed table and a live table left renamed to `_duro_old`;
    /// each table's lease is taken first, so a creator building it now is never disturbed.
    /// Returns what was cleaned, for the log.
    pub fn recover(&self) -> Result<Vec<String>, CreatorError> {
        let mut state = self.open_state()?;
        let mut cleaned = self.reap_stopped_creators(&mut state)?;
        let managed: HashSet<String> = state.all_tables()?.into_iter().map(|t| t.name).collect();
        let mut client = self.connect()?;
        for suffix in [TEMP_SUFFIX, OLD_SUFFIX] {
            for leftover in catalog::tables_with_suffix(&mut client, suffix)? {
                let Some(table) = leftover.table.strip_suffix(suffix) else {
                    continue;
                };
                let live = TableName { schema: leftover.schema.clone(), table: table.to_owned() };
                let name = live.name();
                if !managed.contains(&name)
                    || !state.acquire_lease(&name, &self.worker, now_ms(), LEASE_TTL_MS)?
                {
                    continue;
                }
                let result = clean_leftover(&mut client, &leftover, &live, suffix == OLD_SUFFIX);
                state.release_lease(&name, &self.worker)?;
                cleaned.push(result?);
            }
        }
        Ok(cleaned)
    }

    fn timeout_seconds(&self, config: &TableConfig) -> u64 {
        config.timeout_seconds.unwrap_or(self.config.creator.default_timeout.as_secs())
    }
}

/// Drops a leftover table, or renames a `_duro_old` one back when the live table is missing.
/// Returns what was done.
fn clean_leftover(
    client: &mut postgres::Client,
    leftover: &TableName,
    live: &TableName,
    is_old: bool,
) -> Result<String, WarehouseError> {
    let error = |e: postgres::Error| WarehouseError::from_postgres(&e, false);
    if is_old && catalog::relation_kind(client, live)?.is_none() {
        client
            .batch_execute(&format!(
                "alter table {} rename to {}",
                leftover.quoted(),
                warehouse::render::quote_identifier(&live.table)
            ))
            .map_err(error)?;
        return Ok(format!("restored {} from {}", live.name(), leftover.name()));
    }
    client.batch_execute(&warehouse::render::drop_table_if_exists(leftover)).map_err(error)?;
    Ok(format!("leftover {}", leftover.name()))
}

/// The tables `include` selects less those `exclude` selects, over the catalog in force and its
/// sources.
fn select_tables(
    state: &StateFile,
    tables: &[StoredTable],
    include: &[String],
    exclude: &[String],
) -> Result<std::collections::BTreeSet<String>, CreatorError> {
    use crate::select::{SelectTable, SelectionGraph, Selector};
    let parse = |list: &[String]| -> Result<Vec<Selector>, CreatorError> {
        list.iter().map(|text| Selector::parse(text).map_err(CreatorError::Selection)).collect()
    };
    let (include, exclude) = (parse(include)?, parse(exclude)?);
    let mut sources: HashMap<String, Vec<String>> = HashMap::new();
    for source in state.sources()? {
        for reader in source.read_by {
            sources.entry(reader).or_default().push(source.name.clone());
        }
    }
    let graph = SelectionGraph::new(
        tables
            .iter()
            .map(|t| SelectTable {
                name: t.name.clone(),
                kind: t.kind.name(),
                dependencies: t.dependencies.clone(),
                sources: sources.remove(&t.name).unwrap_or_default(),
            })
            .collect(),
    );
    graph.select(&include, &exclude).map_err(CreatorError::Selection)
}
