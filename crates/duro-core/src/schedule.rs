//! One scheduler run: (optionally) skip an already processed git commit, read and check the
//! views repository, and write the catalog to the state file only when there is no error.

use crate::catalog::Catalog;
use crate::catalog::s3_load::LoadStores;
use crate::checks;
use crate::config::{Config, DEFAULT_MAX_FILE_SIZE, Dialect};
use crate::diagnostic::{Diagnostic, sort_diagnostics};
use crate::git::{self, GitError};
use crate::graph::DependencyGraph;
use crate::state::{CatalogChanges, StateError, StateFile};
use crate::views;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A checked repository: its catalog, graph and every diagnostic (sorted).
#[derive(Debug)]
pub struct CheckedRepository {
    pub catalog: Catalog,
    pub graph: DependencyGraph,
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckedRepository {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Why a run could not happen at all (as opposed to a repository with errors).
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Views(#[from] views::LoadError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// How a repository is checked.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Dependency cycles are errors (otherwise warnings).
    pub strict: bool,
    /// The largest file read (`views.max_file_size`).
    pub max_file_size: u64,
    /// The warehouse the tables are built in (`warehouse.dialect`, or `--dialect`): its limits
    /// apply to the names.
    pub dialect: Dialect,
    /// The stores S3 load nodes may read (`s3.load_buckets`, `s3.load_file_roots`).
    pub load_stores: LoadStores,
}

impl Default for CheckOptions {
    /// Not strict, the default file size limit, Redshift.
    fn default() -> Self {
        Self {
            strict: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            dialect: Dialect::Redshift,
            load_stores: LoadStores::default(),
        }
    }
}

/// Reads the repository and runs every check, touching nothing.
pub fn check_repository(
    views_path: &Path,
    options: &CheckOptions,
) -> Result<CheckedRepository, ScheduleError> {
    let loaded = views::load(views_path, options.max_file_size)?;
    let graph = DependencyGraph::from_catalog(&loaded.catalog);
    let mut diagnostics = loaded.diagnostics;
    diagnostics.extend(checks::check(
        &loaded.catalog,
        &graph,
        options.strict,
        options.dialect,
        &options.load_stores,
    ));
    sort_diagnostics(&mut diagnostics);
    Ok(CheckedRepository { catalog: loaded.catalog, graph, diagnostics })
}

/// What a scheduler run is asked to do.
#[derive(Clone, Debug)]
pub struct ScheduleOptions {
    pub views_path: PathBuf,
    pub state_path: PathBuf,
    pub check: CheckOptions,
    /// Skip everything when the repository's HEAD commit was already processed.
    pub use_git: bool,
    /// Build records older than this are deleted by each run past that short-cut
    /// (`state.keep_builds_for`).
    pub keep_builds_for: Duration,
}

impl ScheduleOptions {
    /// The run `config` describes (`views.*`, `state.path`, `warehouse.dialect`).
    pub fn from_config(config: &Config, strict: bool) -> Self {
        Self {
            views_path: config.views.path.clone(),
            state_path: config.state.path.clone(),
            check: CheckOptions {
                strict,
                max_file_size: config.views.max_file_size,
                dialect: config.warehouse.dialect,
                load_stores: config.s3.load_stores(),
            },
            use_git: config.views.use_git,
            keep_builds_for: config.state.keep_builds_for,
        }
    }
}

/// What a scheduler run did.
#[derive(Debug)]
pub enum ScheduleOutcome {
    /// The HEAD commit was already processed; nothing was read or written.
    UnchangedCommit { commit: String },
    /// The repository has errors; the state file was not touched and the previous catalog stays.
    Rejected { checked: CheckedRepository },
    /// The catalog was written.
    Saved { checked: CheckedRepository, changes: CatalogChanges, commit: Option<String> },
}

/// Runs the scheduler once.
pub fn run(options: &ScheduleOptions) -> Result<ScheduleOutcome, ScheduleError> {
    let mut state = StateFile::open(&options.state_path)?;
    let commit = if options.use_git {
        let commit = git::head_commit(&options.views_path)?;
        if state.is_last_processed_commit(&commit)? {
            return Ok(ScheduleOutcome::UnchangedCommit { commit });
        }
        Some(commit)
    } else {
        None
    };
    crate::state::retention_pass(&mut state, options.keep_builds_for, crate::clock::now_ms());
    let started = Instant::now();
    let checked = check_repository(&options.views_path, &options.check)?;
    tracing::debug!(
        tables = checked.catalog.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "read and checked the views"
    );
    if checked.has_errors() {
        return Ok(ScheduleOutcome::Rejected { checked });
    }
    let started = Instant::now();
    let changes =
        state.save_catalog(&checked.catalog, commit.as_deref(), crate::clock::now_ms())?;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "saved the catalog");
    Ok(ScheduleOutcome::Saved { checked, changes, commit })
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
