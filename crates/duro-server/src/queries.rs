//! Reading and writing the state file for a request: the overview every list needs, one table's
//! details, the header figures, and force requests. Shared by the pages and the JSON API so
//! both always say the same thing.

use crate::errors::AppError;
use crate::model::{self, Stats, TableRow};
use duro_core::build::FailureClass;
use duro_core::catalog::TableConfig;
use duro_core::catalog::replication::Strategy;
use duro_core::catalog::s3_load::LoadMode;
use duro_core::force::{self, ForceError, Scope};
use duro_core::plan::Planner;
use duro_core::sql::DependencyMethod;
use duro_core::state::{
    BuildRecord, ReplicationRun, S3LoadRun, StateFile, TableActivity, TableSummary,
};
use duro_core::status::Status;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The header figures cover this many hours.
pub(crate) const STATS_HOURS: i64 = 24;
/// The table page lists this many runs; its chart uses up to `CHART_RUNS`.
pub(crate) const LISTED_RUNS: usize = 100;
pub(crate) const CHART_RUNS: usize = 500;
/// Phases in the order a build runs them; unknown ones follow.
const PHASE_ORDER: [&str; 15] = [
    "connect",
    "connect_source",
    "check",
    "explain",
    "create_temp",
    "select",
    "venv",
    "process",
    "load",
    "import",
    "index_analyze",
    "tests",
    "swap",
    "snapshot",
    "after_load",
];

/// Every listed table with its status.
pub struct Overview {
    pub tables: Vec<TableSummary>,
    pub rows: Vec<TableRow>,
    /// The planner of the active tables (upstream for "update tree", downstream for "update
    /// downstream").
    pub planner: Arc<Planner>,
}

/// The overview of `tables` (from `StateFile::table_overview`), with `planner` made for
/// their catalog (see `catalog_fingerprint`).
pub(crate) fn overview(
    tables: Vec<(TableSummary, TableActivity)>,
    planner: Arc<Planner>,
    now_ms: i64,
) -> Overview {
    let rows = model::table_rows(&tables, &planner, now_ms);
    let tables = tables.into_iter().map(|(table, _)| table).collect();
    Overview { tables, rows, planner }
}

/// A hash of what the planner depends on (active tables, intervals, dependencies): equal
/// fingerprints can share one `Planner`.
pub(crate) fn catalog_fingerprint(tables: &[(TableSummary, TableActivity)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (table, _) in tables.iter().filter(|(t, _)| t.deleted_at_ms.is_none()) {
        (&table.name, table.interval_minutes, &table.dependencies).hash(&mut hasher);
    }
    hasher.finish()
}

/// The jobs of `[from_ms, to_ms]` (running ones always), the newest `limit`, oldest first;
/// and whether there were more.
pub(crate) fn jobs(
    state: &StateFile,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
    limit: usize,
) -> Result<(Vec<model::Job>, bool), AppError> {
    let mut builds = state.builds_between(from_ms, to_ms, limit + 1)?;
    let truncated = builds.len() > limit;
    if truncated {
        builds.remove(0);
    }
    let live: HashSet<i64> = state.running_builds(now_ms)?.iter().map(|b| b.id).collect();
    Ok((model::jobs(builds, &live, now_ms), truncated))
}

pub(crate) fn stats(state: &StateFile, now_ms: i64) -> Result<Stats, AppError> {
    let period = state.period_stats(now_ms - STATS_HOURS * 3_600_000, now_ms)?;
    let running = state.running_builds(now_ms)?.len();
    Ok(model::stats(period, STATS_HOURS, running))
}

/// One build as the table page and `/api/tables/<name>` show it: the job, with its phases and
/// output.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Run {
    #[serde(flatten)]
    pub job: model::Job,
    pub phases: Vec<Phase>,
    pub output: Option<String>,
    pub worker: Option<String>,
    /// A replication node's run: where it got to, its bounds, rows, retries.
    pub replication: Option<ReplicationRunView>,
    /// An S3 load's files and data date.
    pub s3_load: Option<S3LoadRunView>,
    /// The plan's total cost, when the build asked for it (`max_cost`).
    pub plan_cost: Option<f64>,
}

/// An S3 load's details beside its build.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct S3LoadRunView {
    pub files: Vec<String>,
    pub data_date: Option<String>,
    pub note: Option<String>,
}

/// Where an S3 load node reads, and what it loaded last.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct S3LoadView {
    /// `s3://bucket` or `file:///folder`, with the prefix.
    pub location: String,
    pub file_pattern: String,
    pub mode: LoadMode,
    pub data_date_column: Option<String>,
    /// The file loaded last, and the newest data date loaded.
    pub last_file: Option<String>,
    pub data_date: Option<String>,
    pub loaded_at_ms: Option<i64>,
}

/// A replication run's details beside its build.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ReplicationRunView {
    pub state: &'static str,
    pub lo: Option<String>,
    pub hi: Option<String>,
    pub rows: Option<i64>,
    pub deleted_rows: Option<i64>,
    pub skipped_nulls: Option<i64>,
    pub retries: u32,
}

/// What a replication node copies, and where it stands.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ReplicationView {
    pub source: String,
    pub source_table: String,
    pub strategy: Strategy,
    pub replication_field: Option<String>,
    /// The upper bound of the last imported run.
    pub watermark: Option<String>,
    /// An unfinished run, retried with its bounds: (upper bound, failed attempts).
    pub pending: Option<PendingView>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct PendingView {
    pub lo: Option<String>,
    pub hi: Option<String>,
    pub retries: u32,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Phase {
    pub name: String,
    pub ms: i64,
}

/// One configured key: its value and the file that set it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ConfigEntry {
    pub key: &'static str,
    pub value: String,
    pub source: Option<String>,
}

/// Everything about one table.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TableDetail {
    pub row: TableRow,
    pub query: String,
    pub ddl: Option<String>,
    pub tests: Option<String>,
    pub processor: Option<String>,
    pub files: Vec<String>,
    pub dependency_method: DependencyMethod,
    /// Tables it reads / tables that read it (managed tables only).
    pub upstream: Vec<String>,
    /// The sources it reads (tables no file defines).
    pub sources: Vec<String>,
    /// Its row-count rules (`min_rows=…`, `max_row_drop=…%`).
    pub row_rules: Vec<String>,
    /// Whether "Accept and rebuild" is offered: its newest build broke a row-count rule.
    pub offer_accept: bool,
    /// Its cost limit, and the plan cost of its newest build that asked for one.
    pub max_cost: Option<u64>,
    pub last_plan_cost: Option<f64>,
    pub downstream: Vec<String>,
    pub config: Vec<ConfigEntry>,
    /// A replication node's source and watermark.
    pub replication: Option<ReplicationView>,
    /// An S3 load node's files and newest data date.
    pub s3_load: Option<S3LoadView>,
    /// Newest first.
    pub runs: Vec<Run>,
}

fn unknown_table(name: &str) -> AppError {
    AppError::not_found(ForceError::UnknownTable(name.to_owned()).to_string())
}

/// Finds a table by name among the listed ones (active or recently removed).
fn find_row(overview: &Overview, name: &str) -> Result<usize, AppError> {
    overview.rows.iter().position(|r| r.name == name).ok_or_else(|| unknown_table(name))
}

pub(crate) fn table_detail(
    state: &StateFile,
    overview: &Overview,
    name: &str,
    now_ms: i64,
    runs: usize,
) -> Result<TableDetail, AppError> {
    let index = find_row(overview, name)?;
    let row = overview.rows[index].clone();
    let stored = state.table(name)?.ok_or_else(|| unknown_table(name))?;
    let managed: HashSet<&str> = overview.rows.iter().map(|r| r.name.as_str()).collect();
    let mut upstream: Vec<String> =
        stored.dependencies.iter().filter(|d| managed.contains(d.as_str())).cloned().collect();
    upstream.sort();
    let mut downstream: Vec<String> = overview
        .tables
        .iter()
        .filter(|t| managed.contains(t.name.as_str()) && t.dependencies.iter().any(|d| d == name))
        .map(|t| t.name.clone())
        .collect();
    downstream.sort();
    let live: HashSet<i64> = state.running_builds(now_ms)?.iter().map(|b| b.id).collect();
    let node = stored.kind.replication();
    let mut replicated: HashMap<i64, ReplicationRun> = match node {
        Some(_) => {
            state.replication_runs(name, runs)?.into_iter().map(|r| (r.build_id, r)).collect()
        }
        None => HashMap::new(),
    };
    let load_spec = stored.kind.s3_load();
    let mut loads: HashMap<i64, S3LoadRun> = match load_spec {
        Some(_) => state.s3_load_runs(name, runs)?.into_iter().map(|r| (r.build_id, r)).collect(),
        None => HashMap::new(),
    };
    let runs: Vec<Run> = state
        .builds(name)?
        .into_iter()
        .take(runs)
        .map(|b| {
            let details = replicated.remove(&b.id);
            let load = loads.remove(&b.id);
            run(b, &live, now_ms, details, load)
        })
        .collect();
    let s3_load = match load_spec {
        Some(spec) => {
            let loaded = state.s3_load_state(name)?;
            Some(S3LoadView {
                location: format!("{}/{}", spec.location, spec.prefix),
                file_pattern: spec.file_pattern.clone(),
                mode: spec.mode,
                data_date_column: spec.data_date_column.clone(),
                last_file: loaded.as_ref().map(|l| l.file.clone()),
                data_date: loaded.as_ref().map(|l| l.data_date.clone()),
                loaded_at_ms: loaded.map(|l| l.loaded_at_ms),
            })
        }
        None => None,
    };
    let replication = match node {
        Some(node) => {
            let stored = state.replication_state(name)?;
            Some(ReplicationView {
                source: node.spec.source.clone(),
                source_table: node.spec.source_table.to_string(),
                strategy: node.spec.strategy,
                replication_field: node.spec.replication_field.clone(),
                watermark: stored.watermark,
                pending: stored.pending.map(|p| PendingView {
                    lo: p.lo,
                    hi: p.hi,
                    retries: p.retries,
                }),
            })
        }
        None => None,
    };
    Ok(TableDetail {
        query: stored.query.clone(),
        ddl: stored
            .kind
            .processor()
            .map(|p| p.ddl.clone())
            .or_else(|| node.and_then(|n| n.target_ddl.clone())),
        replication,
        s3_load,
        tests: stored.tests.clone(),
        processor: stored.kind.processor().map(|p| p.script.clone()),
        files: stored.files.clone(),
        dependency_method: stored.dependency_method,
        config: config_entries(&stored.config),
        sources: state
            .sources()?
            .into_iter()
            .filter(|source| source.read_by.iter().any(|reader| reader == name))
            .map(|source| source.name)
            .collect(),
        row_rules: duro_core::refresh::row_rules::describe(&stored.config),
        offer_accept: runs
            .first()
            .is_some_and(|run| run.job.failure_class == Some(FailureClass::ValidationFailed)),
        max_cost: stored.config.max_cost,
        last_plan_cost: runs.iter().find_map(|run| run.plan_cost),
        upstream,
        downstream,
        runs,
        row,
    })
}

fn run(
    mut build: BuildRecord,
    live: &HashSet<i64>,
    now_ms: i64,
    replication: Option<ReplicationRun>,
    load: Option<S3LoadRun>,
) -> Run {
    let mut phases: Vec<Phase> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&build.phases_json)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, ms)| Phase { ms: ms.as_i64().unwrap_or_default(), name })
            .collect();
    phases.sort_by_key(|p| {
        PHASE_ORDER.iter().position(|known| *known == p.name).unwrap_or(PHASE_ORDER.len())
    });
    Run {
        replication: replication.map(|r| ReplicationRunView {
            state: r.state.as_str(),
            lo: r.lo,
            hi: r.hi,
            rows: r.rows,
            deleted_rows: r.deleted_rows,
            skipped_nulls: r.skipped_nulls,
            retries: r.retries,
        }),
        s3_load: load.map(|l| S3LoadRunView {
            files: l.files,
            data_date: l.data_date,
            note: l.note,
        }),
        plan_cost: build.plan_cost,
        output: build.output.take(),
        worker: build.worker.take(),
        job: model::job(build, live, now_ms),
        phases,
    }
}

/// The merged config as key, value and source, for the keys that are set or were set by a file.
fn config_entries(config: &TableConfig) -> Vec<ConfigEntry> {
    config
        .entries()
        .into_iter()
        .filter_map(|(key, value)| {
            let key = key.name();
            let source = config.sources.get(key).cloned();
            (value.is_some() || source.is_some()).then(|| ConfigEntry {
                key,
                value: value.unwrap_or_else(|| "(unset)".to_owned()),
                source,
            })
        })
        .collect()
}

/// Requests a rebuild of `name` (with its tree or its downstream, as `scope` says) through the
/// core's force rule; its refusals become 404 (unknown table) and 409 (removed table). Returns
/// the tables scheduled, sorted.
pub(crate) fn force(
    state: &mut StateFile,
    overview: &Overview,
    name: &str,
    scope: Scope,
    via: &str,
    now_ms: i64,
) -> Result<Vec<String>, AppError> {
    force::request(state, &overview.tables, &overview.planner, name, scope, via, now_ms).map_err(
        |error| match error {
            ForceError::UnknownTable(_) => AppError::not_found(error.to_string()),
            ForceError::Removed(_) => {
                AppError::new(actix_web::http::StatusCode::CONFLICT, error.to_string())
            }
            ForceError::State(error) => error.into(),
        },
    )
}

/// Status counts, most urgent first, for the tables page.
pub(crate) fn status_counts(rows: &[TableRow]) -> Vec<(&'static str, usize)> {
    let mut counts: Vec<(Status, usize)> = Vec::new();
    for row in rows {
        match counts.iter_mut().find(|(s, _)| *s == row.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((row.status, 1)),
        }
    }
    counts.sort();
    counts.into_iter().map(|(s, n)| (s.as_str(), n)).collect()
}

/// One source of the catalog in force, or a 404 naming it.
pub(crate) fn source(
    state: &StateFile,
    name: &str,
) -> Result<duro_core::catalog::Source, AppError> {
    state.sources()?.into_iter().find(|s| s.name == name).ok_or_else(|| {
        AppError::not_found(format!(
            "`{name}` is not a source: no catalog table reads it, or a file of the repository defines it"
        ))
    })
}
